"""How a piece of on-screen text looks: what tells a notice laid over the picture to be read from text
that merely belongs to the scene (a film's own title card over a pale sky, a stylised logo, a shop sign
far off).

Measured once per line as OCR reads it (microseconds on the line's own box), summed up per text run,
and stored on the run's occurrence (memory/screen_text.py), so the policy can rank texts by how
notice-like they are without looking at pixels again:

    contrast    how far apart the letters and what is right behind them are in grey level (0-1):
                a notice on a backing plate or drawn with an outline stands out (0.6-0.95), white
                letters faded over a pale sky do not (0.2-0.3)
    confidence  the OCR's own confidence in the reading (0-1): a stylised logo reads uncertainly
    agreement   the share of the run's frames that read the run's text exactly: a notice reads the
                same every frame, a logo or a texture reads differently each time
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

MIN_PIXELS = 16  # a box smaller than this says nothing about contrast


@dataclass(frozen=True)
class Look:
    """How one reading of a line looks: its letters' contrast against their backing and the OCR's confidence."""

    contrast: float
    confidence: float


def contrast(image: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """How far apart the two grey levels of a text box are (letters and what is behind them), 0-1.

    Otsu's threshold splits the box's pixels into its two most distinct classes; for text those are
    the strokes and their backing, wherever the box lies and whatever colour either is.
    """
    height, width = image.shape[:2]
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    if crop.size == 0 or crop.shape[0] * crop.shape[1] < MIN_PIXELS:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    grey = grey.astype(np.uint8)
    threshold, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark, light = grey[grey <= threshold], grey[grey > threshold]
    if not dark.size or not light.size:
        return 0.0
    return float(light.mean() - dark.mean()) / 255.0


def combined(looks: Sequence[Look], weights: Sequence[float] | None = None) -> Look | None:
    """The looks of several readings (the lines of one text, or its frames) as one, each weighted (alike
    without weights); None for none."""
    weights = [1.0] * len(looks) if weights is None else weights
    total = float(sum(weights))
    if not looks or total <= 0:
        return None
    return Look(
        sum(look.contrast * w for look, w in zip(looks, weights)) / total,
        sum(look.confidence * w for look, w in zip(looks, weights)) / total,
    )


def look_data(look: Look | None, agreement: float) -> dict[str, float]:
    """A run's look as an occurrence's data fields (nothing when no reading of it was measured)."""
    if look is None:
        return {}
    return {"contrast": round(look.contrast, 3), "confidence": round(look.confidence, 3), "agreement": round(agreement, 3)}
