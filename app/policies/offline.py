"""The policy that needs no generative model.

It plans its searches within the step budget: the question at each scale (keeping the
scale whose relevance is most peaked, lowest normalised entropy: one clear winner beats
many lukewarm matches) and in semantic memory, when the question names something beyond
its frame ("which of these is shown?" names nothing); each option on its own, for
multiple-choice and order questions; then working memory refines the best span, and the
sketchpad looks closer (OCR at zoom, counting marks) unless the evidence already says one
option word for word. It answers by kind: options scored by how well the evidence says
each one; order questions by each option's first well-matching moment; "when" by the
finest evidence that says what is asked; open questions with the best sentence. It
abstains when the evidence says too little of what was asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

import numpy as np

from app.agent import AgentState
from app.answer import ABSTAIN_TEXT, LETTERS, Evidence
from app.policies.motion_kind import motion_kind
from app.policies.temporal import KINDS, Context
from app.policies.timeline_reading import key
from app.questions import TemporalQuestion, parse_question
from app.scoring import (
    QUESTION_FRAME,
    best_sentence,
    best_support,
    content_tokens,
    coverage,
    is_specific,
    option_matches,
    phrase_match,
    search_query,
    sentences,
    tokens,
)
from app.toolbox import Action
from perception.timefmt import format_time

INSPECT_FRAMES = 6
SAME_MOMENT = 0.8  # an order option's moments: those matching at least this share of its best match
TIE = 1e-6
RELEVANT = 0.75  # the least share of a question's words a sentence must name to say an option about it
WHEN_WORDS = frozenset({"today", "tonight", "tomorrow", "yesterday", "now", "later", "soon", "morning", "afternoon", "evening"})
ABSENT_BELOW = 0.75  # with a "not mentioned" option, another option must be said at least this well to be chosen


class OfflinePolicy:
    name = "offline"

    def __init__(self, embedder=None, abstain_below: float = 0.2, top_k: int = 5, sketching=None):
        """`embedder` breaks exact ties between options; `abstain_below` is the least share of what a question
        asks that the best evidence must say; `sketching` (an OfflineSketching): OCR at zoom and counting marks
        on the best frame, when given."""
        self.embedder = embedder
        self.abstain_below = abstain_below
        self.top_k = top_k
        self.sketching = sketching

    # -- searching ------------------------------------------------------------------------

    def next_action(self, state: AgentState) -> Action:
        done = {key(Action(s.action, s.args)) for s in state.steps}  # a failed action is not tried again
        temporal = self.temporal(state)
        if temporal is not None:
            kind, context = temporal
            pending = [a for a in kind.plan(context) if key(a) not in done]
            if pending and len(state.steps) < state.max_steps - 1:
                return pending[0]
            answer = kind.answer(context)
            if answer is not None:
                return answer
        for action in self.plan(state):
            if key(action) not in done:
                return action
        moment = self.best_moment(state)
        if moment is not None and not state.actions("inspect") and len(state.steps) < state.max_steps:
            start, end, query = moment
            return Action("inspect", {"start": start, "end": end, "n": INSPECT_FRAMES, "query": query})
        sketch = self.sketching.next_action(state) if self.sketching and not self.settled(state) else None
        return sketch or self.force_answer(state)

    def settled(self, state: AgentState) -> bool:
        """Whether the evidence already says one option word for word and no other as well: no closer look needed."""
        if not state.options or not state.evidence:
            return False
        best = np.sort(option_matches(state.options, state.evidence).max(axis=1))[::-1]
        return best[0] >= 1.0 - TIE and (len(best) < 2 or best[1] < best[0] - TIE)

    def temporal(self, state: AgentState):
        """The temporal answerer of this question's kind and its context, or None for a question the general path answers."""
        question = read(state.question, state.options)
        kind = motion_kind(state) or KINDS.get(question.kind)
        return None if kind is None else (kind, Context(question, state))

    def plan(self, state: AgentState) -> list[Action]:
        """The searches worth making for this question, fitted to the step budget (one step kept for inspect).

        A step budget smaller than the options leaves some unsearched: the loop then forces an answer.
        """
        question = read(state.question, state.options)
        query = search_query(state.question)
        lookups = []
        if state.options and state.scales:
            k = self.top_k if question.kind == "order" else 3  # order needs an option's first moment, not just one
            finest = min(state.scales)
            lookups = [Action("search_episodic", {"query": search_query(o), "scale": finest, "k": k}) for o in state.options]
        if lookups and not is_specific(query):  # the options carry what there is to look for
            return lookups
        room = state.max_steps - len(lookups) - 1
        semantic = [Action("search_semantic", {"query": query, "k": self.top_k})] if room >= 2 else []
        scales = _spread(sorted(state.scales, reverse=True), max(1, room - len(semantic)))
        searches = [Action("search_episodic", {"query": query, "scale": s, "k": self.top_k}) for s in scales]
        return lookups + searches + semantic  # the options first: with few steps, they decide a choice

    def best_moment(self, state: AgentState) -> tuple[float, float, str] | None:
        """The span worth a closer look and what to look for there.

        The top hit of the scale whose scores for the question are most peaked; without
        question searches, the moment that says an option best, looked at for that option.
        """
        query = search_query(state.question)
        per_scale = [
            (s.args["scale"], hits) for s, hits in state.actions("search_episodic") if s.args.get("query") == query and hits
        ]
        if per_scale:
            _, hits = min(per_scale, key=lambda pair: (normalised_entropy([h.score for h in pair[1]]), pair[0]))
            top = max(hits, key=lambda h: h.score)
            return top.start, top.end, query
        if state.options and state.evidence:
            matrix = option_matches(state.options, state.evidence)
            option, best = np.unravel_index(int(matrix.argmax()), matrix.shape)
            if matrix.max() > 0:
                return state.evidence[best].start, state.evidence[best].end, search_query(state.options[option])
        return None

    # -- answering ------------------------------------------------------------------------

    def force_answer(self, state: AgentState) -> Action:
        sketched = self.sketching.answer(state) if self.sketching else None
        if sketched is not None:
            return sketched
        temporal = self.temporal(state)
        answer = temporal[0].answer(temporal[1]) if temporal is not None else None
        if answer is not None:
            return answer
        question = read(state.question, state.options)
        if question.kind == "order" and state.options:
            return self._order(state, question.nth is not None and question.nth < 0)
        if state.options:
            return self._choice(state, question)
        return self._extract(state, when=question.kind == "when")

    def _choice(self, state: AgentState, question: TemporalQuestion) -> Action:
        """The option the evidence says best; the option saying the thing is absent when nothing says any other well."""
        evidence = state.evidence
        absent = question.absent_option
        if not evidence:
            return self._absent(state, absent)
        judged = list(evidence)
        if absent is not None:
            terms = question.target or answer_terms(state.question)  # the parser knows more of a question's frame
            if content_tokens(terms):  # an option counts only where said about what was asked ("exit", not any "3")
                judged = [_about(terms, e) for e in evidence]
        matrix = option_matches(state.options, judged)
        if absent is not None:
            matrix[absent] = 0.0  # "none of the above" is chosen for what the evidence lacks, not for its words
        scores = best_support(matrix, evidence)
        lone = _told_apart(state.options, absent, matrix, judged)
        if scores.max() < (ABSENT_BELOW if absent is not None else self.abstain_below) and lone is None:
            return self._absent(state, absent)
        tied = np.flatnonzero(scores >= scores.max() - TIE)
        best = int(tied[0]) if len(tied) == 1 else self._break_tie(state, tied, matrix)
        support = [int(i) for i in np.argsort(-matrix[best], kind="stable")[:3] if matrix[best, i] > 0]
        args = {"text": state.options[best], "choice": LETTERS[best], "evidence": support}
        if support:
            main = evidence[support[0]]
            args["span"] = [main.start, main.end]
        return Action("answer", args)

    def _absent(self, state: AgentState, absent: int | None) -> Action:
        if absent is None:
            return Action("answer", {"text": ABSTAIN_TEXT})
        return Action(
            "answer", {"text": f"{state.options[absent]}: nothing in the video says any of the others", "choice": LETTERS[absent]}
        )

    def _break_tie(self, state: AgentState, tied: np.ndarray, matrix: np.ndarray) -> int:
        """The tied option closest in meaning to the evidence that says it best (the first, without an embedder)."""
        if self.embedder is None:
            return int(tied[0])
        texts = [state.evidence[int(matrix[i].argmax())].text for i in tied]
        options = self.embedder.embed([state.options[i] for i in tied])
        similarity = (options * self.embedder.embed(texts)).sum(axis=1)
        return int(tied[int(similarity.argmax())])

    def _order(self, state: AgentState, latest: bool) -> Action:
        """Which option happens first (or last), each placed at its first (or last) well-matching moment."""
        fine = _finest(state)
        queries = [search_query(o) for o in state.options]
        matrix = option_matches(state.options, fine) if fine else np.zeros((len(queries), 0))
        times = []
        for row in matrix:
            best = row.max(initial=0.0)
            if best < self.abstain_below:
                times.append(math.nan)
                continue
            moments = [fine[j].start for j in np.flatnonzero(row >= SAME_MOMENT * best)]
            times.append(max(moments) if latest else min(moments))
        known = [i for i, t in enumerate(times) if not math.isnan(t)]
        if not known:
            return self._choice(state, read(state.question, state.options))
        pick = (max if latest else min)(known, key=lambda i: times[i])
        when = ", ".join(f"{LETTERS[i]} at {format_time(times[i])}" for i in known)
        support = [int(matrix[pick].argmax())]
        return Action(
            "answer",
            {
                "text": f"{state.options[pick]} ({when})",
                "choice": LETTERS[pick],
                "evidence": [state.evidence.index(fine[support[0]])],
                "span": [times[pick], times[pick]],
            },
        )

    def _extract(self, state: AgentState, when: bool) -> Action:
        """A "when" or open answer: the evidence that says most of what is asked (the finest, for "when")."""
        evidence = _finest(state) if when else list(state.evidence)
        terms = answer_terms(state.question)
        if not evidence or not terms:
            return Action("answer", {"text": ABSTAIN_TEXT})
        matched = [phrase_match(terms, e.text) for e in evidence]
        first = max(
            range(len(evidence)), key=lambda i: (round(matched[i], 2), evidence[i].score, evidence[i].start - evidence[i].end)
        )
        best = evidence[first]
        if matched[first] < self.abstain_below:
            return Action("answer", {"text": ABSTAIN_TEXT})
        sentence = best_sentence(terms, best.text)
        at = format_time(best.start)
        text = f"At {at}-{format_time(best.end)}: {sentence}" if when else f"{sentence} (at {at})"
        return Action("answer", {"text": text, "evidence": [state.evidence.index(best)], "span": [best.start, best.end]})


