"""The OCR detector's input, made as rapidocr makes it, bit for bit, for a fraction of its cost.

rapidocr (3.x) builds a new `DetPreProcess` for every call and hands it the mean and std as
omegaconf lists; turning those into arrays raises and catches several exceptions inside
omegaconf each time. It then normalises every pixel in float64 arithmetic and transposes the
result. Here one pre-processor serves every call, and a pixel's normalised value, which depends
only on its 8-bit value and channel, is looked up in a table made by rapidocr's own `normalize`,
written straight into the network's channel-first layout. Imported only where rapidocr is.
"""

from __future__ import annotations

import numpy as np
from rapidocr.ch_ppocr_det.utils import DetPreProcess


class DetectorInput(DetPreProcess):
    """rapidocr's detector pre-processing (resize to multiples of 32, normalise, NCHW float32), table-driven."""

    def __init__(self, limit_side_len: int, limit_type: str, mean: list[float] | None, std: list[float] | None):
        super().__init__(limit_side_len, limit_type, mean, std)
        every_value = np.repeat(np.arange(256, dtype=np.uint8).reshape(256, 1, 1), 3, axis=2)
        self._table = np.ascontiguousarray(self.normalize(every_value)[:, 0, :].T.astype(np.float32))  # channel, value

    def __call__(self, img: np.ndarray) -> np.ndarray | None:
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            return super().__call__(img)  # what the table does not cover goes rapidocr's own way
        resized = self.resize(img)
        if resized is None:
            return None
        height, width = resized.shape[:2]
        out = np.empty((1, 3, height, width), np.float32)
        for channel in range(3):
            np.take(self._table[channel], resized[:, :, channel], out=out[0, channel])
        return out
