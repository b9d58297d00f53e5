"""On-screen text of a run of frames, reading (OCR) only where the picture may show new text.

OCR is the dearest model ingest runs on frames (a read of a 448-pixel frame costs about 50 ms),
and most sampled frames show what the frame before showed, so each frame is first compared with
what was last looked at, region by region, on a small grey thumbnail (microseconds). Where no
region changed, the text already read still stands. Where some did, only the band of rows that
changed is looked at: first at most GATE_SIDE pixels wide, cheap, just to learn whether it
holds text at all (moving people and cars mostly do not), by a millisecond test for rows of
letter strokes (`perception.text_presence`) and, where that passes, the OCR detector; only then
is the band read at working resolution. Text outside the band is kept as read before. While the
picture keeps changing (people walking through a fixed view), it is looked at no more than once
every `min_interval` seconds: changes since the last look add up, so the next look covers them
all, and text that stays on screen that long is still read. A change in rows that were still
for STILL_FRAMES frames (a notice appearing above the people), over at least SUDDEN_REGIONS
regions, is looked at at once.

A whole-frame change test on pixel features would miss a notice that covers a sixth of
the frame (cosine distance 0.06 on the needle video) yet fire on every walking person;
comparing regions catches the notice and the gate keeps the people cheap.

So is a change under text already read: a notice that goes away is seen going, so two
showings are never merged into one.

`text_runs` turns the lines of a span's frames into timeline occurrences: a run of frames in
which the same text stays visible, from its first to its last frame. Lines close together
(one notice of several lines) form one text; a small misreading (`same_text`) or a part of
the text hidden for a frame (a reading that is a piece of the run's text) continues the run,
which is named by its most frequent reading. A notice shown three times is three runs. Each run
carries how its text looks (`memory.text_look`: contrast, OCR confidence, agreement of its readings),
measured on each line as it is read, which tells a notice laid over the picture from the scene's own text.

Each call starts afresh, so a batch of frames is read the same way whether or not the
batches before it were read in this process: ingest resumed after a crash gives exactly
the text an uninterrupted run gives.
"""

from __future__ import annotations

import difflib
import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from memory.text_look import Look, combined, contrast, look_data
from memory.timeline import SAME_TEXT, OccurrenceDraft, normalised, numbers, same_text
from perception.text_presence import may_hold_text

THUMB_SIZE = (64, 36)  # width, height of the grey thumbnail regions are compared on
GRID = (6, 8)  # rows, columns of regions; each a block of THUMB_SIZE / GRID thumbnail pixels
GATE_SIDE = 256  # the "is there text at all?" look is downscaled to at most this many pixels wide
MIN_INTERVAL_S = 2.0  # seconds between looks while the picture keeps changing
STILL_FRAMES = 2  # a row unchanged for this many frames is still...
SUDDEN_REGIONS = 2  # ...and a change of this many regions in still rows is looked at at once
MIN_SCORE = 0.6  # recognition confidence a line needs to count
MIN_CHARS = 2
LINE_GAP = 0.8  # lines at most this many line heights apart, and overlapping sideways, are one text
MIN_PIECE = 0.4  # a reading that is at least this share of a run's text, and a piece of it, continues it


@dataclass(frozen=True)
class Line:
    """One line of text read off a frame, with its box in frame pixels (x0, y0, x1, y1) and how it looks."""

    text: str
    box: tuple[float, float, float, float]
    look: Look | None = None


