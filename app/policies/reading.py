"""An LLM as reader only: the offline policy searches and decides, the LLM writes free-form answers.

A small local model picks actions badly but can still put an answer in words. Here the
offline policy (or the image policy) runs every step; when it answers a question whose
answer is prose, the reader writes the answer from the evidence the policy cited (and the
best of the rest), with the moments it cites, and the answer stands only if the evidence
holds it (`app.reader.grounding`) and it keeps what the extractive answer says
(`app.reader.keeps`). The trace says which answer was given and why.
"""

from __future__ import annotations

from typing import Any

from app.agent import AgentState
from app.answer import ABSTAIN_TEXT
from app.reader import MAX_EVIDENCE, Reader, keeps, reads
from app.toolbox import Action
from perception.errors import LongshotError


class ReadingPolicy:
    def __init__(self, policy: Any, reader: Reader):
        self.policy = policy
        self.reader = reader
        self.name = f"{policy.name}+reader"

    def next_action(self, state: AgentState) -> Action:
        return self._read(state, self.policy.next_action(state))

    def force_answer(self, state: AgentState) -> Action:
        return self._read(state, self.policy.force_answer(state))

    def _read(self, state: AgentState, action: Action) -> Action:
        text = action.args.get("text")
        if action.name != "answer" or text == ABSTAIN_TEXT or not reads(state.question, state.options):
            return action
        cited = [i for i in action.args.get("evidence", ()) if isinstance(i, int) and 0 <= i < len(state.evidence)]
        best = sorted(range(len(state.evidence)), key=lambda i: -state.evidence[i].score)
        chosen = list(dict.fromkeys(cited + best))[:MAX_EVIDENCE]
        if not chosen:
            return action
        try:
            reading = self.reader.read(state.question, state.evidence, chosen)
        except LongshotError as err:
            return action.with_note(f"the reader failed ({err}); the extractive answer")
        if reading.text.startswith(ABSTAIN_TEXT):
            return action.with_note("the reader found no answer in the evidence; the extractive answer")
        if not reading.grounding.grounded:
            return action.with_note(
                f"the reader's answer {reading.text[:80]!r} is {reading.grounding.describe()}; the extractive answer"
            )
        kept = keeps(reading.text, str(text), state.question)
        if not kept.grounded:
            dropped = ", ".join(kept.missing[:5])
            return action.with_note(f"the reader's answer {reading.text[:80]!r} drops {dropped}; the extractive answer")
        main = state.evidence[reading.cited[0]]
        args = {"text": reading.text, "evidence": list(reading.cited), "span": [main.start, main.end]}
        return Action("answer", args, f"written by the reader from evidence {list(reading.cited)}, grounded in it")
