"""The frames of each span, at the run's sample rate."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager

import numpy as np

from memory.ingest.spans import Span
from memory.ingest.tracker import IngestTracker
from memory.prefetch import prefetch
from perception.video import FrameBatch, VideoReader


@contextmanager
def decoding(
    readers: Sequence[VideoReader], spans: Sequence[Span], fps: float, tracker: IngestTracker, ahead: int
) -> Iterator[Iterator[tuple[Span, FrameBatch]]]:
    """Each span with its frames, in order, decoded `ahead` spans ahead in lanes: reader i decodes
    spans i, i + n, ... in a thread of its own. A decoder thread is one core at most, so a second
    lane keeps decoding off the pipeline's critical path; its frames are the same (it seeks, as
    random access does)."""
    with ExitStack() as stack:
        lanes = [
            stack.enter_context(
                prefetch(decoded_spans(reader, spans[i :: len(readers)], fps, tracker), ahead, f"longshot-decode-{i}")
            )
            for i, reader in enumerate(readers)
        ]
        yield _in_turn(lanes)


def _in_turn(lanes: Sequence[Iterator[tuple[Span, FrameBatch]]]) -> Iterator[tuple[Span, FrameBatch]]:
    """One item from each lane in turn, until a lane runs out."""
    while True:
        for lane in lanes:
            item = next(lane, None)
            if item is None:
                return
            yield item


def decoded_spans(
    reader: VideoReader, spans: Iterable[Span], fps: float, tracker: IngestTracker
) -> Iterator[tuple[Span, FrameBatch]]:
    """Each span with its frames; the decode stage's time and position go to `tracker`."""
    for span in spans:
        with tracker.timed("decode"):
            batch = span_frames(reader, span, fps)
        tracker.advance("decode", span.end)
        yield span, batch


def span_frames(reader: VideoReader, span: Span, fps: float) -> FrameBatch:
    """The frames sampled in a span, the nearest frame just outside each end included."""
    slots = math.ceil((span.end - span.start) * fps) + 2
    parts = list(reader.sample(fps=fps, batch_size=slots, start=span.start, end=span.end))
    return within(joined(parts), span.start - 1 / fps, span.end + 1 / fps)


def joined(parts: Sequence[FrameBatch]) -> FrameBatch:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return FrameBatch(np.zeros((0, 1, 1, 3), np.uint8), np.zeros(0, np.float64), np.zeros(0, np.int64))
    return FrameBatch(
        np.concatenate([p.frames for p in parts]),
        np.concatenate([p.times for p in parts]),
        np.concatenate([p.indices for p in parts]),
    )


def within(batch: FrameBatch, start: float, end: float) -> FrameBatch:
    """The frames of `batch` taken in [start, end). Across a gap in a video's timestamps the frame
    nearest to a span lies far outside it; kept, it would be stored again for every span of the gap
    and described as seen there."""
    keep = (batch.times >= start) & (batch.times < end)
    if keep.all():
        return batch
    return FrameBatch(batch.frames[keep], batch.times[keep], batch.indices[keep])
