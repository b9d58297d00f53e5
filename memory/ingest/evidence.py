"""What each base segment of a span read, heard and saw, from the span's perception results.

Pure functions of their arguments, so each is tested alone and a resumed run assembles
exactly what an uninterrupted one did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from memory.compose import SegmentEvidence
from memory.episodic import SegmentDraft
from memory.ingest.motion import segment_motion
from memory.ingest.perceive import Findings
from memory.ingest.spans import Span
from perception.subtitles import Cue

SCENE_CHANGE_BELOW = 0.85  # pixel-feature cosine between consecutive frames
KEYFRAMES_PER_SEGMENT = 3


def segment_evidence(
    span: Span, times: np.ndarray, pixels: np.ndarray, found: Findings, cues: Sequence[Cue] = ()
) -> list[SegmentEvidence]:
    """One `SegmentEvidence` per base segment of `span`.

    `times` and `pixels` (unit-norm pixel features) are those of the span's frames, in
    order; a frame whose features differ enough from the frame before it is a scene change.
    A segment holds the text read on its frames, the speech that starts in it (utterances
    and subtitle `cues`, each whole, in time order: a sentence stays with the segment it
    starts in, however far it runs on), the labels of its keyframe's detections, each
    once, in order, and what moved in it.
    """
    segment = span.segment_of(times)
    similarity = np.einsum("ij,ij->i", pixels[1:], pixels[:-1])
    changes = np.flatnonzero(similarity < SCENE_CHANGE_BELOW) + 1
    moved = segment_motion(span, found.motion)
    spoken = sorted([(u.start, u.text.strip()) for u in found.utterances] + [(c.start, c.text) for c in cues])
    said = span.segment_of(np.array([start for start, _ in spoken], np.float64))
    seen = span.segment_of(np.array([t for t, _ in found.detections], np.float64))
    evidence = []
    for j, (start, end) in enumerate(span.segments):
        frames = np.flatnonzero(segment == j)
        evidence.append(
            SegmentEvidence(
                start=start,
                end=end,
                ocr_lines=unique(line.text for i in frames if i < len(found.lines) for line in found.lines[i]),
                speech=tuple(text for (_, text), k in zip(spoken, said) if k == j and text),
                objects=unique(label for (_, labels), k in zip(found.detections, seen) if k == j for label in labels),
                scene_changes=tuple(float(times[i]) for i in changes if segment[i] == j),
                motion=moved[j],
            )
        )
    return evidence


def keyframes(span: Span, times: np.ndarray, j: int) -> np.ndarray:
    """Positions in the span's frames of segment `j`'s keyframes: up to KEYFRAMES_PER_SEGMENT, evenly spread."""
    inside = np.flatnonzero(span.segment_of(times) == j)
    return inside[evenly_picked(inside.size)]


def evenly_picked(count: int) -> np.ndarray:
    """Up to KEYFRAMES_PER_SEGMENT positions of `range(count)`, evenly spread, the first and last included."""
    if not count:
        return np.zeros(0, int)
    return np.linspace(0, count - 1, min(KEYFRAMES_PER_SEGMENT, count)).astype(int)


def base_draft(scale: float, item: SegmentEvidence, caption: str, keyframes: Iterable[int]) -> SegmentDraft:
    """The base segment that `item` becomes, `keyframes` being frame-store indices."""
    return SegmentDraft(
        scale=scale,
        start=item.start,
        end=item.end,
        caption=caption,
        ocr_text="\n".join(item.ocr_lines),
        speech_text=" ".join(item.speech),
        objects=item.objects,
        keyframes=tuple(int(k) for k in keyframes),
    )


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The non-empty items, each once, in first-seen order."""
    return tuple(dict.fromkeys(i for i in items if i))
