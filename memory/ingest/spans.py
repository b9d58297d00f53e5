"""Which stretches of video a run covers, each one batch of whole base segments.

A span is made of whole base segments so that nothing carries over from one batch to the
next except what is committed: resuming from any commit gives exactly the spans, and so
the memory, of an uninterrupted run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

EPSILON = 1e-6  # seconds: float noise in span and segment bounds


@dataclass(frozen=True)
class Span:
    """The video time one batch covers: [start, end), whole base segments."""

    start: float
    end: float
    segments: tuple[tuple[float, float], ...]

    def segment_of(self, times: np.ndarray) -> np.ndarray:
        """Index of the segment each time falls in; times just outside (a nearest frame) go to the nearer end."""
        starts = np.array([s for s, _ in self.segments])
        return np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(self.segments) - 1)


def span_seconds(segment_seconds: float, sample_fps: float, batch_frames: int) -> float:
    """The length of one span: as many whole base segments as `batch_frames` sampled frames fill, at least one."""
    per_segment = max(1, round(segment_seconds * sample_fps))
    return segment_seconds * max(1, batch_frames // per_segment)


def plan_spans(committed_until: float, duration: float, segment_seconds: float, length: float) -> Iterator[Span]:
    """The spans after `committed_until` (the end of a span, or 0) to the end of the video; the last is
    cut at `duration`. A video committed to its end (killed before it was marked ready) has none left."""
    k = round(committed_until / length)
    while k * length < duration - EPSILON:
        start, end = k * length, min((k + 1) * length, duration)
        j = round(start / segment_seconds)
        segments = []
        while j * segment_seconds < end - EPSILON:
            segments.append((j * segment_seconds, min((j + 1) * segment_seconds, end)))
            j += 1
        if end > committed_until + EPSILON:
            yield Span(start, end, tuple(segments))
        k += 1
