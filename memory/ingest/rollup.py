"""Roll-up: the segments of the coarser scales whose last child a span closes, each made of its
children (their text, objects and keyframes) under a caption that summarises theirs.

A parent's children are those committed before this span plus those this span makes, so a
parent is built once, by the span that holds its end, and a resumed run builds the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

from memory.episodic import SegmentDraft
from memory.ingest.evidence import evenly_picked, unique
from memory.ingest.spans import EPSILON, Span


class Child(Protocol):
    """A segment as roll-up reads it: a committed `Segment` or a fresh `SegmentDraft`."""

    @property
    def start(self) -> float: ...
    @property
    def caption(self) -> str: ...
    @property
    def ocr_text(self) -> str: ...
    @property
    def speech_text(self) -> str: ...
    @property
    def objects(self) -> tuple[str, ...]: ...
    @property
    def keyframes(self) -> tuple[int, ...]: ...


Committed = Callable[[float, float, float], Sequence[Child]]  # (scale, start, end) -> committed segments overlapping it
Summarise = Callable[[float, float, Sequence[str]], str]  # (start, end, children's captions) -> the parent's caption


def closed_by(span: Span, scale: float, duration: float) -> list[tuple[float, float]]:
    """(start, end) of each segment of `scale` that ends inside `span`; the last is cut at `duration`."""
    closed = []
    for k in range(math.floor(span.start / scale), math.ceil(span.end / scale)):
        start, end = k * scale, min((k + 1) * scale, duration)
        if span.start + EPSILON < end <= span.end + EPSILON and start < end:
            closed.append((start, end))
    return closed


def roll_up(
    span: Span,
    base_scale: float,
    scales: Sequence[float],
    duration: float,
    drafts: Sequence[SegmentDraft],
    committed: Committed,
    summarise: Summarise,
) -> list[SegmentDraft]:
    """The parents `span` closes at each of `scales` (coarser than `base_scale`, finest first),
    given the span's base `drafts`; the parents of one scale are the children of the next."""
    made: list[SegmentDraft] = []
    children: Sequence[Child] = drafts
    child_scale = base_scale
    for scale in scales:
        closed = []
        for start, end in closed_by(span, scale, duration):
            group = {round(c.start, 3): c for c in committed(child_scale, start, end) if c.start < end - EPSILON}
            group.update({round(c.start, 3): c for c in children if start - EPSILON <= c.start < end - EPSILON})
            if group:
                ordered = [group[key] for key in sorted(group)]
                closed.append(parent(scale, start, end, ordered, summarise(start, end, [c.caption for c in ordered])))
        made += closed
        children, child_scale = closed, scale
    return made


def parent(scale: float, start: float, end: float, children: Sequence[Child], caption: str) -> SegmentDraft:
    """A parent segment holding its children's text, objects and a few of their keyframes."""
    keyframes = [k for c in children for k in c.keyframes]
    return SegmentDraft(
        scale=scale,
        start=start,
        end=end,
        caption=caption,
        ocr_text="\n".join(unique(line for c in children for line in c.ocr_text.splitlines())),
        speech_text=" ".join(c.speech_text for c in children if c.speech_text),
        objects=unique(o for c in children for o in c.objects),
        keyframes=tuple(keyframes[i] for i in evenly_picked(len(keyframes))),
    )
