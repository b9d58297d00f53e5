"""The policy that needs no generative model.

It searches every scale, keeps the scale whose relevance is most peaked (lowest
normalised entropy: one clear winner beats many lukewarm matches), asks semantic memory,
looks up each option, refines the best span with working memory, then answers by kind:
options scored against the evidence, the span of the best evidence for "when", the
best sentence for open questions, and an abstention when the evidence is weak.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from app.agent import LETTERS, AgentState
from app.answer import ABSTAIN_TEXT, Evidence
from app.scoring import best_sentence, classify, coverage, score_options, search_query
from app.toolbox import Action
from perception.vlm import format_time

INSPECT_FRAMES = 6


class OfflinePolicy:
    name = "offline"

    def __init__(self, embedder=None, abstain_below: float = 0.2, top_k: int = 5, sketching=None):
        """`sketching` (an OfflineSketching): OCR at zoom and counting marks on the best frame, when given."""
        self.embedder = embedder
        self.abstain_below = abstain_below
        self.top_k = top_k
        self.sketching = sketching

    def next_action(self, state: AgentState) -> Action:
        query = search_query(state.question)
        searched = {s.args.get("scale") for s, _ in state.actions("search_episodic") if s.args.get("query") == query}
        for scale in sorted(state.scales, reverse=True):
            if scale not in searched:
                return Action("search_episodic", {"query": query, "scale": scale, "k": self.top_k})
        if not state.actions("search_semantic"):
            return Action("search_semantic", {"query": query, "k": self.top_k})
        looked_up = {s.args.get("query") for s, _ in state.actions("search_episodic")}
        for option in state.options:
            option_query = search_query(option)
            if option_query not in looked_up and state.scales:
                return Action("search_episodic", {"query": option_query, "scale": min(state.scales), "k": 3})
        span = self.best_span(state)
        if span is not None and not state.actions("inspect"):
            return Action("inspect", {"start": span[0], "end": span[1], "n": INSPECT_FRAMES, "query": query})
        sketch = self.sketching.next_action(state) if self.sketching else None
        return sketch or self.force_answer(state)

    def best_span(self, state: AgentState) -> tuple[float, float] | None:
        """Top hit of the scale whose scores are most peaked."""
        query = search_query(state.question)
        per_scale = [(s.args["scale"], hits) for s, hits in state.actions("search_episodic") if s.args.get("query") == query and hits]
        if not per_scale:
            return None
        scale, hits = min(per_scale, key=lambda pair: (normalised_entropy([h.score for h in pair[1]]), pair[0]))
        top = max(hits, key=lambda h: h.score)
        return top.start, top.end

    def force_answer(self, state: AgentState) -> Action:
        sketched = self.sketching.answer(state) if self.sketching else None
        if sketched is not None:
            return sketched
        kind = classify(state.question, state.options)
        evidence = state.evidence
        if kind.kind == "order":
            return self._order(state, kind.latest)
        if kind.kind == "choice":
            return self._choice(state, evidence)
        if kind.kind == "when" and state.scales:  # a moment, not a chapter: the finest scale and frames
            evidence = [e for e in evidence if e.kind != "segment" or e.scale == min(state.scales)] or evidence
        best, strength = self._best(search_query(state.question), evidence, prefer_short=kind.kind == "when")
        if best is None or strength < self.abstain_below:
            return Action("answer", {"text": ABSTAIN_TEXT})
        index = state.evidence.index(best)
        if kind.kind == "when":
            text = f"At {format_time(best.start)}-{format_time(best.end)}: {best_sentence(state.question, best.text)}"
        else:
            text = f"{best_sentence(search_query(state.question), best.text)} (at {format_time(best.start)})"
        return Action("answer", {"text": text, "evidence": [index], "span": [best.start, best.end]})

    def _choice(self, state: AgentState, evidence: Sequence[Evidence]) -> Action:
        scores = score_options(state.options, evidence, self.embedder)
        best = int(scores.argmax())
        support = sorted(range(len(evidence)), key=lambda i: -coverage(state.options[best], evidence[i].text) * max(evidence[i].score, 0.05))[:3]
        args = {"text": state.options[best], "choice": LETTERS[best], "evidence": support}
        if support:
            main = evidence[support[0]]
            args["span"] = [main.start, main.end]
        return Action("answer", args)

    def _order(self, state: AgentState, latest: bool) -> Action:
        """Which option happens first (or last): each option's best match in its own search decides its time."""
        times = []
        for option in state.options:
            option_query = search_query(option)
            hits = [h for s, found in state.actions("search_episodic") if s.args.get("query") == option_query for h in found]
            best, strength = self._best(option_query, hits, prefer_short=True)
            times.append(best.start if best is not None and strength > 0 else math.inf)
        if all(math.isinf(t) for t in times):
            return self._choice(state, state.evidence)
        pick = max(range(len(times)), key=lambda i: times[i] if not math.isinf(times[i]) else -math.inf) if latest else min(range(len(times)), key=lambda i: times[i])
        when = ", ".join(f"{LETTERS[i]} at {format_time(t)}" for i, t in enumerate(times) if not math.isinf(t))
        return Action("answer", {"text": f"{state.options[pick]} ({when})", "choice": LETTERS[pick], "span": [times[pick], times[pick]]})

    def _best(self, query: str, evidence: Sequence[Evidence], prefer_short: bool) -> tuple[Evidence | None, float]:
        """The evidence that covers most of the query; ties go to the higher score, then the shorter span."""
        if not evidence:
            return None, 0.0
        ranked = sorted(
            evidence,
            key=lambda e: (round(coverage(query, e.text), 2), e.score, -(e.end - e.start) if prefer_short else 0.0),
            reverse=True,
        )
        return ranked[0], coverage(query, ranked[0].text)


def normalised_entropy(scores: Sequence[float]) -> float:
    """0 when one hit holds all the relevance, 1 when it is spread evenly."""
    values = [max(s, 0.0) for s in scores]
    total = sum(values)
    if len(values) < 2 or total <= 0:
        return 1.0
    probabilities = [v / total for v in values if v > 0]
    return -sum(p * math.log(p) for p in probabilities) / math.log(len(values))
