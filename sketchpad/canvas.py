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

import base64
import hashlib
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from perception.errors import ImageError
from perception.rgb import as_rgb as perception_rgb
from perception.timefmt import format_time
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
    font,
    last_mark_number,
    op_from_dict,
    op_to_dict,
)
from sketchpad.palette import RGB, resolve_color

FORMAT = "longshot.sketch/1"
MAX_SIDE = 16384
MAX_PIXELS = 100_000_000
Color = str | Sequence[int] | None


def as_rgb(image: np.ndarray | Image.Image) -> np.ndarray:
    """A read-only (H, W, 3) uint8 copy of an RGB, grey or RGBA image; ImageError otherwise."""
    if isinstance(image, Image.Image):
        pixels = np.asarray(image.convert("RGB"))
    elif isinstance(image, np.ndarray):
        pixels = perception_rgb(image)
    else:
        raise ImageError(f"expected a numpy array or PIL image, got {type(image).__name__}")
    height, width = pixels.shape[:2]
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(f"the image is {width}x{height}; the sketchpad takes at most {MAX_SIDE} px a side")
    pixels = np.ascontiguousarray(pixels).copy()
    pixels.setflags(write=False)
    return pixels


def _pixel_digest(pixels: np.ndarray) -> str:
    return hashlib.sha256(f"{pixels.shape}".encode() + pixels.tobytes()).hexdigest()


