"""The three things a canvas can be drawn over: an image, a crop of another canvas, frames side by side.

Each base gives its pixels (`image`), maps points to and from the canvases it came from
(`to_parent` / `from_parent`), and writes and reads its JSON. A crop or a side by side
holds canvases; they reach this module as `Layer`s, so it needs nothing of `Canvas` itself
and the canvas module can import it without a cycle.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
from PIL import Image, ImageDraw

from perception.errors import ImageError
from perception.rgb import as_rgb
from sketchpad.ops import Point, font

MAX_SIDE = 16384
MAX_PIXELS = 100_000_000


class Layer(Protocol):
    """What a base needs of a canvas it shows: its size, its pixels and its JSON."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def pixels(self, clean: bool = False) -> np.ndarray: ...

    def to_dict(self, embed_image: bool | None = None) -> dict[str, Any]: ...


L = TypeVar("L", bound=Layer)


def base_pixels(image: np.ndarray | Image.Image) -> np.ndarray:
    """A read-only copy of `image` as RGB (see `perception.rgb.as_rgb`), within the sketchpad's size limits."""
    pixels = as_rgb(image)
    height, width = pixels.shape[:2]
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(f"the image is {width}x{height}; the sketchpad takes at most {MAX_SIDE} px a side")
    pixels = pixels.copy()
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
class ImageBase:
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
    def from_dict(cls, data: dict[str, Any]) -> ImageBase:
        source = data.get("source")
        if "png" in data:
            with Image.open(io.BytesIO(base64.b64decode(data["png"]))) as image:
                pixels = base_pixels(image)
        else:
            pixels = open_rgb(source)
        if "sha256" in data and _pixel_digest(pixels) != data["sha256"]:
            raise ImageError(f"the image {source or '(embedded)'} has changed since this sketch was saved")
        return cls(pixels, source)


@dataclass(frozen=True, eq=False)
class CropBase(Generic[L]):
    parent: L
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
    def parents(self) -> tuple[L, ...]:
        return (self.parent,)

    def to_dict(self, embed: bool | None) -> dict[str, Any]:
        return {"kind": "crop", "parent": self.parent.to_dict(embed), "box": list(self.box), "size": list(self.size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], load: Callable[[dict[str, Any]], L]) -> CropBase[L]:
        return cls(load(data["parent"]), tuple(data["box"]), tuple(data["size"]))


@dataclass(frozen=True, eq=False)
class Panel(Generic[L]):
    canvas: L
    caption: str
    box: tuple[int, int, int, int]  # where the frame sits in the mosaic, far edges exclusive


@dataclass(frozen=True, eq=False)
class SideBySideBase(Generic[L]):
    panels: tuple[Panel[L], ...]
    size: tuple[int, int]
    caption_size: int

    BACKGROUND = (24, 24, 24)
    CAPTION_INK = (255, 255, 255)

    @classmethod
    def layout(cls, frames: Sequence[L], captions: Sequence[str], height: int | None) -> SideBySideBase[L]:
        height = height or min(frame.height for frame in frames)
        gap = max(4, height // 60)
        caption_size = min(32, max(12, round(height / 14)))
        panels: list[Panel[L]] = []
        x = 0
        for frame, caption in zip(frames, captions, strict=True):
            width = max(1, round(frame.width * height / frame.height))
            panels.append(Panel(frame, caption, (x, 0, x + width, height)))
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
    def parents(self) -> tuple[L, ...]:
        return tuple(panel.canvas for panel in self.panels)

    def to_dict(self, embed: bool | None) -> dict[str, Any]:
        return {
            "kind": "side_by_side",
            "height": self.panels[0].box[3],
            "panels": [{"canvas": p.canvas.to_dict(embed), "caption": p.caption} for p in self.panels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], load: Callable[[dict[str, Any]], L]) -> SideBySideBase[L]:
        frames = [load(p["canvas"]) for p in data["panels"]]
        return cls.layout(frames, [p["caption"] for p in data["panels"]], data["height"])


def open_rgb(path: str | Path | None) -> np.ndarray:
    if path is None:
        raise ImageError("the sketch refers to no image: neither a source path nor an embedded PNG")
    try:
        with Image.open(path) as image:
            return base_pixels(image)
    except (OSError, Image.DecompressionBombError) as err:
        raise ImageError(f"cannot read image {path}: {err}") from err
