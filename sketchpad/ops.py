"""Drawing operations: frozen values that draw themselves, and their JSON form.

Every operation is fully resolved when it is made (pixel coordinates, RGB colour, line
width, font size), so replaying the same list on the same image gives the same pixels.

Conventions. A point (x, y) is the pixel at column x, row y. A box (x0, y0, x1, y1) has
exclusive far edges, like a detector's box: it covers columns x0 .. x1-1 and rows
y0 .. y1-1, and its outline is drawn inside it. Coordinates are rounded to whole pixels
only when drawn.
"""

from __future__ import annotations

import base64
import io
import math
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sketchpad.palette import RGB, text_color_on

Point = tuple[float, float]
Box = tuple[float, float, float, float]
MAX_GRID = len(string.ascii_uppercase)


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at `size` px: no font files to ship, the same glyphs everywhere."""
    return ImageFont.load_default(size=size)


def _xy(point: Point) -> tuple[int, int]:
    return round(point[0]), round(point[1])


def pixel_box(box: Box) -> tuple[int, int, int, int]:
    """Inclusive pixel bounds (what PIL draws) of a box with exclusive far edges."""
    x0, y0, x1, y1 = (round(v) for v in box)
    return x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)


def blend(pixels: np.ndarray, mask: np.ndarray, color: RGB, alpha: float) -> None:
    """In place, inside `mask`: out = (1 - alpha) * pixels + alpha * color, in float64, rounded half to even."""
    inside = pixels[mask].astype(np.float64)
    mixed = (1.0 - alpha) * inside + alpha * np.asarray(color, dtype=np.float64)
    pixels[mask] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def draw_tag(image: Image.Image, corner: Point, text: str, fill: RGB, size: int, *, above: bool = False) -> Box:
    """Text on a filled box with a contrasting outline, legible on any background.

    The tag's top-left corner is `corner` (or its bottom-left when `above`), moved as
    little as needed to keep the whole tag inside the image. Returns the tag's box.
    """
    draw = ImageDraw.Draw(image)
    face = font(size)
    # Pillow types the box as floats; from the origin, with our fonts, it is whole pixels.
    left, top, right, bottom = (int(edge) for edge in draw.textbbox((0, 0), text, font=face))
    pad = max(2, size // 5)
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    x, y = _xy(corner)
    if above:
        y = y - height if y - height >= 0 else y
    x = min(max(0, x), max(0, image.width - width))
    y = min(max(0, y), max(0, image.height - height))
    ink = text_color_on(fill)
    draw.rectangle((x, y, x + width - 1, y + height - 1), fill=fill, outline=ink)
    draw.text((x + pad - left, y + pad - top), text, fill=ink, font=face)
    return (x, y, x + width, y + height)


def grid_edges(length: int, parts: int) -> list[int]:
    """Where the `parts` equal cells along one side begin and end: parts + 1 pixel positions."""
    return [round(i * length / parts) for i in range(parts + 1)]


def cell_name(row: int, col: int) -> str:
    """Spreadsheet style: column letter, then row number from 1 (the top-left cell is A1)."""
    return f"{string.ascii_uppercase[col]}{row + 1}"


def grid_cells(size: tuple[int, int], rows: int, cols: int) -> dict[str, Box]:
    """Each cell's name and box, row by row from the top left."""
    xs, ys = grid_edges(size[0], cols), grid_edges(size[1], rows)
    return {cell_name(r, c): (xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(rows) for c in range(cols)}


@dataclass(frozen=True)
class BoxOp:
    """A rectangle outline, with an optional label tag just above it (inside when there is no room)."""

    kind: ClassVar[str] = "box"
    box: Box
    color: RGB
    width: int
    label: str | None = None
    label_size: int = 12

    def draw(self, image: Image.Image) -> None:
        x0, y0, x1, y1 = pixel_box(self.box)
        ImageDraw.Draw(image).rectangle((x0, y0, x1, y1), outline=self.color, width=self.width)
        if self.label:
            draw_tag(image, (x0, y0), self.label, self.color, self.label_size, above=True)


@dataclass(frozen=True)
class LineOp:
    """A straight line from `start` to `end`; an arrow when `arrow`, with its head at `end`."""

    kind: ClassVar[str] = "line"
    start: Point
    end: Point
    color: RGB
    width: int
    arrow: bool = False

    def draw(self, image: Image.Image) -> None:
        draw = ImageDraw.Draw(image)
        (sx, sy), (ex, ey) = _xy(self.start), _xy(self.end)
        length = math.hypot(ex - sx, ey - sy)
        if not self.arrow or length == 0:
            draw.line((sx, sy, ex, ey), fill=self.color, width=self.width)
            return
        head = min(length, max(8.0, 4.0 * self.width))
        ux, uy = (ex - sx) / length, (ey - sy) / length
        bx, by = ex - ux * head, ey - uy * head  # middle of the head's base
        half = head * math.tan(math.radians(25))
        tip_and_base = [(ex, ey), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]
        draw.line((sx, sy, round(bx), round(by)), fill=self.color, width=self.width)
        draw.polygon([_xy(p) for p in tip_and_base], fill=self.color)


@dataclass(frozen=True)
class MarksOp:
    """Numbered discs (set-of-marks prompting): a model can say "mark 3" instead of coordinates."""

    kind: ClassVar[str] = "marks"
    points: tuple[Point, ...]
    start: int
    color: RGB
    radius: int

    def numbered(self) -> list[tuple[int, Point]]:
        return [(self.start + i, p) for i, p in enumerate(self.points)]

    def draw(self, image: Image.Image) -> None:
        draw = ImageDraw.Draw(image)
        ink = text_color_on(self.color)
        r = self.radius
        for number, point in self.numbered():
            x, y = _xy(point)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=self.color, outline=ink, width=max(1, r // 6))
            text = str(number)
            draw.text((x, y), text, fill=ink, font=font(_fitting_size(text, r)), anchor="mm")


def _fitting_size(text: str, radius: int) -> int:
    """The largest font size (down from 1.3 x radius) whose text fits across 1.5 x radius."""
    size = max(6, round(1.3 * radius))
    while size > 6 and font(size).getlength(text) > 1.5 * radius:
        size -= 1
    return size


@dataclass(frozen=True)
class PolygonOp:
    """A closed outline through `points`, optionally filled with a translucent colour."""

    kind: ClassVar[str] = "polygon"
    points: tuple[Point, ...]
    color: RGB
    width: int
    fill_alpha: float = 0.0

    def draw(self, image: Image.Image) -> None:
        corners = [_xy(p) for p in self.points]
        if self.fill_alpha > 0:
            inside = Image.new("1", image.size, 0)
            ImageDraw.Draw(inside).polygon(corners, fill=1)
            _blend_into(image, np.asarray(inside, dtype=bool), self.color, self.fill_alpha)
        ImageDraw.Draw(image).polygon(corners, outline=self.color, width=self.width)


@dataclass(frozen=True)
class MaskOp:
    """A translucent colour over the pixels of a mask; the mask travels as a 1-bit PNG in base64."""

    kind: ClassVar[str] = "mask"
    mask: str
    color: RGB
    alpha: float

    @staticmethod
    def encode(mask: np.ndarray) -> str:
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(mask, dtype=bool)).save(buffer, format="PNG", optimize=False)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def array(self) -> np.ndarray:
        """The mask as a (H, W) bool array."""
        with Image.open(io.BytesIO(base64.b64decode(self.mask))) as image:
            return np.asarray(image.convert("1"), dtype=bool)

    def draw(self, image: Image.Image) -> None:
        _blend_into(image, self.array(), self.color, self.alpha)


def _blend_into(image: Image.Image, mask: np.ndarray, color: RGB, alpha: float) -> None:
    pixels = np.array(image)
    blend(pixels, mask, color, alpha)
    image.paste(Image.fromarray(pixels))


@dataclass(frozen=True)
class LabelOp:
    """A text tag whose top-left corner is at `point` (kept inside the image)."""

    kind: ClassVar[str] = "label"
    point: Point
    text: str
    color: RGB
    size: int

    def draw(self, image: Image.Image) -> None:
        draw_tag(image, self.point, self.text, self.color, self.size)


@dataclass(frozen=True)
class GridOp:
    """Lines that cut the image into rows x cols equal cells, each tagged with its name (A1, B1, ...)."""

    kind: ClassVar[str] = "grid"
    rows: int
    cols: int
    color: RGB
    width: int
    label_size: int

    def cells(self, size: tuple[int, int]) -> dict[str, Box]:
        return grid_cells(size, self.rows, self.cols)

    def draw(self, image: Image.Image) -> None:
        draw = ImageDraw.Draw(image)
        xs, ys = grid_edges(image.width, self.cols), grid_edges(image.height, self.rows)
        for x in xs[1:-1]:
            draw.line((x, 0, x, image.height - 1), fill=self.color, width=self.width)
        for y in ys[1:-1]:
            draw.line((0, y, image.width - 1, y), fill=self.color, width=self.width)
        for name, (x0, y0, _, _) in self.cells(image.size).items():
            draw_tag(image, (x0 + self.width, y0 + self.width), name, self.color, self.label_size)


Op = BoxOp | LineOp | MarksOp | PolygonOp | MaskOp | LabelOp | GridOp
OPS: dict[str, type[Op]] = {cls.kind: cls for cls in (BoxOp, LineOp, MarksOp, PolygonOp, MaskOp, LabelOp, GridOp)}


def op_to_dict(op: Op) -> dict[str, Any]:
    """The JSON form: {"op": kind, field: value, ...} with tuples as lists."""
    return {"op": op.kind, **{f.name: _listed(getattr(op, f.name)) for f in fields(op)}}


def op_from_dict(data: Mapping[str, Any]) -> Op:
    """Inverse of `op_to_dict`."""
    values = dict(data)
    kind = values.pop("op", None)
    if kind not in OPS:
        raise ValueError(f"unknown sketch operation {kind!r}; known: {', '.join(OPS)}")
    return OPS[kind](**{name: _tupled(value) for name, value in values.items()})


def _listed(value: Any) -> Any:
    return [_listed(v) for v in value] if isinstance(value, tuple) else value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def last_mark_number(ops: Iterable[Op]) -> int:
    """The highest mark number drawn so far (0 when none), so new marks continue the numbering."""
    return max((op.start + len(op.points) - 1 for op in ops if isinstance(op, MarksOp)), default=0)
