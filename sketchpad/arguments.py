"""The trust boundary: tool arguments sent by a model, checked against a schema and the image.

Arguments arrive as whatever a model wrote. They are turned into JSON first (so only
JSON can pass: no NaN, no infinity, no objects), validated strictly by a pydantic model
per tool (no extra keys, no strings for numbers, no booleans for integers), then checked
against the canvas: boxes partly outside the image are clipped, boxes wholly outside or
inside out are refused, points must lie on the image. Every refusal is a
ToolArgumentError whose message says what to send instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from perception.errors import ToolArgumentError
from sketchpad.ops import Box, Point
from sketchpad.palette import COLOR_NAMES

MAX_POINTS = 64
MAX_TEXT = 100
MAX_GRID_CELLS = 12
MAX_FRAMES = 8
MAX_OUTPUT_SIDE = 4096
MAX_ARGUMENT_CHARS = 20_000

Number = Annotated[float, Field(allow_inf_nan=False)]
PointArg = Annotated[list[Number], Field(min_length=2, max_length=2, description="[x, y]")]
BoxArg = Annotated[list[Number], Field(min_length=4, max_length=4, description="[x0, y0, x1, y1]: top-left, then bottom-right")]
ColorArg = Literal[COLOR_NAMES]  # type: ignore[valid-type]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class Arguments(BaseModel):
    """Strict: exactly the declared keys, each of exactly its JSON type."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class OnImage(Arguments):
    normalized: bool = Field(False, description="coordinates are fractions 0-1 of width and height instead of pixels")


class ColorChoice(Arguments):
    color: ColorArg | None = Field(None, description="colour name; a different one per drawing when left out")


class BoxArguments(OnImage, ColorChoice):
    box: BoxArg
    label: Text | None = Field(None, description="text shown on a tag above the box")
    width: int | None = Field(None, ge=1, le=20, description="outline width in pixels")


class LineArguments(OnImage, ColorChoice):
    start: PointArg
    end: PointArg
    width: int | None = Field(None, ge=1, le=20, description="line width in pixels")


class MarkArguments(OnImage, ColorChoice):
    points: list[PointArg] = Field(min_length=1, max_length=MAX_POINTS, description="[[x, y], ...]")


class PolygonArguments(OnImage, ColorChoice):
    points: list[PointArg] = Field(min_length=3, max_length=MAX_POINTS, description="corners, [[x, y], ...]")
    width: int | None = Field(None, ge=1, le=20, description="outline width in pixels")
    fill: bool = Field(False, description="fill with a translucent colour")


class LabelArguments(OnImage, ColorChoice):
    point: PointArg = Field(description="[x, y] of the tag's top-left corner")
    text: Text


class GridArguments(ColorChoice):
    rows: int = Field(ge=1, le=MAX_GRID_CELLS)
    cols: int = Field(ge=1, le=MAX_GRID_CELLS)


class RegionChoice(OnImage):
    box: BoxArg | None = Field(None, description="the region; give box or cell, not both")
    cell: str | None = Field(None, pattern=r"^[A-Z][0-9]{1,2}$", description="a grid cell such as B2")


class CropArguments(RegionChoice):
    scale: Number | None = Field(
        None, ge=0.1, le=8, description="enlargement factor; default: enlarge small regions to about 512 px (at most 4x)"
    )


class DetectArguments(OnImage):
    labels: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=32, description='object classes to keep, e.g. ["person", "car"]; all when left out'
    )
    min_score: Number = Field(0.25, ge=0, le=1, description="lowest confidence to keep")
    region: BoxArg | None = Field(None, description="look only inside this box; the whole image when left out")


class OCRArguments(OnImage):
    region: BoxArg | None = Field(None, description="read only inside this box; the whole image when left out")


class SegmentArguments(OnImage):
    box: BoxArg | None = Field(None, description="a box around the object; give box or point")
    point: PointArg | None = Field(None, description="a point on the object; give box or point")


class SideBySideArguments(Arguments):
    times: list[Number] = Field(min_length=2, max_length=MAX_FRAMES, description="seconds into the video")

    @field_validator("times")
    @classmethod
    def _not_negative(cls, times: list[float]) -> list[float]:
        if any(t < 0 for t in times):
            raise ValueError("times are seconds from the start of the video, so not negative")
        return times