def answer_terms(question: str) -> str:
    """What an answer must say: the quoted text, else the question's words beyond its frame."""
    query = search_query(question)
    if query != question:
        return query
    return " ".join(t for t in tokens(question) if t not in QUESTION_FRAME and (len(t) > 1 or t.isdigit()))


def _about(terms: str, evidence: Evidence) -> Evidence:
    """The evidence with only its sentences (lines, on-screen texts) that name at least RELEVANT of `terms`.

    Words that only say when ("the library tonight") do not count: they name no subject, and speech
    recognition mishears them as readily as any ("until 7 to 9" for "until seven tonight").
    """
    subject = [w for w in tokens(terms) if w not in WHEN_WORDS]
    terms = " ".join(subject) if content_tokens(" ".join(subject)) else terms
    kept = [s for s in sentences(evidence.text) if coverage(terms, s) >= RELEVANT]
    return replace(evidence, text="\n".join(kept))


def _told_apart(options: Sequence[str], absent: int | None, matrix: np.ndarray, evidence: Sequence[Evidence]) -> int | None:
    """The one option the evidence says, and says where it differs from the others, however little of the
    rest it says ("until 7 to 9" heard for "until seven tonight": only "Until seven tonight" of "Until
    eight/seven/ten tonight"); None when no option, or more than one, is said at all."""
    said = [i for i in range(len(options)) if i != absent and matrix[i].max(initial=0.0) > 0]
    if len(said) != 1:
        return None
    (lone,) = said
    others = [content_tokens(search_query(o)) for i, o in enumerate(options) if i not in (lone, absent)]
    own = content_tokens(search_query(options[lone]))
    distinct = own - set().union(*others) if others else set()
    text = evidence[int(matrix[lone].argmax())].text
    return lone if distinct and coverage(" ".join(sorted(distinct)), text) == 1.0 else None


def _finest(state: AgentState) -> list[Evidence]:
    """Evidence that places a moment: frames, facts, sketches and segments of the finest scale."""
    finest = min(state.scales, default=None)
    return [e for e in state.evidence if e.kind != "segment" or e.scale == finest] or list(state.evidence)


def _spread(scales: Sequence[float], count: int) -> list[float]:
    """`count` of the scales (coarse to fine), evenly spread, the finest always among them."""
    if count >= len(scales):
        return list(scales)
    positions = np.linspace(len(scales) - 1, 0, count).round().astype(int)
    return [scales[i] for i in sorted(set(positions.tolist()))]


@lru_cache(maxsize=256)
def read(question: str, options: tuple[str, ...]) -> TemporalQuestion:
    """The parsed question, once per question (every round asks again)."""
    return parse_question(question, options)


def normalised_entropy(scores: Sequence[float]) -> float:
    """0 when one hit holds all the relevance, 1 when it is spread evenly."""
    values = [max(s, 0.0) for s in scores]
    total = sum(values)
    if len(values) < 2 or total <= 0:
        return 1.0
    probabilities = [v / total for v in values if v > 0]
    return -sum(p * math.log(p) for p in probabilities) / math.log(len(values))
