"""The policy that asks a VLM (or a text-only LLM) for each action, showing it the evidence and the frames it chose.

Replies are constrained to the action schema where the server can (`app.reply_schema`),
else asked for as JSON and parsed. A model that cannot see gets each frame as its
caption and the memory text of the evidence it came with. A prompt too long for the
model's context is sent once more with the evidence trimmed to fit. The offline policy
takes the question over with a step budget of its own, and the trace says so, when the
endpoint fails, after `hand_over_after` invalid actions in a row, or when `stalled_after`
steps in a row bring no new evidence; and a text-only model's free-form answer that the evidence does not hold
is replaced by the offline policy's extractive one. An answer before any evidence (and
with no image to look at) is a guess, and goes back to the model as an invalid action.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from app.agent import AgentState, Policy, describe
from app.answer import ABSTAIN_TEXT
from app.overview import Moment, fit, overview_lines
from app.prompts import (
    FORCE,
    context_prompt,
    estimate_tokens,
    image_as_text,
    overview_prompt,
    overview_room,
    system_prompt,
    user_prompt,
)
from app.reader import grounding, reads
from app.reply_schema import action_reply_schema
from app.toolbox import Action, action_schemas
from perception.errors import ContextOverflowError, LongshotError, ModelOutputError, VLMError
from perception.vlm.guard import VLMGuard
from perception.vlm.json_reply import parse_json_reply
from perception.vlm.messages import ImagePart, Message

TRIM_MARGIN = 0.95  # of the context the trimmed prompt aims at: the server counts the tokens, lines are sized by estimate
REPLY_ROOM = 256  # tokens kept for the reply (a constrained action is shorter; llama.cpp checks only the prompt)


class VLMPolicy:
    name = "vlm"

    def __init__(
        self,
        vlm: Any,
        fallback: Policy,
        tools: list[dict] | None = None,
        hand_over_after: int = 2,
        stalled_after: int = 2,
        moments: Callable[[], Sequence[Moment]] | None = None,
    ):
        """`fallback` (the offline policy, or the image policy) answers from the evidence when the model
        cannot be made to answer, and takes the question over as the module docstring says. `moments`
        reads the video's timeline, once per question: its coarse overview (`app.overview`), the finest
        that fits the first prompt's budget, goes into every prompt of the question."""
        self.vlm = vlm
        self.fallback = fallback
        self.moments = moments
        self._overview_lines: list[str] | None = None
        self.tools = tools if tools is not None else action_schemas()
        self.system = system_prompt(self.tools)
        self.reply_schema = action_reply_schema(self.tools)
        self.hand_over_after = max(1, hand_over_after)
        self.stalled_after = max(1, stalled_after)
        # The user waits through every try, and the client has already retried and waited its
        # bounded time: one endpoint failure is enough. A reply that is not a valid action is
        # not the guard's business: it goes back to the model as an error observation, and
        # hand_over_after bounds how many of those a question sits through.
        self.guard = VLMGuard(give_up_after=1)
        self.handed_over = False
        self.failure = ""  # the endpoint's last error, for the trace

    def next_action(self, state: AgentState) -> Action:
        if self.handed_over:
            return self.fallback.next_action(state)
        reason = self._why_hand_over(state)
        if reason is not None:  # the offline policy gets a budget of its own: its steps take milliseconds
            self.handed_over = True
            self.name = "vlm+offline"
            state.max_steps += len(state.steps)
            return self.fallback.next_action(state).with_note(f"the offline policy takes over: {reason}")
        try:
            action = self._ask(state, force=False)
        except VLMError as err:
            self.guard.failed("action", err)
            self.failure = str(err)
            raise  # the error becomes this round's step
        self.guard.succeeded("action")
        if action.name == "answer" and not state.evidence and not state.images:
            raise ModelOutputError("there is no evidence yet: search before you answer")
        return self._checked(state, action)

    def force_answer(self, state: AgentState) -> Action:
        if self.handed_over or not self.guard.allows("action"):
            return self.fallback.force_answer(state)
        try:
            action = self._ask(state, force=True)
        except LongshotError as err:
            return self.fallback.force_answer(state).with_note(f"the offline policy answers: the model's answer failed ({err})")
        if action.name != "answer":
            return self.fallback.force_answer(state).with_note(f"the offline policy answers: the model replied {action.name}")
        return self._checked(state, action)

    def _why_hand_over(self, state: AgentState) -> str | None:
        if not self.guard.allows("action"):
            return f"the model failed ({self.failure[:160]})"
        if state.invalid >= self.hand_over_after:
            return f"{state.invalid} invalid actions in a row"
        recent = state.steps[-self.stalled_after :]
        if len(recent) == self.stalled_after and all(s.error is None and not s.evidence for s in recent):
            return f"no new evidence in {self.stalled_after} steps"
        return None

    def _checked(self, state: AgentState, action: Action) -> Action:
        """A text-only model's free-form answer stands only if the evidence holds it; otherwise the extractive
        answer. (A model that sees may answer from pixels, which no text check can hold it to.)"""
        text = action.args.get("text")
        if action.name != "answer" or not isinstance(text, str) or text == ABSTAIN_TEXT:
            return action
        if not reads(state.question, state.options) or self.vlm.vision:
            return action
        check = grounding(text, state.question, state.evidence)
        if check.grounded:
            return action.with_note("the model's answer is grounded in the evidence")
        extractive = self.fallback.force_answer(state)
        return extractive.with_note(f"the model's answer {text[:80]!r} is {check.describe()}; the extractive answer")

    def _ask(self, state: AgentState, force: bool) -> Action:
        """One round: the prompt, sent; on a context overflow, once more with the evidence trimmed to fit."""
        try:
            return self._send(state, force, self._messages(state, force))
        except ContextOverflowError as overflow:
            return self._send(state, force, self._messages(state, force, overflow=overflow))

    def _send(self, state: AgentState, force: bool, messages: list[Message]) -> Action:
        reply = self.vlm.chat(messages, json_mode=True, schema=self.reply_schema)
        usage = state.usage
        usage["prompt_tokens"] += reply.prompt_tokens
        usage["completion_tokens"] += reply.completion_tokens
        usage.setdefault("first_prompt_tokens", reply.prompt_tokens)
        usage["max_prompt_tokens"] = max(usage.get("max_prompt_tokens", 0), reply.prompt_tokens)
        usage["rounds"] = usage.get("rounds", 0) + 1
        return parse_action(reply.text)

    def _messages(self, state: AgentState, force: bool, overflow: ContextOverflowError | None = None) -> list[Message]:
        """The system prompt and this round's user turn; after an overflow, the evidence that fits, best first."""
        everything = list(range(len(state.evidence)))
        shown = everything if overflow is None else self._fitting(state, force, overflow)
        content: list[str | ImagePart] = [self._user_text(state, force, shown)]
        if overflow is None:
            content += self._images(state)
        if force:
            content.append(FORCE)
        return [Message.system(self.system), Message("user", tuple(content))]

    def _user_text(self, state: AgentState, force: bool, shown: list[int]) -> str:
        context = context_prompt(state.duration, state.scales, state.until)
        text = user_prompt(
            state.question,
            state.options,
            [describe(state.evidence[i], i) for i in shown],
            steps_left=0 if force else state.max_steps - len(state.steps),
            context=context + overview_prompt(self._overview(state, context)),
            error=state.steps[-1].error if state.steps else None,
        )
        left_out = len(state.evidence) - len(shown)
        return text + (f"\n({left_out} evidence items left out to fit the model's context.)" if left_out else "")

    def _overview(self, state: AgentState, context: str) -> list[str]:
        """The coarse timeline's lines, chosen once per question: the finest that fits the first prompt."""
        if self._overview_lines is None:
            lines: list[str] = []
            length = state.until if state.until is not None else state.duration
            if self.moments is not None and length:
                first = user_prompt(state.question, state.options, [], state.max_steps, context + overview_prompt(["x"]))
                room = overview_room(self.system, first)
                moments = self.moments()
                lines = fit(lambda stretches: overview_lines(moments, length, stretches), room, estimate_tokens, length)
            self._overview_lines = lines
        return self._overview_lines

    def _images(self, state: AgentState) -> list[str | ImagePart]:
        """The frames and sketches to show: as images to a model that sees; otherwise each as its caption and
        the memory text of the evidence it came with (a tool returns one evidence item per image, in order)."""
        if not state.images:
            return []
        if self.vlm.vision:
            return [ImagePart(image, label=caption) for image, caption in state.images]
        hits = state.hits[-1] if state.hits else ()
        paired = list(hits) if len(hits) == len(state.images) else [None] * len(state.images)
        return [image_as_text(caption, _memory_text(item)) for (_, caption), item in zip(state.images, paired)]

    def _fitting(self, state: AgentState, force: bool, overflow: ContextOverflowError) -> list[int]:
        """The indices of the best-scored evidence whose lines fit what the server said the context holds
        (half the evidence where it gave no counts), in their original order, images left out."""
        lines = {i: describe(e, i) for i, e in enumerate(state.evidence)}
        evidence = sum(estimate_tokens(line) for line in lines.values())
        if overflow.prompt_tokens and overflow.context_tokens:
            estimated = estimate_tokens(self.system) + estimate_tokens(self._user_text(state, force, list(lines)))
            room = overflow.context_tokens * TRIM_MARGIN - min(REPLY_ROOM, self.vlm.config.max_tokens)
            budget = evidence - (estimated - room * estimated / overflow.prompt_tokens)  # in our estimate's tokens
        else:
            budget = evidence / 2
        kept, used = [], 0
        for i in sorted(lines, key=lambda i: -state.evidence[i].score):
            cost = estimate_tokens(lines[i])
            if used + cost <= budget:
                kept.append(i)
                used += cost
        return sorted(kept)


def _memory_text(item: Any) -> str:
    if item is None:
        return ""
    data = getattr(item, "data", None)  # a sketch's structured result
    return item.text + (f" Result: {json.dumps(data, default=str)[:1500]}" if data else "")


def parse_action(text: str) -> Action:
    """`{"action": name, "args": {...}}`; also accepts the tool-call shape `{"name": ..., "arguments": ...}`."""
    data = parse_json_reply(text)
    name = data.get("action", data.get("name"))
    args = data.get("args", data.get("arguments", {}))
    if not isinstance(name, str) or not isinstance(args, dict):
        raise ModelOutputError(f'expected {{"action": str, "args": object}}, got {text[:200]!r}')
    return Action(name, args)