def parse_arguments(tool: str, model: type[Arguments], raw: Any) -> Arguments:
    """`raw` (whatever a model sent) as a validated `model`, or ToolArgumentError saying what is wrong."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ToolArgumentError(f"{tool}: arguments must be a JSON object, got {type(raw).__name__}. {usage(tool, model)}")
    try:
        text = json.dumps(raw, allow_nan=False)
    except ValueError as err:
        raise ToolArgumentError(
            f"{tool}: numbers must be finite and of sensible size (no NaN, infinity or thousand-digit integers): {err}"
        ) from None
    except (TypeError, RecursionError) as err:
        raise ToolArgumentError(f"{tool}: arguments must be plain JSON values: {err}") from None
    if len(text) > MAX_ARGUMENT_CHARS:
        raise ToolArgumentError(f"{tool}: arguments are {len(text)} characters; at most {MAX_ARGUMENT_CHARS}")
    try:
        return model.model_validate_json(text)
    except ValidationError as err:
        problems = "; ".join(_describe(e) for e in err.errors()[:4])
        raise ToolArgumentError(f"{tool}: {problems}. {usage(tool, model)}") from None


def _describe(error: Any) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".") or "arguments"
    if error["type"] == "extra_forbidden":
        return f"{where} is not an argument of this tool"
    return f"{where}: {error['msg']}"


SHARED_LAST = ("color", "normalized")


def argument_order(model: type[Arguments]) -> list[str]:
    """Required arguments first, then the tool's own options, then the options every tool shares."""
    fields = model.model_fields
    return sorted(fields, key=lambda name: (not fields[name].is_required(), name in SHARED_LAST))


def usage(tool: str, model: type[Arguments]) -> str:
    """A one-line reminder of the arguments, e.g. `box(box, label?, width?, color?, normalized?)`."""
    fields = model.model_fields
    names = [name if fields[name].is_required() else f"{name}?" for name in argument_order(model)]
    return f"Usage: {tool}({', '.join(names)})."


def shown(values: Sequence[float]) -> str:
    """Numbers as a model would write them: [10, 20.5, 1e+09]."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


class ImageBounds:
    """Checks coordinates against one image (width x height) and turns them into pixels."""

    def __init__(self, tool: str, size: tuple[int, int], normalized: bool):
        self.tool, self.size, self.normalized = tool, size, normalized

    def _extent(self) -> str:
        w, h = self.size
        if self.normalized:
            return f"normalized coordinates run from 0 to 1 (the image is {w}x{h} px)"
        return f"the image is {w}x{h} px: x from 0 to {w}, y from 0 to {h}"

    def _scaled(self, values: Sequence[float]) -> list[float]:
        if not self.normalized:
            return list(values)
        w, h = self.size
        return [v * (w if i % 2 == 0 else h) for i, v in enumerate(values)]

    def box(self, raw: Sequence[float], name: str = "box") -> tuple[Box, bool]:
        """Pixels of a box clipped to the image, and whether clipping changed it."""
        x0, y0, x1, y1 = self._scaled(raw)
        if x1 <= x0 or y1 <= y0:
            raise ToolArgumentError(
                f"{self.tool}: {name} {shown(raw)} is inside out or empty: send [x0, y0, x1, y1] with x1 > x0 and y1 > y0"
            )
        w, h = self.size
        if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
            raise ToolArgumentError(f"{self.tool}: {name} {shown(raw)} lies wholly outside the image; {self._extent()}")
        clipped = (max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1))
        return clipped, clipped != (x0, y0, x1, y1)

    def point(self, raw: Sequence[float], name: str = "point") -> Point:
        x, y = self._scaled(raw)
        w, h = self.size
        if not (0 <= x <= w and 0 <= y <= h):
            raise ToolArgumentError(f"{self.tool}: {name} {shown(raw)} is outside the image; {self._extent()}")
        return (x, y)

    def points(self, raw: Sequence[Sequence[float]], name: str = "points") -> list[Point]:
        return [self.point(p, f"{name}[{i}]") for i, p in enumerate(raw)]


def crop_scale(tool: str, requested: float | None, region: tuple[int, int]) -> float:
    """The enlargement for a crop of `region` (w, h) px.

    By default small regions grow to about 512 px (at most 4x) and huge ones shrink to
    MAX_OUTPUT_SIDE; a requested scale that would pass MAX_OUTPUT_SIDE is refused.
    """
    longer = max(region)
    if requested is None:
        return min(4.0, max(1.0, 512 / longer), MAX_OUTPUT_SIDE / longer)
    if longer * requested > MAX_OUTPUT_SIDE:
        raise ToolArgumentError(
            f"{tool}: scale {requested:g} would make a {math.ceil(longer * requested)} px side; "
            f"at most {MAX_OUTPUT_SIDE}, so use scale <= {MAX_OUTPUT_SIDE / longer:.2f}"
        )
    return requested