class ScreenText:
    """Reads on-screen text per frame through an OCR model with `read(image) -> [TextBox]`.

    `change_threshold` is the mean absolute grey-level change of a region (0-1 of full
    scale) since it was last looked at that makes it worth looking at again.
    Thread-safe counters: `looks` (gate calls), `reads` (OCR at working resolution).
    """

    def __init__(self, ocr, change_threshold: float, gate_side: int = GATE_SIDE, min_interval: float = MIN_INTERVAL_S):
        if not 0 < change_threshold <= 1:
            raise ValueError(f"change_threshold must be in (0, 1], not {change_threshold}")
        self.ocr = ocr
        self.threshold = change_threshold * 255.0
        self.gate_side = gate_side
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self.looks = 0
        self.reads = 0

    def read(self, frames: np.ndarray | Sequence[np.ndarray], times: np.ndarray | Sequence[float]) -> list[tuple[str, ...]]:
        """The text lines on each frame (taken at `times`, seconds), top to bottom, left to right."""
        return [tuple(line.text for line in lines) for lines in self.lines(frames, times)]

    def lines(self, frames: np.ndarray | Sequence[np.ndarray], times: np.ndarray | Sequence[float]) -> list[tuple[Line, ...]]:
        """The lines on each frame, with their boxes: what `read` reads, for `text_runs`."""
        found: list[tuple[Line, ...]] = []
        reference: np.ndarray | None = None  # the thumbnail as last looked at, band by band
        previous: np.ndarray | None = None  # the thumbnail of the frame before
        quiet = np.full(GRID[0], STILL_FRAMES)  # for how many frames each row has not changed
        known: list[Line] = []
        last_look = -np.inf
        for frame, time in zip(frames, times):
            thumb = _thumbnail(frame)
            changed = _changed_regions(thumb, reference, self.threshold)
            rows = _changed_rows(changed)
            due = (
                time - last_look >= self.min_interval - 1e-6
                or (changed is not None and changed[quiet >= STILL_FRAMES].sum() >= SUDDEN_REGIONS)  # where all was still
                or _under_text(changed, known, frame.shape)
            )
            if rows is not None and due:
                known = self._look(frame, rows, known)
                reference = thumb if reference is None else _refresh(reference, thumb, rows)
                last_look = time
            found.append(tuple(known))
            stirring = _changed_regions(thumb, previous, self.threshold)
            if stirring is not None:
                quiet = np.where(stirring.any(axis=1), 0, quiet + 1)
            previous = thumb
        return found

    def _look(self, frame: np.ndarray, rows: tuple[int, int], known: list[Line]) -> list[Line]:
        """Known lines outside the changed band, plus whatever the band holds now.

        The band grows to cover every known line it touches, so no line is read cut in two.
        """
        height = frame.shape[0]
        top, bottom = (round(r * height / GRID[0]) for r in rows)
        grown = True
        while grown:
            cut = [line for line in known if line.box[1] < bottom and line.box[3] > top]
            new_top = min([top, *(math.floor(line.box[1]) for line in cut)])
            new_bottom = max([bottom, *(math.ceil(line.box[3]) for line in cut)])
            grown = (new_top, new_bottom) != (top, bottom)
            top, bottom = new_top, new_bottom
        kept = [line for line in known if line.box[3] <= top or line.box[1] >= bottom]
        band = frame[top:bottom]
        fresh: list[Line] = []
        if self._has_text(band):
            with self._lock:
                self.reads += 1
            fresh = [
                Line(
                    box.text.strip(),
                    (box.box[0], box.box[1] + top, box.box[2], box.box[3] + top),
                    Look(contrast(band, box.box), float(box.score)),
                )
                for box in self.ocr.read(band)
                if box.score >= MIN_SCORE and len(box.text.strip()) >= MIN_CHARS
            ]
        return sorted(kept + fresh, key=lambda line: (round(line.box[1]), line.box[0]))

    def _has_text(self, band: np.ndarray) -> bool:
        with self._lock:
            self.looks += 1
        height, width = band.shape[:2]
        if width <= self.gate_side:
            return True  # small enough to read outright
        if not may_hold_text(band, self.gate_side):
            return False  # no run of letter strokes anywhere: not worth the detector
        scale = self.gate_side / width
        small = cv2.resize(band, (self.gate_side, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        return any(len(box.text.strip()) >= MIN_CHARS for box in self.ocr.read(small))  # not a lone mark: "■", "|"


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def _changed_regions(thumb: np.ndarray, reference: np.ndarray | None, threshold: float) -> np.ndarray | None:
    """Which grid regions changed by `threshold` on average since `reference` (rows x columns); None without one."""
    if reference is None:
        return None
    rows, cols = GRID
    height, width = thumb.shape
    return np.abs(thumb - reference).reshape(rows, height // rows, cols, width // cols).mean(axis=(1, 3)) >= threshold


def _changed_rows(changed: np.ndarray | None) -> tuple[int, int] | None:
    """(first, end) grid rows of the band to look at, one row of margin each side; every row when there
    was nothing to compare with; None when nothing changed."""
    if changed is None:
        return 0, GRID[0]
    rows = np.flatnonzero(changed.any(axis=1))
    if not rows.size:
        return None
    return max(0, int(rows[0]) - 1), min(GRID[0], int(rows[-1]) + 2)


def _under_text(changed: np.ndarray | None, known: list[Line], shape: tuple[int, ...]) -> bool:
    """Whether a region under a known line changed: text that goes away or changes is looked at
    at once, whatever `min_interval` says, so two showings of a notice are never merged."""
    if changed is None:
        return False
    rows, cols = GRID
    height, width = shape[:2]
    for line in known:
        x0, y0, x1, y1 = line.box
        r0, r1 = int(y0 * rows / height), max(int(y0 * rows / height) + 1, math.ceil(y1 * rows / height))
        c0, c1 = int(x0 * cols / width), max(int(x0 * cols / width) + 1, math.ceil(x1 * cols / width))
        if changed[r0:r1, c0:c1].any():
            return True
    return False


def _refresh(reference: np.ndarray, thumb: np.ndarray, rows: tuple[int, int]) -> np.ndarray:
    """The reference with the band just looked at replaced; other rows keep drifting until they count."""
    block = thumb.shape[0] // GRID[0]
    updated = reference.copy()
    updated[rows[0] * block : rows[1] * block] = thumb[rows[0] * block : rows[1] * block]
    return updated


@dataclass
class _Run:
    """One text being followed from frame to frame."""

    first: int
    last: int
    box: tuple[float, float, float, float]
    readings: Counter = field(default_factory=Counter)
    looks: list[Look] = field(default_factory=list)  # one per frame whose reading was measured

    @property
    def text(self) -> str:
        return self.readings.most_common(1)[0][0]  # ties: the reading seen first


def text_runs(
    lines: Sequence[Sequence[Line]], times: np.ndarray | Sequence[float], start: float, end: float, size: tuple[int, int]
) -> list[OccurrenceDraft]:
    """The on-screen text of a span [start, end) as "text" occurrences, in order of first showing.

    `lines` are the lines of frames taken at `times` (`ScreenText.lines`) of `size` (width, height).
    A run starts and ends half way between its first (last) frame and the frame before (after)
    it; a run still showing at the first or last frame starts or ends exactly at the span's
    edge, so the next span's run of the same text continues it in the timeline.
    """
    runs: list[_Run] = []
    for i, frame_lines in enumerate(lines):
        going = [run for run in runs if run.last == i - 1]
        for text, box, look in _blocks(frame_lines):
            run = next((r for r in going if _continues(r.text, text)), None)
            if run is None:
                run = _Run(i, i, box)
                runs.append(run)
            else:
                going.remove(run)
            run.last = i
            run.readings[text] += 1
            run.looks += [look] if look is not None else []
    width, height = size
    drafts = []
    for run in runs:
        first = start if run.first == 0 else max(start, (times[run.first - 1] + times[run.first]) / 2)
        last = end if run.last == len(lines) - 1 else min(end, (times[run.last] + times[run.last + 1]) / 2)
        x0, y0, x1, y1 = run.box
        where = [round(x0 / width, 4), round(y0 / height, 4), round(x1 / width, 4), round(y1 / height, 4)]
        look = combined(run.looks)
        agreement = run.readings[run.text] / sum(run.readings.values())
        data = {"box": where, **look_data(look, agreement)}
        drafts.append(OccurrenceDraft("text", float(first), float(max(first, last)), run.text, data))
    return drafts


def _blocks(lines: Sequence[Line]) -> list[tuple[str, tuple[float, float, float, float], Look | None]]:
    """Lines grouped into texts: lines side by side on one row, or one close below another and
    overlapping it sideways, belong together. Each text reads top to bottom, left to right, and
    looks as its measured lines do, weighted by their length."""
    group = list(range(len(lines)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, a in enumerate(lines):
        for j in range(i + 1, len(lines)):
            if _together(a, lines[j]):
                group[root(j)] = root(i)
    blocks: dict[int, list[Line]] = {}
    for i, line in enumerate(lines):
        blocks.setdefault(root(i), []).append(line)
    texts = []
    for block in blocks.values():
        box = (
            min(b.box[0] for b in block),
            min(b.box[1] for b in block),
            max(b.box[2] for b in block),
            max(b.box[3] for b in block),
        )
        measured = [(line.look, len(line.text)) for line in block if line.look is not None]
        look = combined([look for look, _ in measured], [length for _, length in measured])
        texts.append((" ".join(line.text for line in _reading_order(block)), box, look))
    return sorted(texts, key=lambda text: (text[1][1], text[1][0]))


def _reading_order(lines: list[Line]) -> list[Line]:
    """Rows top to bottom (a line whose middle lies within a row belongs to it), each left to right."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda line: line.box[1] + line.box[3]):
        middle = (line.box[1] + line.box[3]) / 2
        if rows and min(b.box[1] for b in rows[-1]) <= middle <= max(b.box[3] for b in rows[-1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda line: line.box[0])]


def _together(a: Line, b: Line) -> bool:
    height = min(a.box[3] - a.box[1], b.box[3] - b.box[1])
    across = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])  # > 0: they overlap sideways
    down = max(a.box[1], b.box[1]) - min(a.box[3], b.box[3])  # < 0: they overlap up and down
    same_row = down <= -0.5 * height and across >= -LINE_GAP * 2 * height
    stacked = across > 0 and down <= LINE_GAP * height
    return same_row or stacked


def _continues(text: str, reading: str) -> bool:
    """Whether a frame's reading continues a run's text: nearly the same, or a piece of it (part
    of it hidden for a moment), naming no number the run does not."""
    if same_text(text, reading):
        return True
    piece, whole = sorted((normalised(text), normalised(reading)), key=len)
    if not set(numbers(piece)) <= set(numbers(whole)):
        return False
    similar = difflib.SequenceMatcher(None, piece, whole, autojunk=False).ratio() >= SAME_TEXT
    return similar or (len(piece) >= MIN_PIECE * len(whole) and piece in whole)
