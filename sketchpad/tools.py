"""Vision tools the agent draws with: one registry of name, description, argument schema, function.

`tool_schemas()` lists every tool as {"name", "description", "parameters"} (a JSON schema),
so a VLM policy's prompt is generated from the same data that validates the call.
`run_tool(name, args, canvas, context)` validates untrusted `args` (see `arguments.py`),
runs the tool and returns a ToolResult: the new canvas with the result drawn on it,
structured data in the canvas's pixel coordinates, and a one-paragraph summary.

Tools that need a model take it from a ToolContext, read only when such a tool runs, so
the sketchpad never builds a model itself. Nothing a model sends is ever executed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from perception.errors import ModelOutputError, ModelUnavailableError, ToolArgumentError
from sketchpad.arguments import (
    MAX_OUTPUT_SIDE,
    Arguments,
    BoxArguments,
    CropArguments,
    DetectArguments,
    GridArguments,
    ImageBounds,
    LabelArguments,
    LineArguments,
    MarkArguments,
    OCRArguments,
    OnImage,
    PolygonArguments,
    RegionChoice,
    SegmentArguments,
    SideBySideArguments,
    argument_order,
    crop_scale,
    parse_arguments,
    shown,
)
from sketchpad.canvas import Canvas, side_by_side
from sketchpad.ops import Box, last_mark_number
from sketchpad.palette import RGB, color_for

SUMMARY_ITEMS = 10
MOSAIC_HEIGHT = 480  # side by side: frames at most this tall, and the row at most MAX_OUTPUT_SIDE wide
MAX_DRAWN = 50  # detections or text lines drawn and listed, best first; more would hide the image


class FrameBatchLike(Protocol):
    """Read-only members, so frozen dataclasses (perception's FrameBatch included) fit."""

    @property
    def frames(self) -> np.ndarray: ...  # (N, H, W, 3) uint8 RGB

    @property
    def times(self) -> np.ndarray: ...  # (N,) seconds


class FrameSource(Protocol):
    """Frames of the video being looked at (a VideoReader or a frame store adapter)."""

    duration: float

    def frames_at(self, times: Sequence[float]) -> FrameBatchLike: ...


@dataclass(frozen=True)
class ToolContext:
    """What model-backed tools may use, looked up only when such a tool runs.

    `models` is anything with the attributes `detector`, `ocr` and, where one exists,
    `segmenter` (perception.models.Models fits); an attribute that raises
    ModelUnavailableError, is missing or is None makes that tool unavailable.
    `frames` serves `side_by_side`.
    """

    models: Any = None
    frames: FrameSource | None = None

    def model(self, role: str, attribute: str) -> Any:
        if self.models is None:
            raise ModelUnavailableError(role, "the sketchpad was given no models", "pass ToolContext(models=...)")
        found = getattr(self.models, attribute, None)
        if found is None:
            raise ModelUnavailableError(role, f"no {role} model is configured")
        return found


@dataclass(frozen=True)
class ToolResult:
    canvas: Canvas
    data: dict[str, Any]
    summary: str


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[Arguments]
    function: Callable[[str, Any, Canvas, ToolContext], ToolResult]

    @property
    def schema(self) -> dict[str, Any]:
        """{"name", "description", "parameters"}: the shape function-calling APIs expect."""
        parameters = _tidy(self.arguments.model_json_schema())
        properties = parameters["properties"]
        parameters["properties"] = {name: properties[name] for name in argument_order(self.arguments)}
        return {"name": self.name, "description": self.description, "parameters": parameters}


TOOLS: dict[str, Tool] = {}


def _register(name: str, description: str, arguments: type[Arguments]):
    def register(function: Callable[[str, Any, Canvas, ToolContext], ToolResult]):
        TOOLS[name] = Tool(name, description, arguments, function)
        return function

    return register


def tool_schemas() -> list[dict[str, Any]]:
    """Every tool as {"name", "description", "parameters": JSON schema}, in registry order."""
    return [tool.schema for tool in TOOLS.values()]


def run_tool(name: Any, args: Any, canvas: Canvas, context: ToolContext | None = None) -> ToolResult:
    """Validate `args` for tool `name` against its schema and `canvas`, then run it.

    Bad names or arguments raise ToolArgumentError (and nothing else); a tool whose model
    is absent raises ModelUnavailableError.
    """
    tool = TOOLS.get(name) if isinstance(name, str) else None
    if tool is None:
        raise ToolArgumentError(f"unknown tool {str(name)[:80]!r}; the tools are: {', '.join(TOOLS)}")
    parsed = parse_arguments(tool.name, tool.arguments, args)
    return tool.function(tool.name, parsed, canvas, context or ToolContext())


def _tidy(schema: Any) -> Any:
    """Pydantic's schema without titles and null alternatives: shorter prompts, same meaning."""
    if isinstance(schema, list):
        return [_tidy(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    options = schema.get("anyOf")
    if options and {"type": "null"} in options and len(options) == 2:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return _tidy({**next(o for o in options if o != {"type": "null"}), **rest})
    return {k: _tidy(v) for k, v in schema.items() if k != "title"}


def _round(values: Sequence[float]) -> list[float]:
    return [round(float(v), 1) for v in values]


def _bounds(name: str, args: OnImage, canvas: Canvas) -> ImageBounds:
    return ImageBounds(name, canvas.size, args.normalized)


def _listing(items: Sequence[str]) -> str:
    more = f"; and {len(items) - SUMMARY_ITEMS} more" if len(items) > SUMMARY_ITEMS else ""
    return "; ".join(items[:SUMMARY_ITEMS]) + more


# --- pure drawing tools --------------------------------------------------------------


@_register("box", "Draw a rectangle around a region, optionally with a text label.", BoxArguments)
def _box(name: str, args: BoxArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    box, clipped = _bounds(name, args, canvas).box(args.box)
    drawn = canvas.box(box, label=args.label, color=args.color, width=args.width)
    note = " (clipped to the image)" if clipped else ""
    return ToolResult(
        drawn,
        {"box": _round(box), "clipped": clipped},
        f"Drew a box at {_round(box)}{note}" + (f" labelled {args.label!r}." if args.label else "."),
    )


def _line_tool(arrow: bool):
    def draw(name: str, args: LineArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
        bounds = _bounds(name, args, canvas)
        start, end = bounds.point(args.start, "start"), bounds.point(args.end, "end")
        if start == end:
            raise ToolArgumentError(f"{name}: start and end are the same point {shown(args.start)}; send two points")
        drawn = canvas.line(start, end, color=args.color, width=args.width, arrow=arrow)
        return ToolResult(
            drawn,
            {"start": _round(start), "end": _round(end)},
            f"Drew {'an arrow' if arrow else 'a line'} from {_round(start)} to {_round(end)}.",
        )

    return draw


_register("line", "Draw a straight line between two points.", LineArguments)(_line_tool(arrow=False))
_register("arrow", "Draw an arrow from start pointing at end.", LineArguments)(_line_tool(arrow=True))


@_register("mark", "Put numbered marks on points, so they can be referred to by number.", MarkArguments)
def _mark(name: str, args: MarkArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    points = _bounds(name, args, canvas).points(args.points)
    first = last_mark_number(canvas.ops) + 1
    marks = [{"number": first + i, "point": _round(p)} for i, p in enumerate(points)]
    summary = _listing([f"{m['number']} at {m['point']}" for m in marks])
    return ToolResult(canvas.mark(points, color=args.color), {"marks": marks}, f"Placed marks {summary}.")


@_register("polygon", "Draw a closed outline through three or more corner points.", PolygonArguments)
def _polygon(name: str, args: PolygonArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    points = _bounds(name, args, canvas).points(args.points)
    drawn = canvas.polygon(points, color=args.color, width=args.width, fill_alpha=0.3 if args.fill else 0.0)
    return ToolResult(drawn, {"points": [_round(p) for p in points]}, f"Drew a polygon with {len(points)} corners.")


@_register("label", "Write a short text on a tag whose top-left corner is at point.", LabelArguments)
def _label(name: str, args: LabelArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    point = _bounds(name, args, canvas).point(args.point)
    text = "".join(ch for ch in " ".join(args.text.split()) if ch.isprintable())
    if not text:
        raise ToolArgumentError(f"{name}: text has no printable characters; send the words to write")
    return ToolResult(
        canvas.label(point, text, color=args.color), {"point": _round(point), "text": text}, f"Wrote {text!r} at {_round(point)}."
    )


@_register(
    "grid",
    "Cut the image into rows x cols cells named A1, B1, ... (column letter, row number) "
    "to refer to regions by name; crop accepts a cell.",
    GridArguments,
)
def _grid(name: str, args: GridArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    drawn = canvas.grid(args.rows, args.cols, color=args.color)
    cells = drawn.grid_cells()
    last = list(cells)[-1]
    return ToolResult(
        drawn,
        {"cells": {k: _round(v) for k, v in cells.items()}},
        f"Drew a {args.rows}x{args.cols} grid; cells run from A1 (top left) to {last} (bottom right).",
    )


def _region(name: str, args: RegionChoice, canvas: Canvas) -> tuple[Box, bool]:
    """The box named by `box` or `cell` (exactly one of them), clipped to the canvas."""
    if (args.box is None) == (args.cell is None):
        raise ToolArgumentError(f'{name}: send either box or cell (such as "B2"), exactly one of them')
    if args.box is not None:
        return _bounds(name, args, canvas).box(args.box)
    cells = canvas.grid_cells()
    if args.cell not in cells:
        known = f"cells are A1 to {list(cells)[-1]}" if cells else "there is no grid; draw one with the grid tool"
        raise ToolArgumentError(f"{name}: cell {args.cell!r} is not on this canvas; {known}")
    return cells[args.cell], False


@_register(
    "crop",
    "Crop a region (box or grid cell) into a new canvas, enlarged to look closer; its coordinates map back to this one.",
    CropArguments,
)
def _crop(name: str, args: CropArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    region, _ = _region(name, args, canvas)
    x0, y0, x1, y1 = region
    scale = crop_scale(name, args.scale, (int(np.ceil(x1) - np.floor(x0)), int(np.ceil(y1) - np.floor(y0))))
    cropped = canvas.crop(region, scale=scale)
    left, top = cropped.to_parent((0, 0))
    width, height = cropped.size
    return ToolResult(
        cropped,
        {"box": _round(region), "scale": round(scale, 3), "size": [width, height]},
        f"New {width}x{height} canvas showing {_round(region)} enlarged {scale:.2f}x; its point (x, y) "
        f"is ({left:g} + x/{scale:.2f}, {top:g} + y/{scale:.2f}) on the previous canvas.",
    )


@_register(
    "side_by_side",
    "Show frames of the video at the given times side by side, captioned with their timestamps, to compare moments.",
    SideBySideArguments,
)
def _side_by_side(name: str, args: SideBySideArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    source = context.frames
    if source is None:
        raise ToolArgumentError(f"{name}: there is no video here, only a still image; use the other tools")
    late = [t for t in args.times if t > source.duration]
    if late:
        raise ToolArgumentError(f"{name}: times {late} are past the end of the video ({source.duration:.1f} s)")
    batch = source.frames_at(args.times)
    times = [float(t) for t in batch.times]
    frames = list(batch.frames)
    widths_per_height = sum(frame.shape[1] / frame.shape[0] for frame in frames)
    room = MAX_OUTPUT_SIDE - 9 * len(frames)  # gaps of at most 8 px, and each width rounded up
    height = min(MOSAIC_HEIGHT, *(frame.shape[0] for frame in frames), int(room / widths_per_height))
    mosaic = side_by_side(frames, times=times, height=max(16, height))
    panels = [
        {"panel": i + 1, "time": round(t, 3), "box": list(box)}
        for i, (t, box) in enumerate(zip(times, mosaic.panel_boxes, strict=True))
    ]
    return ToolResult(
        mosaic, {"panels": panels}, f"{len(times)} frames side by side, left to right at {', '.join(f'{t:.1f}s' for t in times)}."
    )


# --- model-backed tools --------------------------------------------------------------


def _area(name: str, args: DetectArguments | OCRArguments, canvas: Canvas) -> Box:
    """The region a model should look at: the `region` argument clipped to the canvas, or all of it."""
    if args.region is None:
        return (0.0, 0.0, float(canvas.width), float(canvas.height))
    return _bounds(name, args, canvas).box(args.region, "region")[0]


def _look(canvas: Canvas, region: Box, read: Callable[[np.ndarray], list[Any]]) -> list[tuple[Any, Box]]:
    """Run `read` on the clean pixels of `region`; return each item found with its box on `canvas`.

    Boxes the model puts outside the region are clipped to it; empty or non-finite ones are dropped.
    """
    window = canvas.crop(region)
    ox, oy = window.to_parent((0, 0))
    found = []
    for item in read(window.pixels(clean=True)):
        x0, y0, x1, y1 = (float(v) for v in item.box)
        if not all(np.isfinite((x0, y0, x1, y1, float(item.score)))):
            continue
        x0, x1 = max(0.0, x0), min(float(window.width), x1)
        y0, y1 = max(0.0, y0), min(float(window.height), y1)
        if x1 > x0 and y1 > y0:
            found.append((item, (ox + x0, oy + y0, ox + x1, oy + y1)))
    return found


def _draw_found(
    canvas: Canvas, found: list[tuple[Any, Box]], describe: Callable[[Any], tuple[str, str | RGB, dict[str, Any]]]
) -> tuple[Canvas, list[dict[str, Any]]]:
    """Each item boxed and tagged with its number (plus what `describe` adds), and listed for the data."""
    drawn, entries = canvas, []
    for number, (item, box) in enumerate(found, start=1):
        tag, color, fields = describe(item)
        drawn = drawn.box(box, label=f"{number}{tag}", color=color)
        entries.append({"id": number, **fields, "score": round(float(item.score), 3), "box": _round(box)})
    return drawn, entries


@_register("detect", "Find objects with the object detector; draws and lists each one's box, label and score.", DetectArguments)
def _detect(name: str, args: DetectArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    region = _area(name, args, canvas)
    detector = context.model("detector", "detector")
    known = getattr(detector, "labels", None)
    if args.labels and known:
        lowered = {label.lower() for label in known}
        unknown = [label for label in args.labels if label.lower() not in lowered]
        if unknown:
            raise ToolArgumentError(f"{name}: the detector does not know {unknown}; it knows: {', '.join(known)}")
    found = _look(canvas, region, lambda image: detector.detect(image, labels=args.labels, min_score=args.min_score))
    found = sorted(found, key=lambda pair: -float(pair[0].score))[:MAX_DRAWN]
    drawn, detections = _draw_found(
        canvas, found, lambda item: (f" {item.label} {item.score:.2f}", color_for(str(item.label)), {"label": str(item.label)})
    )
    listed = _listing([f"{d['id']} {d['label']} {d['score']:.2f} at {d['box']}" for d in detections])
    summary = f"Found {len(detections)} objects: {listed}." if detections else "Found no objects."
    return ToolResult(drawn, {"region": _round(region), "detections": detections}, summary)


@_register("ocr", "Read the text in a region (or the whole image); draws and lists each line with its box.", OCRArguments)
def _ocr(name: str, args: OCRArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    region = _area(name, args, canvas)
    found = _look(canvas, region, context.model("ocr", "ocr").read)[:MAX_DRAWN]
    drawn, lines = _draw_found(canvas, found, lambda item: ("", "blue", {"text": str(item.text)}))
    listed = _listing([f"{line['id']} {line['text']!r}" for line in lines])
    summary = f"Read {len(lines)} lines: {listed}." if lines else "Found no text."
    return ToolResult(drawn, {"region": _round(region), "lines": lines}, summary)


@_register(
    "segment", "Outline one object, given a box around it or a point on it, with the segmentation model.", SegmentArguments
)
def _segment(name: str, args: SegmentArguments, canvas: Canvas, context: ToolContext) -> ToolResult:
    if (args.box is None) == (args.point is None):
        raise ToolArgumentError(f"{name}: send either box or point, exactly one of them")
    bounds = _bounds(name, args, canvas)
    box = bounds.box(args.box)[0] if args.box is not None else None
    point = bounds.point(args.point) if args.point is not None else None
    segmenter = context.model("segmentation", "segmenter")
    mask = np.asarray(segmenter.segment(canvas.pixels(clean=True), box=box, point=point))
    if mask.shape != (canvas.height, canvas.width):
        raise ModelOutputError(f"the segmenter returned a {mask.shape} mask for a {canvas.width}x{canvas.height} image")
    mask = mask.astype(bool)
    area = int(mask.sum())
    ys, xs = np.nonzero(mask)
    extent: list[float] | None = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)] if area else None
    summary = f"Segmented {area} px inside {extent}." if area else "The segmenter found no object there."
    return ToolResult(canvas.mask(mask, color="cyan"), {"area": area, "box": extent}, summary)
