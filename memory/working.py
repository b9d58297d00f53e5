"""Temporal working memory (TWM): the few frames or segments worth a model's limited context.

Relevance to the question comes from the image-text model when there is one, and always
from the text the video carries (captions, on-screen text, speech) through episodic
search. Each span is refined coarse to fine: sample, score, recentre on the best, shrink,
for a few rounds. The pool is then cut to K by maximal marginal relevance, so the picks
are relevant and unlike each other, and returned in time order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from memory.episodic import EpisodicMemory, Segment
from memory.frames import FrameRef, FrameStore
from memory.visual import VisualMemory

Span = tuple[float, float]


@dataclass(frozen=True)
class Pick:
    """One chosen moment: a frame (with the segment around it) or a whole segment."""

    time: float
    start: float
    end: float
    score: float
    relevance: float
    frame: FrameRef | None = None
    segment: Segment | None = None


@dataclass(frozen=True)
class Budget:
    """At most `k` items, and no more than `max_tokens` at `tokens_per_item` each."""

    k: int = 8
    max_tokens: int | None = None
    tokens_per_item: int = 256

    @property
    def items(self) -> int:
        if self.max_tokens is None:
            return self.k
        return max(0, min(self.k, self.max_tokens // max(1, self.tokens_per_item)))


class WorkingMemory:
    def __init__(
        self,
        episodic: EpisodicMemory,
        visual: VisualMemory,
        frames: Callable[[str], FrameStore],
        text_to_image: Callable[[str], np.ndarray] | None = None,
        rounds: int = 3,
        samples: int = 12,
        diversity: float = 0.3,
    ):
        """`text_to_image` embeds a query into the visual space (CLIP's text tower) when a model has one."""
        self.episodic = episodic
        self.visual = visual
        self.frames = frames
        self.text_to_image = text_to_image
        self.rounds = rounds
        self.samples = samples
        self.diversity = diversity

    def select_frames(
        self, video: str, query: str, spans: Sequence[Span], budget: Budget = Budget(), until: float | None = None
    ) -> list[Pick]:
        store = self.frames(video)
        times = store.times[: len(store)]
        if until is not None:
            times = times[times <= until]
        if not len(times) or budget.items == 0:
            return []
        relevance = _Relevance(self, video, query, until)
        pool: dict[int, float] = {}
        for start, end in _clip_spans(spans, float(times[0]), float(times[-1]), until):
            for index, score in self._refine(times, relevance, start, end):
                pool[index] = max(score, pool.get(index, -1.0))
        if not pool:
            return []
        indices = np.array(sorted(pool))
        scores = np.array([pool[i] for i in indices])
        vectors = relevance.frame_vectors(times[indices])
        chosen = _mmr(scores, vectors, budget.items, self.diversity)
        picks = []
        for position in sorted(chosen, key=lambda p: indices[p]):
            index = int(indices[position])
            t = float(times[index])
            segment = relevance.segment_at(t)
            start, end = (segment.start, segment.end) if segment else (t, t)
            picks.append(Pick(t, start, end, float(scores[position]), relevance.text_score(t), FrameRef(video, index, t), segment))
        return picks

    def select_segments(
        self, video: str, query: str, spans: Sequence[Span], budget: Budget = Budget(), until: float | None = None
    ) -> list[Pick]:
        relevance = _Relevance(self, video, query, until)
        inside = [
            s for s in relevance.base_segments if any(s.start < end and s.end > start for start, end in spans)
        ]
        if not inside or budget.items == 0:
            return []
        scores = np.array([relevance.segment_scores.get(s.id, 0.0) for s in inside])
        vectors = relevance.segment_vectors([s.id for s in inside])
        chosen = _mmr(scores, vectors, budget.items, self.diversity)
        return [
            Pick((s.start + s.end) / 2, s.start, s.end, float(scores[i]), float(scores[i]), segment=s)
            for i, s in sorted(((i, inside[i]) for i in chosen), key=lambda pair: pair[1].start)
        ]

    def _refine(self, times: np.ndarray, relevance: _Relevance, start: float, end: float) -> list[tuple[int, float]]:
        """Sample, score, recentre on the best, shrink by half; keep every frame scored on the way."""
        scored: list[tuple[int, float]] = []
        low, high = start, end
        for _ in range(self.rounds):
            targets = np.linspace(low, high, self.samples)
            indices = np.unique(np.clip(np.searchsorted(times, targets), 0, len(times) - 1))
            indices = indices[(times[indices] >= start - 1e-6) & (times[indices] <= end + 1e-6)]
            if not len(indices):
                break
            scores = relevance.frames(times[indices])
            scored += list(zip(indices.tolist(), scores.tolist()))
            best = float(times[indices[int(np.argmax(scores))]])
            half = (high - low) / 4
            if half <= 0:
                break
            low, high = max(start, best - half), min(end, best + half)
        return scored


class _Relevance:
    """Query relevance of any moment, from segment text and, when possible, from pixels."""

    def __init__(self, owner: WorkingMemory, video: str, query: str, until: float | None):
        episodic = owner.episodic
        scales = episodic.scales(video)
        base = min(scales) if scales else None
        self.episodic = episodic
        self.video = video
        self.base_segments = episodic.segments(video, scale=base, until=until) if base is not None else []
        hits = episodic.search(video, query, scale=base, k=max(1, len(self.base_segments)), until=until) if base is not None else []
        top = max((h.score for h in hits), default=0.0)
        self.segment_scores = {h.segment.id: (h.score / top if top > 0 else 0.0) for h in hits}
        self.starts = np.array([s.start for s in self.base_segments])
        self._times, self._vectors = owner.visual.vectors(video, until=until)
        self.image_scores = None
        if owner.text_to_image is not None and len(self._vectors):
            raw = self._vectors @ owner.text_to_image(query)
            span = float(raw.max() - raw.min())
            self.image_scores = (raw - raw.min()) / span if span > 0 else np.zeros_like(raw)

    def segment_at(self, t: float) -> Segment | None:
        if not len(self.starts):
            return None
        position = int(np.searchsorted(self.starts, t, side="right")) - 1
        segment = self.base_segments[max(position, 0)]
        return segment if segment.start <= t <= segment.end else None

    def text_score(self, t: float) -> float:
        segment = self.segment_at(t)
        return self.segment_scores.get(segment.id, 0.0) if segment else 0.0

    def frames(self, times: np.ndarray) -> np.ndarray:
        text = np.array([self.text_score(float(t)) for t in times])
        if self.image_scores is None:
            return text
        return 0.5 * text + 0.5 * self.image_scores[self._nearest(times)]

    def frame_vectors(self, times: np.ndarray) -> np.ndarray:
        if not len(self._vectors):
            return np.zeros((len(times), 1), dtype=np.float32)
        return self._vectors[self._nearest(times)]

    def _nearest(self, times: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self._times, times), 0, len(self._times) - 1)

    def segment_vectors(self, ids: Sequence[int]) -> np.ndarray:
        return self.episodic.embeddings(self.video, ids)


def _clip_spans(spans: Sequence[Span], first: float, last: float, until: float | None) -> list[Span]:
    high_limit = last if until is None else min(last, until)
    clipped = [(max(first, float(s)), min(high_limit, float(e))) for s, e in spans]
    return [(s, e) for s, e in clipped if e >= s]


def _mmr(scores: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> list[int]:
    """Greedy maximal marginal relevance: relevance minus likeness to what is already chosen."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    chosen: list[int] = []
    likeness = np.full(len(scores), -np.inf)
    for _ in range(min(k, len(scores))):
        penalty = np.where(np.isfinite(likeness), likeness, 0.0)
        value = (1 - diversity) * scores - diversity * penalty
        value[chosen] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        likeness = np.maximum(likeness, unit @ unit[best])
    return chosen