def _png_base64(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (pixels.shape[1], pixels.shape[0]) == size:
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


@dataclass(frozen=True, eq=False)
class _ImageBase:
    pixels: np.ndarray
    source: str | None

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[1], self.pixels.shape[0]

    def image(self, clean: bool) -> np.ndarray:
        return self.pixels

    def to_dict(self, embed: bool | None) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": "image", "source": self.source, "sha256": _pixel_digest(self.pixels)}
        if embed is False and self.source is None:
            raise ValueError("this canvas's image has no source file to refer to; use embed_image=True")
        if embed or self.source is None:
            data["png"] = _png_base64(self.pixels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _ImageBase:
        source = data.get("source")
        if "png" in data:
            with Image.open(io.BytesIO(base64.b64decode(data["png"]))) as image:
                pixels = as_rgb(image)
        else:
            pixels = _open_rgb(source)
        if "sha256" in data and _pixel_digest(pixels) != data["sha256"]:
            raise ImageError(f"the image {source or '(embedded)'} has changed since this sketch was saved")
        return cls(pixels, source)


@dataclass(frozen=True, eq=False)
class _CropBase:
    parent: Canvas
    box: tuple[int, int, int, int]  # whole pixels of the parent, far edges exclusive
    size: tuple[int, int]

    def image(self, clean: bool) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        return _resize(self.parent.pixels(clean)[y0:y1, x0:x1], self.size)

    def _scale(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return self.size[0] / (x1 - x0), self.size[1] / (y1 - y0)

    def to_parent(self, point: Point) -> tuple[int, Point]:
        sx, sy = self._scale()
        return 0, (self.box[0] + point[0] / sx, self.box[1] + point[1] / sy)

    def from_parent(self, point: Point, index: int) -> Point:
        sx, sy = self._scale()
        return ((point[0] - self.box[0]) * sx, (point[1] - self.box[1]) * sy)

    @property
    def parents(self) -> tuple[Canvas, ...]:
        return (self.parent,)

    def to_dict(self, embed: bool | None) -> dict[str, Any]:
        return {"kind": "crop", "parent": self.parent.to_dict(embed), "box": list(self.box), "size": list(self.size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _CropBase:
        return cls(Canvas.from_dict(data["parent"]), tuple(data["box"]), tuple(data["size"]))


@dataclass(frozen=True, eq=False)
class _Panel:
    canvas: Canvas
    caption: str
    box: tuple[int, int, int, int]  # where the frame sits in the mosaic, far edges exclusive


@dataclass(frozen=True, eq=False)
class _SideBySideBase:
    panels: tuple[_Panel, ...]
    size: tuple[int, int]
    caption_size: int

    BACKGROUND = (24, 24, 24)
    CAPTION_INK = (255, 255, 255)

    @classmethod
    def layout(cls, frames: Sequence[Canvas], captions: Sequence[str], height: int | None) -> _SideBySideBase:
        height = height or min(frame.height for frame in frames)
        gap = max(4, height // 60)
        caption_size = min(32, max(12, round(height / 14)))
        panels, x = [], 0
        for frame, caption in zip(frames, captions, strict=True):
            width = max(1, round(frame.width * height / frame.height))
            panels.append(_Panel(frame, caption, (x, 0, x + width, height)))
            x += width + gap
        size = (x - gap, height + round(caption_size * 1.6))
        if max(size) > MAX_SIDE:
            raise ValueError(f"side by side would be {size[0]}x{size[1]} px; pass a smaller height or fewer frames")
        return cls(tuple(panels), size, caption_size)

    def image(self, clean: bool) -> np.ndarray:
        image = Image.new("RGB", self.size, self.BACKGROUND)
        draw = ImageDraw.Draw(image)
        caption_y = (self.panels[0].box[3] + self.size[1]) / 2
        for panel in self.panels:
            x0, y0, x1, y1 = panel.box
            image.paste(Image.fromarray(_resize(panel.canvas.pixels(clean), (x1 - x0, y1 - y0))), (x0, y0))
            draw.text(((x0 + x1) / 2, caption_y), panel.caption, fill=self.CAPTION_INK, font=font(self.caption_size), anchor="mm")
        return np.asarray(image)

    def _scale(self, index: int) -> tuple[float, float]:
        panel = self.panels[index]
        x0, y0, x1, y1 = panel.box
        return (x1 - x0) / panel.canvas.width, (y1 - y0) / panel.canvas.height

    def panel_at(self, point: Point) -> int | None:
        x, y = point
        for index, panel in enumerate(self.panels):
            x0, y0, x1, y1 = panel.box
            if x0 <= x < x1 and y0 <= y < y1:
                return index
        return None

    def to_parent(self, point: Point) -> tuple[int, Point]:
        index = self.panel_at(point)
        if index is None:
            raise ValueError(f"point {tuple(point)} is in no panel (a gap or a caption)")
        sx, sy = self._scale(index)
        x0, y0 = self.panels[index].box[:2]
        return index, ((point[0] - x0) / sx, (point[1] - y0) / sy)

    def from_parent(self, point: Point, index: int) -> Point:
        sx, sy = self._scale(index)
        x0, y0 = self.panels[index].box[:2]
        return (x0 + point[0] * sx, y0 + point[1] * sy)

    @property
    def parents(self) -> tuple[Canvas, ...]:
        return tuple(panel.canvas for panel in self.panels)

    def to_dict(self, embed: bool | None) -> dict[str, Any]:
        return {
            "kind": "side_by_side",
            "height": self.panels[0].box[3],
            "panels": [{"canvas": p.canvas.to_dict(embed), "caption": p.caption} for p in self.panels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _SideBySideBase:
        frames = [Canvas.from_dict(p["canvas"]) for p in data["panels"]]
        return cls.layout(frames, [p["caption"] for p in data["panels"]], data["height"])


_Base = _ImageBase | _CropBase | _SideBySideBase
_BASES: dict[str, Any] = {"image": _ImageBase, "crop": _CropBase, "side_by_side": _SideBySideBase}


def _open_rgb(path: str | Path | None) -> np.ndarray:
    if path is None:
        raise ImageError("the sketch refers to no image: neither a source path nor an embedded PNG")
    try:
        with Image.open(path) as image:
            return as_rgb(image)
    except (OSError, Image.DecompressionBombError) as err:
        raise ImageError(f"cannot read image {path}: {err}") from err


class Canvas:
    """A base image and the drawing operations on it, in order. Immutable: drawing returns a new canvas."""

    __slots__ = ("_base", "_ops", "_pixels")

    def __init__(self, image: np.ndarray | Image.Image, *, source: str | Path | None = None):
        self._init(_ImageBase(as_rgb(image), str(source) if source is not None else None), ())

    def _init(self, base: _Base, ops: tuple[Op, ...]) -> None:
        self._base = base
        self._ops = ops
        self._pixels: dict[bool, np.ndarray] = {}

    @classmethod
    def _make(cls, base: _Base, ops: tuple[Op, ...] = ()) -> Canvas:
        canvas = cls.__new__(cls)
        canvas._init(base, ops)
        return canvas

    @classmethod
    def open(cls, path: str | Path) -> Canvas:
        """A canvas on an image file, remembering the file so JSON can refer to it."""
        return cls(_open_rgb(path), source=Path(path).resolve())

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
        return self._base.source if isinstance(self._base, _ImageBase) else None

    @property
    def parents(self) -> tuple[Canvas, ...]:
        """The canvas a crop was cut from, or the frames of a side by side; () for an original image."""
        return () if isinstance(self._base, _ImageBase) else self._base.parents

    @property
    def panel_boxes(self) -> tuple[tuple[int, int, int, int], ...]:
        """Where each parent appears on this canvas (x0, y0, x1, y1): one box per panel, the whole canvas for a crop."""
        if isinstance(self._base, _SideBySideBase):
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
        return Canvas._make(_CropBase(self, (x0, y0, x1, y1), size))

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
        return base.panel_at((float(point[0]), float(point[1]))) if isinstance(base, _SideBySideBase) else 0

    def _derived_base(self) -> _CropBase | _SideBySideBase:
        if isinstance(self._base, _ImageBase):
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
        if base_data.get("kind") not in _BASES:
            raise ValueError(f"unknown canvas base {base_data.get('kind')!r}")
        base = _BASES[base_data["kind"]].from_dict(base_data)
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
    return Canvas._make(_SideBySideBase.layout(canvases, list(captions), height))
