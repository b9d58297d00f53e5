"""Temporal working memory (TWM): the few frames or segments worth a model's limited context.

Each span is searched coarse to fine, as TWM does: cut the window into cells, score each
cell, keep the best few cells (a beam, so two relevant moments in one span both survive),
recentre on each and shrink, until a window holds no more frames than a round samples. A
cell is scored by what memory says about all of it: the best text relevance among the
episodic segments overlapping it, at every scale that fits inside it (so a ten-minute cell
that holds the answer anywhere scores high, and a coarse segment matches words spread over
its children), plus the image-text similarity of its best frame when an image-text model
is present. The middle frame of every cell and every frame of the final windows are scored
on their own (finest-scale text plus pixels); that pool is cut to K by maximal marginal
relevance, so the picks are relevant and unlike each other, and returned in time order.

For a question about movement ("when does someone walk in?"), among frames that memory scores
alike (one segment's frames share its text), those where something happens are worth more than
the still ones between: with a timeline, the frame at each activity's onset and the one at its
peak (where the moving region was largest: a visit in full view, close and moving) get a small
bonus. Other questions get none: a marker moving through the scene must not pull the frames away
from the notice a question names.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from memory.episodic import EpisodicMemory, Segment
from memory.frames import FrameRef, FrameStore
from memory.lru import LruCache
from memory.timeline import Timeline
from memory.visual import VisualMemory
from perception.motion import motion_words

Span = tuple[float, float]
IMAGE_WEIGHT = 0.5  # share of the image-text score in a frame's relevance when a model gives one
MOMENT_BONUS = 0.1  # added to the relevance of a frame at an activity's onset or peak: a tie-breaker, not a topic
ONSET_DELAY = 0.5  # seconds after a run's start: the first frame that shows what came, rather than the frame before


@dataclass(frozen=True)
class Pick:
    """One chosen moment: a frame (with the base segment around it) or a whole segment."""

    time: float
    start: float
    end: float
    score: float  # what the pick was chosen by: relevance, text and pixels combined
    relevance: float  # the text relevance alone
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
        rounds: int = 6,
        samples: int = 12,
        beam: int = 2,
        diversity: float = 0.3,
        max_cached_videos: int = 4,
        timeline: Timeline | None = None,
    ):
        """`text_to_image` embeds a query into the visual space (CLIP's text tower) when a model has one;
        `timeline` gives the activity whose onsets and peaks frames are preferred at.

        `rounds` bounds the refinement; `samples` cells per window and round; `beam` windows kept
        per round; `diversity` is MMR's weight on unlikeness (0: relevance only). The frame embeddings of
        the last `max_cached_videos` videos are kept, and read again once their frame store grows.
        """
        self.episodic = episodic
        self.visual = visual
        self.frames = frames
        self.text_to_image = text_to_image
        self.rounds = rounds
        self.samples = max(2, samples)
        self.beam = max(1, beam)
        self.diversity = diversity
        self.timeline = timeline
        self._vectors: LruCache[str, tuple[float, np.ndarray, np.ndarray]] = LruCache(max_cached_videos)

    def frame_vectors(self, video: str, latest: float, until: float | None) -> tuple[np.ndarray, np.ndarray]:
        """(times, embeddings) of the video's frames up to `until`, read from visual memory once per frame-store length."""
        cached = self._vectors.get(video)
        if cached is None or cached[0] != latest:
            cached = (latest, *self.visual.vectors(video))
            self._vectors.put(video, cached)
        _, times, vectors = cached
        visible = len(times) if until is None else int(np.searchsorted(times, until, side="right"))
        return times[:visible], vectors[:visible]

    def select_frames(
        self, video: str, query: str, spans: Sequence[Span], budget: Budget = Budget(), until: float | None = None
    ) -> list[Pick]:
        """At most `budget.items` frames from `spans` (none after `until`), in time order."""
        store = self.frames(video)
        stored = store.times[: len(store)]
        times = stored if until is None else stored[stored <= until]
        if not len(times) or budget.items == 0:
            return []
        relevance = _Relevance(self, video, query, times, until, latest=float(stored[-1]))
        pool: set[int] = set()
        for start, end in _clip_spans(spans, float(times[0]), float(times[-1])):
            pool |= self._refine(times, relevance, start, end)
            pool |= {int(i) for i in relevance.moments if start <= times[i] <= end}
        if not pool:
            return []
        indices = np.array(sorted(pool))
        scores = relevance.frame_scores[indices]
        chosen = _mmr(scores, relevance.frame_vectors(indices), budget.items, self.diversity)
        picks = []
        for position in sorted(chosen, key=lambda p: indices[p]):
            index = int(indices[position])
            t = float(times[index])
            segment = relevance.base_segment_at(t)
            start, end = (segment.start, segment.end) if segment else (t, t)
            frame = FrameRef(video, index, t)
            picks.append(Pick(t, start, end, float(scores[position]), float(relevance.text[index]), frame, segment))
        return picks

    def select_segments(
        self, video: str, query: str, spans: Sequence[Span], budget: Budget = Budget(), until: float | None = None
    ) -> list[Pick]:
        """At most `budget.items` base segments overlapping `spans` (all ended by `until`), in time order."""
        scales = self.episodic.scales(video)
        if not scales or budget.items == 0:
            return []
        base = _ScaleScores(self.episodic, video, query, scales[0], until)
        inside = [i for i, s in enumerate(base.segments) if any(s.start < end and s.end > start for start, end in spans)]
        if not inside:
            return []
        scores = base.scores[inside]
        vectors = self.episodic.embeddings(video, [base.segments[i].id for i in inside])
        chosen = _mmr(scores, vectors, budget.items, self.diversity)
        picked = sorted(chosen, key=lambda p: base.segments[inside[p]].start)
        return [
            Pick((s.start + s.end) / 2, s.start, s.end, float(scores[p]), float(scores[p]), segment=s)
            for p, s in ((p, base.segments[inside[p]]) for p in picked)
        ]

    def _refine(self, times: np.ndarray, relevance: _Relevance, start: float, end: float) -> set[int]:
        """Frame indices looked at while narrowing `[start, end]` down to its best moments."""
        first, last = int(np.searchsorted(times, start, "left")), int(np.searchsorted(times, end, "right"))
        seen: set[int] = set()
        windows = [(first, last)] if first < last else []
        for _ in range(self.rounds):
            cells: list[tuple[float, int, int]] = []  # (score, first, last) over all windows of this round
            for low, high in windows:
                if high - low <= self.samples:  # small enough to look at every frame
                    seen.update(range(low, high))
                    continue
                edges = np.linspace(low, high, self.samples + 1).round().astype(int)
                middles = (edges[:-1] + edges[1:]) // 2
                seen.update(middles.tolist())
                scores = relevance.cells(times, edges)
                cells += [(float(scores[c]), int(edges[c]), int(edges[c + 1])) for c in range(self.samples)]
            windows = self._recentre(cells, first, last)
        for low, high in windows:  # rounds ran out first: the middle of what is left
            middle = (low + high) // 2
            seen.update(range(max(low, middle - self.samples // 2), min(high, middle + self.samples // 2)))
        return seen

    def _recentre(self, cells: list[tuple[float, int, int]], first: int, last: int) -> list[tuple[int, int]]:
        """Windows around the best `beam` cells, a cell's width of context each side; overlapping ones are skipped."""
        windows: list[tuple[int, int]] = []
        for _, low, high in sorted(cells, key=lambda cell: -cell[0]):
            width = high - low
            window = (max(first, low - width), min(last, high + width))
            if all(window[1] <= other[0] or window[0] >= other[1] for other in windows):
                windows.append(window)
            if len(windows) == self.beam:
                break
        return windows


class _ScaleScores:
    """Query relevance of every segment of one scale, normalised so the best is 1."""

    def __init__(self, episodic: EpisodicMemory, video: str, query: str, scale: float, until: float | None):
        self.scale = scale
        self.segments = episodic.segments(video, scale=scale, until=until)
        hits = episodic.search(video, query, scale=scale, k=max(1, len(self.segments)), until=until)
        top = max((h.score for h in hits), default=0.0)
        by_id = {h.segment.id: h.score / top for h in hits} if top > 0 else {}
        self.scores = np.array([by_id.get(s.id, 0.0) for s in self.segments], np.float64)
        self.starts = np.array([s.start for s in self.segments], np.float64)
        self.ends = np.array([s.end for s in self.segments], np.float64)

    def at(self, times: np.ndarray) -> np.ndarray:
        """The score of the segment holding each time (0 between segments)."""
        if not len(self.segments):
            return np.zeros(len(times))
        position = np.clip(np.searchsorted(self.starts, times, side="right") - 1, 0, len(self.segments) - 1)
        inside = (self.starts[position] <= times) & (times <= self.ends[position])
        return np.where(inside, self.scores[position], 0.0)

    def over(self, low: float, high: float) -> float:
        """The best score among the segments overlapping [low, high]."""
        overlapping = (self.starts <= high) & (self.ends >= low)
        return float(self.scores[overlapping].max()) if overlapping.any() else 0.0


class _Relevance:
    """Query relevance of the video's frames (up to `until`) and of cells of them, from text and pixels."""

    def __init__(self, owner: WorkingMemory, video: str, query: str, times: np.ndarray, until: float | None, latest: float):
        scales = owner.episodic.scales(video)
        self.by_scale = [_ScaleScores(owner.episodic, video, query, s, until) for s in scales]
        self.base = self.by_scale[0] if self.by_scale else None
        self.text = self.base.at(times) if self.base else np.zeros(len(times))
        vector_times, vectors = owner.frame_vectors(video, latest, until)
        self.vectors = vectors[_nearest(vector_times, times)] if len(vectors) else np.zeros((len(times), 1), np.float32)
        self.image = None
        if owner.text_to_image is not None and len(vectors):
            raw = self.vectors @ np.asarray(owner.text_to_image(query), np.float32)
            spread = float(raw.max() - raw.min())
            self.image = (raw - raw.min()) / spread if spread > 0 else np.zeros_like(raw)
        self.frame_scores = self.text if self.image is None else (1 - IMAGE_WEIGHT) * self.text + IMAGE_WEIGHT * self.image
        timeline = owner.timeline if motion_words(query) else None  # activity counts for questions about movement
        moments = activity_moments(timeline, video, until) if timeline is not None else np.zeros(0)
        self.moments = np.unique(_nearest(times, moments)) if len(moments) and len(times) else np.zeros(0, int)
        self.frame_scores = self.frame_scores + MOMENT_BONUS * np.isin(np.arange(len(times)), self.moments)

    def cells(self, times: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """A score per cell [edges[c], edges[c+1]): its best segment text, plus its best frame's image-text score."""
        text = np.array([self._text_over(float(times[a]), float(times[b - 1])) for a, b in itertools.pairwise(edges)])
        if self.image is None:
            return text
        return (1 - IMAGE_WEIGHT) * text + IMAGE_WEIGHT * np.maximum.reduceat(self.image, edges[:-1])

    def _text_over(self, low: float, high: float) -> float:
        """Text relevance of [low, high]: its best segment at any scale that fits inside it (the base one at least).

        Coarse segments hold their children's text, so they also match a query whose words are
        spread over neighbouring moments; the finer scales cover what a coarse segment not yet
        over by `until` leaves out.
        """
        if self.base is None:
            return 0.0
        return max(s.over(low, high) for s in self.by_scale if s.scale <= max(high - low, self.base.scale))

    def base_segment_at(self, t: float) -> Segment | None:
        if self.base is None or not len(self.base.segments):
            return None
        position = max(0, int(np.searchsorted(self.base.starts, t, side="right")) - 1)
        segment = self.base.segments[position]
        return segment if segment.start <= t <= segment.end else None

    def frame_vectors(self, indices: np.ndarray) -> np.ndarray:
        return self.vectors[indices]


def activity_moments(timeline: Timeline, video: str, until: float | None) -> np.ndarray:
    """The times worth a look: each activity's onset and peak, in time order."""
    runs = timeline.between(video, 0.0, float("inf") if until is None else until, modalities=("activity",), until=until)
    onsets = [min(run.start + ONSET_DELAY, run.end) for run in runs]
    return np.sort(np.array(onsets + [_peak(run.start, run.end, run.data) for run in runs], np.float64))


def _peak(start: float, end: float, data: dict | None) -> float:
    """When an activity's moving region was largest; its middle where the record keeps no peak (older memory)."""
    peak = (data or {}).get("peak_time")
    return float(peak) if isinstance(peak, (int, float)) and start <= peak <= end else (start + end) / 2


def _nearest(known: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each time, the position of the nearest known time."""
    right = np.clip(np.searchsorted(known, times), 0, len(known) - 1)
    left = np.clip(right - 1, 0, len(known) - 1)
    return np.where(np.abs(known[left] - times) < np.abs(known[right] - times), left, right)


def _clip_spans(spans: Sequence[Span], first: float, last: float) -> list[Span]:
    clipped = [(max(first, float(s)), min(last, float(e))) for s, e in spans]
    return [(s, e) for s, e in clipped if e >= s]


def _mmr(scores: np.ndarray, vectors: np.ndarray, k: int, diversity: float) -> list[int]:
    """Greedy maximal marginal relevance: relevance minus likeness to what is already chosen."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    chosen: list[int] = []
    likeness = np.zeros(len(scores))
    for _ in range(min(k, len(scores))):
        value = (1 - diversity) * scores - diversity * likeness
        value[chosen] = -np.inf
        best = int(np.argmax(value))
        chosen.append(best)
        likeness = np.maximum(likeness, unit @ unit[best])
    return chosen
