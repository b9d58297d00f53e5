"""Motion in ingest: a span's activity, camera motion and stillness (perception.motion), as
timeline occurrences and as the sentences its segments' captions and facts carry.

A span is analysed with the previous span's last frame, so a run crossing the boundary is seen
in both and the timeline joins the two (memory/timeline.py); on resume that frame is decoded
again by the same code (`frame_before`), so a resumed run writes what an uninterrupted one did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from memory.ingest.decode import span_frames
from memory.ingest.spans import Span
from memory.timeline import OccurrenceDraft
from perception.motion import MotionProcess, Observation, Stillness
from perception.motion.process import Previous
from perception.video import FrameBatch, VideoReader

FramesAt = Callable[[Sequence[float]], FrameBatch]  # decodes the frames nearest to times


def last_frame(batch: FrameBatch) -> Previous:
    """What the next span is analysed with: this span's last frame, None when it has none."""
    return (batch.frames[-1], float(batch.times[-1])) if len(batch) else None


def frame_before(reader: VideoReader, span: Span, length: float, fps: float) -> Previous:
    """The last frame of the span before `span` (of `length` seconds), decoded as that span's batch was."""
    if span.start <= 0:
        return None
    earlier = Span(max(0.0, span.start - length), span.start, ())
    return last_frame(span_frames(reader, earlier, fps))


def span_motion(motion: MotionProcess, batch: FrameBatch, previous: Previous, extra: FramesAt | None) -> tuple[Observation, ...]:
    """The span's observations, from the analyser's own process; with `extra`, sharpened in this one by the
    frames the analyser asks for where runs start and end (its state stays here to take them)."""
    if not len(batch):
        return ()
    if previous is not None and not previous[1] < batch.times[0]:
        previous = None  # a video slower than the sample rate: the same frame ends one span and starts the next
    if extra is None:
        return motion.observations(batch.frames, batch.times.tolist(), previous)
    analysed = motion.analyser.analyse(batch.frames, batch.times.tolist(), previous)
    if analysed.wanted:
        more = extra(analysed.wanted)
        inside = (more.times > analysed.pairs[0].start) & (more.times < analysed.pairs[-1].end)
        if inside.any():
            analysed = analysed.refined(more.frames[inside], more.times[inside].tolist())
    return analysed.observations


def motion_occurrences(observations: Sequence[Observation]) -> list[OccurrenceDraft]:
    """Each observation as a timeline occurrence; its `data` rebuilds the record for joining."""
    return [OccurrenceDraft(o.modality, max(0.0, o.start), max(0.0, o.start, o.end), o.text, o.data) for o in observations]


def segment_motion(span: Span, observations: Sequence[Observation]) -> list[tuple[Observation, ...]]:
    """Per base segment of `span`, the motion its caption and facts tell of: the activity and camera
    runs that start in it (a run already going when the span began, in its first segment), or else
    the stillness that covers it all."""
    moving = [o for o in observations if not isinstance(o, Stillness)]
    owner = span.segment_of(np.array([max(o.start, span.start) for o in moving], np.float64)).tolist() if moving else []
    said: list[tuple[Observation, ...]] = []
    for j, (start, end) in enumerate(span.segments):
        here = tuple(o for o, k in zip(moving, owner) if k == j)
        still = tuple(o for o in observations if isinstance(o, Stillness) and o.start <= start + 1 and o.end >= end - 1)
        said.append(here or still[:1])
    return said
