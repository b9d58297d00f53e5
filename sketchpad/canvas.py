"""The canvas: a base image plus an ordered list of drawing operations, replayable from JSON.

A canvas never changes: every drawing method returns a new canvas with one more
operation, so each step of an agent's sketch stays available to show or store.

A canvas's base is one of three things:
- an image (pixels, and the path it came from when there is one);
- a crop of another canvas, optionally enlarged (`crop`): its coordinates map back to the
  parent's with `to_parent` / `from_parent`;
- frames side by side with captions (`side_by_side`): each panel's coordinates map back
  to its frame's canvas.

Coordinates are pixels of the canvas's own base; `normalized=True` takes them as
fractions of the width and height instead. `render()` draws the operations in order and
returns RGB uint8; `render(clean=True)` leaves out every drawing (at every level), which
is what detectors and OCR should see.

JSON: `to_json()` embeds the base image as PNG base64 unless it came from a file;
`to_json(embed_image=True)` always embeds (self-contained), `embed_image=False` refers to
the file by path, with a SHA-256 of its pixels so a changed file is caught on load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from perception.timefmt import format_time
from sketchpad.bases import MAX_SIDE, CropBase, ImageBase, SideBySideBase, base_pixels, open_rgb
from sketchpad.ops import (
    MAX_GRID,
    Box,
    BoxOp,
    GridOp,
    LabelOp,
    LineOp,
    MarksOp,
    MaskOp,
    Op,
    Point,
    PolygonOp,
    last_mark_number,
    op_from_dict,
    op_to_dict,
)
from sketchpad.palette import RGB, resolve_color

FORMAT = "longshot.sketch/1"
Color = str | Sequence[int] | None
Base = ImageBase | CropBase["Canvas"] | SideBySideBase["Canvas"]


class Canvas:
    """A base image and the drawing operations on it, in order. Immutable: drawing returns a new canvas."""

    __slots__ = ("_base", "_ops", "_pixels")

    def __init__(self, image: np.ndarray | Image.Image, *, source: str | Path | None = None):
        self._init(ImageBase(base_pixels(image), str(source) if source is not None else None), ())

    def _init(self, base: Base, ops: tuple[Op, ...]) -> None:
        self._base = base
        self._ops = ops
        self._pixels: dict[bool, np.ndarray] = {}

    @classmethod
    def _make(cls, base: Base, ops: tuple[Op, ...] = ()) -> Canvas:
        canvas = cls.__new__(cls)
        canvas._init(base, ops)
        return canvas

    @classmethod
    def open(cls, path: str | Path) -> Canvas:
        """A canvas on an image file, remembering the file so JSON can refer to it."""
        return cls(open_rgb(path), source=Path(path).resolve())

    # --- what it is -------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self._base.size

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def ops(self) -> tuple[Op, ...]:
        return self._ops

    @property
    def source(self) -> str | None:
        """The image file this canvas was opened from (None for crops, side by sides and arrays)."""
        return self._base.source if isinstance(self._base, ImageBase) else None

    @property
    def parents(self) -> tuple[Canvas, ...]:
        """The canvas a crop was cut from, or the frames of a side by side; () for an original image."""
        return () if isinstance(self._base, ImageBase) else self._base.parents

    @property
    def panel_boxes(self) -> tuple[tuple[int, int, int, int], ...]:
        """Where each parent appears on this canvas (x0, y0, x1, y1): one box per panel, the whole canvas for a crop."""
        if isinstance(self._base, SideBySideBase):
            return tuple(panel.box for panel in self._base.panels)
        return ((0, 0, self.width, self.height),) if self.parents else ()

    def pixels(self, clean: bool = False) -> np.ndarray:
        """The rendered image, read-only and cached; `render` gives a writable copy."""
        if clean not in self._pixels:
            pixels = self._base.image(clean)
            if not clean and self._ops:
                image = Image.fromarray(pixels)
                for op in self._ops:
                    op.draw(image)
                pixels = np.asarray(image)
            pixels = np.array(pixels)
            pixels.setflags(write=False)
            self._pixels[clean] = pixels
        return self._pixels[clean]

    def render(self, clean: bool = False) -> np.ndarray:
        """(H, W, 3) uint8 RGB: the base with every operation drawn in order (none when `clean`)."""
        return self.pixels(clean).copy()

    # --- drawing ----------------------------------------------------------------
    def add(self, op: Op) -> Canvas:
        """A new canvas with one more (fully resolved) operation."""
        return Canvas._make(self._base, (*self._ops, op))

    def box(
        self,
        box: Sequence[float],
        *,
        label: str | None = None,
        color: Color = None,
        width: int | None = None,
        normalized: bool = False,
    ) -> Canvas:
        """An outlined box (x0, y0, x1, y1; far edges exclusive), with an optional label tag."""
        x0, y0, x1, y1 = self._box_px(box, normalized)
        return self.add(
            BoxOp((x0, y0, x1, y1), self._color(color), width or self._line_width(), label or None, self._font_size())
        )

    def line(
        self,
        start: Sequence[float],
        end: Sequence[float],
        *,
        color: Color = None,
        width: int | None = None,
        normalized: bool = False,
        arrow: bool = False,
    ) -> Canvas:
        """A straight line; with `arrow` its head is at `end`."""
        return self.add(
            LineOp(
                self._point_px(start, normalized),
                self._point_px(end, normalized),
                self._color(color),
                width or self._line_width(),
                arrow,
            )
        )

    def arrow(self, start: Sequence[float], end: Sequence[float], **options: Any) -> Canvas:
        """An arrow from `start` pointing at `end`."""
        return self.line(start, end, arrow=True, **options)

    def mark(
        self, points: Sequence[Sequence[float]], *, color: Color = None, radius: int | None = None, normalized: bool = False
    ) -> Canvas:
        """Numbered discs at `points`, numbered on from the marks already on this canvas."""
        radius = radius or min(40, max(8, round(min(self.size) / 30)))
        return self.add(
            MarksOp(
                tuple(self._point_px(p, normalized) for p in points), last_mark_number(self._ops) + 1, self._color(color), radius
            )
        )

    def polygon(
        self,
        points: Sequence[Sequence[float]],
        *,
        color: Color = None,
        width: int | None = None,
        fill_alpha: float = 0.0,
        normalized: bool = False,
    ) -> Canvas:
        """A closed outline, filled with `fill_alpha` opacity of its colour (0: no fill)."""
        return self.add(
            PolygonOp(
                tuple(self._point_px(p, normalized) for p in points),
                self._color(color),
                width or self._line_width(),
                float(fill_alpha),
            )
        )

    def mask(self, mask: np.ndarray, *, color: Color = None, alpha: float = 0.4) -> Canvas:
        """Inside the (H, W) mask, out = (1 - alpha) * image + alpha * color (rounded half to even)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.height, self.width):
            raise ValueError(f"mask is {mask.shape}, the canvas is (height, width) {(self.height, self.width)}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha is an opacity from 0 to 1, got {alpha}")
        return self.add(MaskOp(MaskOp.encode(mask), self._color(color), float(alpha)))

    def label(
        self, point: Sequence[float], text: str, *, color: Color = None, size: int | None = None, normalized: bool = False
    ) -> Canvas:
        """A text tag whose top-left corner is at `point`."""
        return self.add(LabelOp(self._point_px(point, normalized), str(text), self._color(color), size or self._font_size()))

    def grid(self, rows: int, cols: int, *, color: Color = None) -> Canvas:
        """Cut the canvas into rows x cols cells tagged A1, B1, ... (column letter, row number)."""
        if not (1 <= rows <= MAX_GRID and 1 <= cols <= MAX_GRID):
            raise ValueError(f"a grid has 1 to {MAX_GRID} rows and columns, got {rows}x{cols}")
        cell = min(self.width / cols, self.height / rows)
        return self.add(GridOp(rows, cols, self._color(color), self._line_width(), min(24, max(8, round(cell / 5)))))

    def grid_cells(self) -> dict[str, Box]:
        """The cells of the latest grid drawn on this canvas, by name; {} when there is none."""
        grids = [op for op in self._ops if isinstance(op, GridOp)]
        return grids[-1].cells(self.size) if grids else {}

    # --- derived canvases -------------------------------------------------------
    def crop(self, box: Sequence[float], *, scale: float = 1.0, normalized: bool = False) -> Canvas:
        """A new canvas on the region `box` of this one (drawings included), enlarged by `scale`.

        The box is widened to whole pixels and clipped to the canvas. `to_parent` maps the new
        canvas's coordinates back: x = x0 + x' * crop_width / new_width (same for y).
        """
        x0, y0, x1, y1 = self._box_px(box, normalized)
        x0, y0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        x1, y1 = min(self.width, math.ceil(x1)), min(self.height, math.ceil(y1))
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"crop box {tuple(box)} holds no pixel of this {self.width}x{self.height} canvas")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number, got {scale}")
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        if max(size) > MAX_SIDE:
            raise ValueError(f"the crop would be {size[0]}x{size[1]} px; use a smaller scale")
        return Canvas._make(CropBase(self, (x0, y0, x1, y1), size))

    def to_parent(self, point: Sequence[float]) -> Point:
        """This canvas's point in its parent's coordinates (for a side by side: the frame under it)."""
        return self._derived_base().to_parent((float(point[0]), float(point[1])))[1]

    def from_parent(self, point: Sequence[float], panel: int = 0) -> Point:
        """A point of the parent (of panel `panel`'s frame, for a side by side) in this canvas's coordinates."""
        base = self._derived_base()
        if not 0 <= panel < len(base.parents):
            raise ValueError(f"panel {panel} does not exist; this canvas has {len(base.parents)}")
        return base.from_parent((float(point[0]), float(point[1])), panel)

    def panel_at(self, point: Sequence[float]) -> int | None:
        """Which parent the point comes from: the panel index for a side by side, 0 for a crop."""
        base = self._derived_base()
        return base.panel_at((float(point[0]), float(point[1]))) if isinstance(base, SideBySideBase) else 0

    def _derived_base(self) -> CropBase[Canvas] | SideBySideBase[Canvas]:
        if isinstance(self._base, ImageBase):
            raise ValueError("this canvas is an original image: it has no parent to map to")
        return self._base

    # --- JSON -------------------------------------------------------------------
    def to_dict(self, embed_image: bool | None = None) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "size": list(self.size),
            "base": self._base.to_dict(embed_image),
            "ops": [op_to_dict(op) for op in self._ops],
        }

    def to_json(self, embed_image: bool | None = None) -> str:
        """JSON that `from_json` replays to the same pixels. See the module docstring for `embed_image`."""
        return json.dumps(self.to_dict(embed_image), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Canvas:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a sketch in format {FORMAT}: format is {data.get('format')!r}")
        base_data = data["base"]
        kind = base_data.get("kind")
        base: Base
        if kind == "image":
            base = ImageBase.from_dict(base_data)
        elif kind == "crop":
            base = CropBase.from_dict(base_data, cls.from_dict)
        elif kind == "side_by_side":
            base = SideBySideBase.from_dict(base_data, cls.from_dict)
        else:
            raise ValueError(f"unknown canvas base {kind!r}")
        return cls._make(base, tuple(op_from_dict(op) for op in data["ops"]))

    @classmethod
    def from_json(cls, text: str) -> Canvas:
        return cls.from_dict(json.loads(text))

    # --- defaults that scale with the image ---------------------------------------
    def _color(self, color: Color) -> RGB:
        return resolve_color(color, index=len(self._ops))

    def _line_width(self) -> int:
        return max(1, round(min(self.size) / 200))

    def _font_size(self) -> int:
        return min(40, max(12, round(min(self.size) / 30)))

    def _point_px(self, point: Sequence[float], normalized: bool) -> Point:
        x, y = (float(v) for v in point)
        return (x * self.width, y * self.height) if normalized else (x, y)

    def _box_px(self, box: Sequence[float], normalized: bool) -> Box:
        x0, y0, x1, y1 = (float(v) for v in box)
        if normalized:
            x0, x1, y0, y1 = x0 * self.width, x1 * self.width, y0 * self.height, y1 * self.height
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"a box is (x0, y0, x1, y1) with x1 > x0 and y1 > y0, got {tuple(box)}")
        return (x0, y0, x1, y1)

    def __repr__(self) -> str:
        kind = type(self._base).__name__.strip("_").removesuffix("Base").lower()
        return f"Canvas({kind}, {self.width}x{self.height}, {len(self._ops)} ops)"


def side_by_side(
    frames: Sequence[Canvas | np.ndarray | Image.Image],
    *,
    times: Sequence[float] | None = None,
    captions: Sequence[str] | None = None,
    height: int | None = None,
) -> Canvas:
    """Frames in a row at one height, each captioned with its time (or `captions`); a new canvas.

    Frames keep their drawings. `panel_at(point)` tells which frame a point lies on and
    `to_parent(point)` gives it in that frame's coordinates.
    """
    canvases = [f if isinstance(f, Canvas) else Canvas(f) for f in frames]
    if not canvases:
        raise ValueError("side_by_side needs at least one frame")
    if captions is None:
        captions = [format_time(t) for t in times] if times is not None else [str(i + 1) for i in range(len(canvases))]
    if len(captions) != len(canvases):
        raise ValueError(f"{len(canvases)} frames but {len(captions)} captions or times")
    return Canvas._make(SideBySideBase.layout(canvases, list(captions), height))
