"""Colours as data: a named palette of easily told-apart colours and the text colour for each.

Names (not RGB triples) are what a model picks from, so the palette is the vocabulary
of the tools' `color` argument. The colours are Sasha Trubetskoy's "20 distinct colours",
trimmed to the ones that stay distinct on photographs.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

RGB = tuple[int, int, int]

PALETTE: dict[str, RGB] = {
    "red": (230, 25, 75),
    "green": (60, 180, 75),
    "yellow": (255, 225, 25),
    "blue": (0, 130, 200),
    "orange": (245, 130, 48),
    "purple": (145, 30, 180),
    "cyan": (70, 240, 240),
    "magenta": (240, 50, 230),
    "lime": (210, 245, 60),
    "pink": (250, 190, 212),
    "teal": (0, 128, 128),
    "brown": (170, 110, 40),
    "navy": (0, 0, 128),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}
COLOR_NAMES: tuple[str, ...] = tuple(PALETTE)
# Colours handed out in turn when the caller names none: saturated ones first.
CYCLE: tuple[RGB, ...] = tuple(PALETTE[name] for name in COLOR_NAMES[:12])


def resolve_color(color: str | Sequence[int] | None, index: int = 0) -> RGB:
    """An RGB triple from a palette name, an RGB sequence, or None (the `index`-th colour of the cycle)."""
    if color is None:
        return CYCLE[index % len(CYCLE)]
    if isinstance(color, str):
        try:
            return PALETTE[color]
        except KeyError:
            raise ValueError(f"unknown colour {color!r}; choose one of {', '.join(COLOR_NAMES)}") from None
    rgb = tuple(int(c) for c in color)
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise ValueError(f"a colour is three integers 0-255, got {color!r}")
    return rgb


def color_for(key: str) -> RGB:
    """A stable colour for a key (a detection label), the same in every process and run."""
    return CYCLE[zlib.crc32(key.encode("utf-8")) % len(CYCLE)]


def _relative_luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color_on(fill: RGB) -> RGB:
    """Black or white, whichever contrasts more with `fill` (WCAG contrast ratio)."""
    luminance = _relative_luminance(fill)
    # Contrast with black is (L+0.05)/0.05, with white 1.05/(L+0.05); they are equal at L ~ 0.179.
    return (0, 0, 0) if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else (255, 255, 255)
