"""On-screen text of a run of frames, reading (OCR) only where the picture may show new text.

OCR costs about as much as everything else in ingest together, and most sampled frames
show what the frame before showed, so each frame is first compared with what was last
looked at, region by region, on a small grey thumbnail (microseconds). Where no region
changed, the text already read still stands. Where some did, only the band of rows that
changed is looked at: first at most GATE_SIDE pixels wide, cheap, just to learn whether it
holds text at all (moving people and cars mostly do not); only then is the band read at
working resolution. Text outside the band is kept as read before. While the picture keeps
changing (people walking through a fixed view), it is looked at no more than once every
`min_interval` seconds: changes since the last look add up, so the next look covers them
all, and text that stays on screen that long is still read.

A whole-frame change test on pixel features would miss a notice that covers a sixth of
the frame (cosine distance 0.06 on the needle video) yet fire on every walking person;
comparing regions catches the notice and the gate keeps the people cheap.

Each call starts afresh, so a batch of frames is read the same way whether or not the
batches before it were read in this process: ingest resumed after a crash gives exactly
the text an uninterrupted run gives.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

THUMB_SIZE = (64, 36)  # width, height of the grey thumbnail regions are compared on
GRID = (6, 8)  # rows, columns of regions; each a block of THUMB_SIZE / GRID thumbnail pixels
GATE_SIDE = 256  # the "is there text at all?" look is downscaled to at most this many pixels wide
MIN_INTERVAL_S = 2.0  # seconds between looks while the picture keeps changing
MIN_SCORE = 0.6  # recognition confidence a line needs to count
MIN_CHARS = 2


@dataclass(frozen=True)
class Line:
    """One line of text read off a frame, with its box in frame pixels (x0, y0, x1, y1)."""

    text: str
    box: tuple[float, float, float, float]


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

    def read(self, frames: np.ndarray | Sequence[np.ndarray], times: Sequence[float]) -> list[tuple[str, ...]]:
        """The text lines on each frame (taken at `times`, seconds), top to bottom, left to right."""
        found: list[tuple[str, ...]] = []
        reference: np.ndarray | None = None
        known: list[Line] = []
        last_look = -np.inf
        for frame, time in zip(frames, times):
            if time - last_look >= self.min_interval - 1e-6:
                thumb = _thumbnail(frame)
                rows = _changed_rows(thumb, reference, self.threshold)
                if rows is not None:
                    known = self._look(frame, rows, known)
                    reference = thumb if reference is None else _refresh(reference, thumb, rows)
                    last_look = time
            found.append(tuple(line.text for line in known))
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
                Line(box.text.strip(), (box.box[0], box.box[1] + top, box.box[2], box.box[3] + top))
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
        scale = self.gate_side / width
        small = cv2.resize(band, (self.gate_side, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        return any(len(box.text.strip()) >= MIN_CHARS for box in self.ocr.read(small))  # not a lone mark: "■", "|"


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def _changed_rows(thumb: np.ndarray, reference: np.ndarray | None, threshold: float) -> tuple[int, int] | None:
    """(first, end) grid rows of the band to look at, one row of margin each side; None when nothing changed."""
    if reference is None:
        return 0, GRID[0]
    rows, cols = GRID
    height, width = thumb.shape
    change = np.abs(thumb - reference).reshape(rows, height // rows, cols, width // cols).mean(axis=(1, 3))
    changed = np.flatnonzero((change >= threshold).any(axis=1))
    if not changed.size:
        return None
    return max(0, int(changed[0]) - 1), min(rows, int(changed[-1]) + 2)


def _refresh(reference: np.ndarray, thumb: np.ndarray, rows: tuple[int, int]) -> np.ndarray:
    """The reference with the band just looked at replaced; other rows keep drifting until they count."""
    block = thumb.shape[0] // GRID[0]
    updated = reference.copy()
    updated[rows[0] * block : rows[1] * block] = thumb[rows[0] * block : rows[1] * block]
    return updated
