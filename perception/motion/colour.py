"""Colour names for moving regions: a small palette a person would use, looked up per pixel.

Names come from hue, saturation and value rules (the way people name colours: dark is black,
unsaturated is grey or white, dark orange is brown, light red is pink), precomputed once into
a 32x32x32 RGB table, so naming a frame's pixels is one indexing operation.

A moving region's colour is what its pixels have more of than the pixels around it: the
changed pixels of a pair hold the object and the background it uncovered, and subtracting the
surroundings' palette leaves the object's colour, on a plain wall or a busy kitchen alike.
"""

from __future__ import annotations

import cv2
import numpy as np

PALETTE = ("black", "grey", "white", "red", "orange", "brown", "yellow", "green", "cyan", "blue", "purple", "pink")
_LEVELS = 32  # table resolution per channel; neighbouring 8-bit values share a name
_HUE_NAMES = (  # upper hue bound in degrees, name
    (15, "red"),
    (40, "orange"),
    (70, "yellow"),
    (165, "green"),
    (195, "cyan"),
    (255, "blue"),
    (290, "purple"),
    (340, "pink"),
    (360, "red"),
)


def _table() -> np.ndarray:
    """PALETTE index for every colour of a 32x32x32 RGB grid, by the module's rules."""
    steps = (np.arange(_LEVELS) * 256 // _LEVELS + 256 // _LEVELS // 2).astype(np.uint8)
    r, g, b = np.meshgrid(steps, steps, steps, indexing="ij")
    rgb = np.stack([r, g, b], axis=-1).reshape(1, -1, 3)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3).astype(np.float64)
    hue, sat, val = hsv[:, 0] * 360 / 256, hsv[:, 1], hsv[:, 2]
    by_hue = np.array([PALETTE.index(name) for _, name in _HUE_NAMES])[
        np.searchsorted([b for b, _ in _HUE_NAMES], hue, side="right")
    ]
    named = np.select(
        [
            val < 50,
            (sat < 50) & (val > 190),
            sat < 50,
            (by_hue == PALETTE.index("orange")) & (val < 150),
            (by_hue == PALETTE.index("red")) & (sat < 130) & (val > 170),
        ],
        [PALETTE.index(n) for n in ("black", "white", "grey", "brown", "pink")],
        by_hue,
    )
    return named.astype(np.uint8).reshape(_LEVELS, _LEVELS, _LEVELS)


_BITS = int(np.log2(_LEVELS))
_SHIFT = 8 - _BITS
_FLAT_TABLE = _table().reshape(-1)  # indexed by r, g and b's top bits side by side: one lookup, not three


def palette_indices(rgb: np.ndarray) -> np.ndarray:
    """The PALETTE index of each pixel of a uint8 RGB array (any leading shape)."""
    q = (rgb >> _SHIFT).astype(np.intp)  # the index type: the lookup converts nothing
    return _FLAT_TABLE[(q[..., 0] << 2 * _BITS) | (q[..., 1] << _BITS) | q[..., 2]]


def palette_counts(names: np.ndarray) -> np.ndarray:
    """How many of the pixels, given by their PALETTE indices (N,), carry each name."""
    return np.bincount(names, minlength=len(PALETTE)).astype(np.float64)


def colour_excess(inside: np.ndarray, around: np.ndarray) -> np.ndarray:
    """Pixels per name that `inside` has beyond its share of `around` (both PALETTE indices, (N,) and (M,)).

    Scaled to `inside`'s count, so runs can add the excess of many pairs and name the sum.
    """
    if len(inside) == 0:
        return np.zeros(len(PALETTE))
    mine = palette_counts(inside)
    if len(around) == 0:
        return mine
    theirs = palette_counts(around) * (len(inside) / len(around))
    return np.clip(mine - theirs, 0.0, None)


def colour_name(excess: np.ndarray) -> str | None:
    """The name with the largest excess, or None when no name stands out."""
    if not np.any(excess > 0):
        return None
    return PALETTE[int(np.argmax(excess))]
