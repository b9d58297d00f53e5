"""Whether an image may hold a line of text, told in about a millisecond, before an OCR detector is asked.

The OCR detector costs about 7 ms on a 256-pixel-wide band (a full read at 448, about 50), and most bands
that change in ingest are people and cars moving through a fixed view. A line of text has a
look that needs no detector: along a row through it, the grey level jumps up and down again
and again, one stroke after another. So: the horizontal grey-level steps of at least
CONTRAST levels, counted per row in every window WINDOW pixels wide; text is where some
window holds EDGES steps or more on ROWS rows in a row (a character is that tall). A person,
a car or a painted line gives a step or two; letters give several per character.

It is a filter, not a reader: it must not say no where the detector finds text (a yes only
costs a detector call). Measured against the detector gate on every band ingest looked at in
ten minutes of the needle video (212) and of the demo's station (90), it passed every band
the detector read text in (30), and let 100 and 25 through in all; on the shared still images
it passed every image whose text the detector gate finds.

CONTRAST was 32 until a wider measurement: on every band ingest looked at in the bench's
10-min needle video (251, 11 read) and in the CI needle video (158, 52 read), 48 lets 83 and 81
bands through to the detector instead of 113 and 97 and still passes every band it read text
in, and every shared still image; 56 starts to miss bands the detector reads.

The counting is done by OpenCV (absolute differences of 8-bit pixels, an integral image) rather than
numpy's int16 difference and cumulative sum: the same answer (on 2,666 bands of the bench, needle and
shared videos) for 15% less a call on the bench needle's bands (479 against 407 µs, median of five
interleaved rounds); most of what is left is the resize to `side` pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

CONTRAST = 48  # grey levels (of 255) a step between neighbouring pixels must have
WINDOW = 48  # pixels along a row, at the width looked at
EDGES = 6  # steps up into an edge within one window: three characters' worth
ROWS = 4  # rows in a row that must have them, the height of the smallest character read


def may_hold_text(image: np.ndarray, side: int = 256) -> bool:
    """True when an RGB (or grey) image, looked at `side` pixels wide at most, may show a line of text."""
    pixels = np.ascontiguousarray(image)
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if pixels.ndim == 3 else pixels
    height, width = grey.shape
    if width > side:
        grey = cv2.resize(grey, (side, max(1, round(height * side / width))), interpolation=cv2.INTER_AREA)
    if grey.shape[1] < 3:
        return False
    steps = cv2.absdiff(grey[:, 1:], grey[:, :-1]) >= CONTRAST
    into_edge = (steps[:, 1:] & ~steps[:, :-1]).view(np.uint8)  # a step whose left neighbour is none
    prefix = cv2.integral(into_edge)  # sums above and to the left, one row and column of zeros first
    in_row = prefix[1:] - prefix[:-1]  # each row's running count, 0 first
    span = min(WINDOW, into_edge.shape[1])
    busiest = (in_row[:, span:] - in_row[:, :-span]).max(axis=1)
    busy = np.concatenate(([0], (busiest >= EDGES).astype(np.int8), [0]))
    starts, ends = np.flatnonzero(np.diff(busy) == 1), np.flatnonzero(np.diff(busy) == -1)
    return bool(((ends - starts) >= ROWS).any())
