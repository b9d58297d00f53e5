"""A coarse timeline of a whole video, a few lines long, for a model's first prompt.

A model that sees only search results can retrieve but not reason over time: it cannot
tell what comes before what, or where to look first. The overview cuts the video into
equal stretches and says, per stretch, what the timeline holds there: on-screen texts and
what is said (each with its own times), detected objects, movement (when something moved: a
visit to a still room is the answer to many questions about camera footage) and the camera's
moves, and how many scene changes. It
is made as fine as the prompt's token budget allows (`fit`), so a short video gets one
line per minute or so, and a long one fewer, coarser lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

from perception.timefmt import format_span

MAX_STRETCHES = 24
TEXTS_PER_LINE = 3
QUOTE_CHARS = 60
LABELS = {
    "text": "on screen",
    "subtitle": "subtitles",
    "speech": "said",
    "caption": "seen",
    "object": "objects",
    "activity": "movement",
    "camera": "camera",
}


class Moment(Protocol):
    """What the overview reads of a timeline occurrence (read-only, as a frozen dataclass's fields are)."""

    @property
    def modality(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


def overview_lines(moments: Sequence[Moment], length: float, stretches: int) -> list[str]:
    """One line per stretch of `length / stretches` seconds that holds anything, in time order."""
    if length <= 0 or stretches < 1:
        return []
    step = length / stretches
    lines = []
    for number in range(stretches):
        start, end = number * step, min(length, (number + 1) * step)
        inside = [m for m in moments if start <= m.start < end or (number == stretches - 1 and m.start == end)]
        parts = [_modality_part(modality, [m for m in inside if m.modality == modality]) for modality in LABELS]
        scenes = sum(m.modality == "scene" for m in inside)
        parts.append(f"{scenes} scene change{'s' if scenes != 1 else ''}" if scenes else "")
        said = "; ".join(p for p in parts if p)
        if said:
            lines.append(f"{format_span(start, end)}: {said}")
    return lines


def _modality_part(modality: str, moments: Sequence[Moment]) -> str:
    if not moments:
        return ""
    if modality == "object":
        return f"{LABELS[modality]}: " + ", ".join(sorted({m.text for m in moments}))
    if modality == "activity":  # its sentence is long; when it moved is what a model plans by
        return _listed(modality, [format_span(m.start, m.end) for m in moments])
    if modality == "camera":  # "the camera pans left (0.20 frame widths/s), 0:20-0:24": the move, then when
        return _listed(
            modality, [f"{m.text.split(' (')[0].removeprefix('the camera ')} ({format_span(m.start, m.end)})" for m in moments]
        )
    distinct: dict[str, Moment] = {}
    for moment in moments:
        distinct.setdefault(" ".join(moment.text.split()), moment)
    return _listed(modality, [f'"{_cut(text)}" ({format_span(m.start, m.end)})' for text, m in distinct.items()])


def _listed(modality: str, items: Sequence[str]) -> str:
    """The first TEXTS_PER_LINE items under the modality's label, and how many more."""
    more = len(items) - TEXTS_PER_LINE
    return f"{LABELS[modality]}: " + ", ".join(items[:TEXTS_PER_LINE]) + (f" and {more} more" if more > 0 else "")


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3].rstrip() + "..."


def fit(lines_for: Callable[[int], list[str]], room: int, tokens: Callable[[str], int], length: float) -> list[str]:
    """The finest overview whose lines fit `room` tokens: from about a stretch a minute (at most
    MAX_STRETCHES) down to one stretch, then none."""
    most = max(1, min(MAX_STRETCHES, math.ceil(length / 60)))
    for stretches in sorted({most, *(s for s in (16, 12, 8, 6, 4, 3, 2, 1) if s < most)}, reverse=True):
        lines = lines_for(stretches)
        if sum(tokens(line) + 1 for line in lines) <= room:
            return lines
    return []
