"""Vision tools: the registry's schemas, each tool's drawing and data, hostile arguments.

Models are the edge here: scripted stand-ins for the networks (a detector, an OCR reader,
a segmenter, a video) give exact expectations for the plumbing; the real RapidOCR and a
random-weight YOLO run in the slow tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from perception.config import Config, ModelsConfig
from perception.detect import Detection
from perception.errors import ModelOutputError, ModelUnavailableError, ToolArgumentError
from perception.models import Models
from perception.ocr import TextBox
from sketchpad import TOOLS, Canvas, ToolContext, ToolResult, run_tool, tool_schemas
from tests.synth import index_frame, read_index

WIDTH, HEIGHT = 160, 120


def noise(width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


class ScriptedDetector:
    """Stands in for a detection network: returns the detections it was given, filtered like a detector."""

    labels = ("person", "car")

    def __init__(self, detections: Sequence[Detection] = ()):
        self.detections = list(detections)
        self.seen: list[np.ndarray] = []

    def detect(self, image: np.ndarray, labels: Sequence[str] | None = None, min_score: float = 0.25) -> list[Detection]:
        self.seen.append(image)
        return [d for d in self.detections if (labels is None or d.label in labels) and d.score >= min_score]


class ScriptedReader:
    """Stands in for an OCR network."""

    def __init__(self, lines: Sequence[TextBox] = ()):
        self.lines = list(lines)
        self.seen: list[np.ndarray] = []

    def read(self, image: np.ndarray) -> list[TextBox]:
        self.seen.append(image)
        return list(self.lines)


class BoxSegmenter:
    """Stands in for a segmentation network: the object is the box, or a 5 px square around the point."""

    def __init__(self, shape_override: tuple[int, int] | None = None):
        self.shape_override = shape_override

    def segment(self, image: np.ndarray, box=None, point=None) -> np.ndarray:
        mask = np.zeros(self.shape_override or image.shape[:2], dtype=bool)
        if box is not None:
            x0, y0, x1, y1 = (round(v) for v in box)
        else:
            x0, y0, x1, y1 = round(point[0]) - 2, round(point[1]) - 2, round(point[0]) + 3, round(point[1]) + 3
        mask[max(0, y0) : y1, max(0, x0) : x1] = True
        return mask


class IndexVideo:
    """Stands in for a video: 10 s at 10 fps of frames that encode their own index."""

    duration = 10.0
    fps = 10

    def __init__(self, size: tuple[int, int] = (320, 240)):
        self.size = size

    def frames_at(self, times: Sequence[float]) -> SimpleNamespace:
        indices = [min(round(t * self.fps), 99) for t in times]
        return SimpleNamespace(
            frames=np.stack([index_frame(i, self.size) for i in indices]), times=np.array([i / self.fps for i in indices])
        )


HOSTILE_DETECTIONS = [
    Detection("person", (10.0, 10.0, 30.0, 40.0), 0.9),
    Detection("car", (-50.0, 5.0, 1e6, 20.0), 0.5),  # spills out of the image: clipped
    Detection("car", (float("nan"), 0.0, 5.0, 5.0), 0.8),  # dropped
    Detection("person", (50.0, 50.0, 40.0, 60.0), 0.7),  # inside out: dropped
]


def full_context() -> ToolContext:
    models = SimpleNamespace(
        detector=ScriptedDetector(HOSTILE_DETECTIONS),
        ocr=ScriptedReader([TextBox("EXIT", (2.0, 3.0, 20.0, 12.0), 0.99), TextBox("far", (900.0, 900.0, 950.0, 950.0), 0.5)]),
        segmenter=BoxSegmenter(),
    )
    return ToolContext(models=models, frames=IndexVideo())


VALID = {
    "box": {"box": [10, 10, 60, 50], "label": "cup"},
    "line": {"start": [0, 0], "end": [50, 40]},
    "arrow": {"start": [100, 100], "end": [20, 30], "color": "yellow"},
    "mark": {"points": [[10, 10], [80, 60]]},
    "polygon": {"points": [[10, 10], [90, 20], [40, 80]], "fill": True},
    "label": {"point": [5, 5], "text": "look"},
    "grid": {"rows": 2, "cols": 3},
    "crop": {"box": [20, 20, 100, 80], "scale": 2},
    "side_by_side": {"times": [1, 2.5]},
    "detect": {"labels": ["person"]},
    "ocr": {"region": [0, 0, 0.5, 0.5], "normalized": True},
    "segment": {"point": [40, 40]},
}


# --- the registry -----------------------------------------------------------------------


def _walk(schema):
    yield schema
    for value in schema.values() if isinstance(schema, dict) else schema if isinstance(schema, list) else ():
        if isinstance(value, dict | list):
            yield from _walk(value)


def test_one_registry_describes_every_tool_as_json_schema():
    schemas = tool_schemas()
    assert [s["name"] for s in schemas] == list(TOOLS) == list(VALID)
    for schema in schemas:
        assert set(schema) == {"name", "description", "parameters"} and schema["description"]
        parameters = schema["parameters"]
        assert parameters["type"] == "object" and parameters["additionalProperties"] is False
        assert not any("title" in node or "anyOf" in node or "$ref" in node for node in _walk(parameters))
        json.dumps(schema)  # plain data, ready for a prompt


def test_schemas_are_valid_json_schema_and_accept_the_valid_examples():
    jsonschema = pytest.importorskip("jsonschema")
    for schema in tool_schemas():
        jsonschema.Draft202012Validator.check_schema(schema["parameters"])
        jsonschema.validate(VALID[schema["name"]], schema["parameters"])
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**VALID[schema["name"]], "surprise": 1}, schema["parameters"])


@pytest.mark.parametrize("name", list(VALID))
def test_each_tool_runs_on_valid_arguments(name: str):
    canvas = Canvas(noise())
    result = run_tool(name, VALID[name], canvas, full_context())
    assert isinstance(result, ToolResult) and isinstance(result.canvas, Canvas)
    assert result.summary and json.loads(json.dumps(result.data)) == result.data
    assert not np.array_equal(result.canvas.render(), canvas.render()) or result.canvas.size != canvas.size
    assert canvas.ops == ()  # the canvas given is left as it was


# --- drawing tools ------------------------------------------------------------------------


def test_box_tool_draws_what_the_canvas_draws():
    canvas = Canvas(noise())
    result = run_tool("box", {"box": [10, 20, 50, 60], "color": "red", "width": 2}, canvas)
    assert np.array_equal(result.canvas.render(), canvas.box((10, 20, 50, 60), color="red", width=2).render())
    assert result.data == {"box": [10.0, 20.0, 50.0, 60.0], "clipped": False}


def test_a_box_partly_outside_is_clipped_and_says_so():
    canvas = Canvas(noise())
    result = run_tool("box", {"box": [-20, 100, 80, 500]}, canvas)
    assert result.data == {"box": [0.0, 100.0, 80.0, 120.0], "clipped": True}
    assert "clipped" in result.summary


def test_normalized_arguments_are_fractions_of_the_image():
    canvas = Canvas(noise())
    result = run_tool("box", {"box": [0.25, 0.5, 0.75, 1.0], "normalized": True}, canvas)
    assert result.data["box"] == [40.0, 60.0, 120.0, 120.0]


def test_mark_tool_reports_numbers_that_continue_across_calls():
    first = run_tool("mark", {"points": [[10, 10], [20, 20]]}, Canvas(noise()))
    second = run_tool("mark", {"points": [[30, 30]]}, first.canvas)
    assert [m["number"] for m in first.data["marks"]] == [1, 2]
    assert second.data["marks"] == [{"number": 3, "point": [30.0, 30.0]}]


def test_grid_then_crop_by_cell_maps_back_to_the_cell():
    gridded = run_tool("grid", {"rows": 2, "cols": 2}, Canvas(noise()))
    assert gridded.data["cells"]["B2"] == [80.0, 60.0, 160.0, 120.0]
    crop = run_tool("crop", {"cell": "B2", "scale": 2}, gridded.canvas)
    assert crop.canvas.size == (160, 120)
    assert crop.canvas.to_parent((0, 0)) == (80, 60) and crop.canvas.to_parent((160, 120)) == (160, 120)
    with pytest.raises(ToolArgumentError, match="A1 to B2"):
        run_tool("crop", {"cell": "C3"}, gridded.canvas)


def test_crop_enlarges_small_regions_by_default_and_refuses_huge_output():
    canvas = Canvas(noise())
    small = run_tool("crop", {"box": [0, 0, 64, 32]}, canvas)
    assert small.data["scale"] == 4 and small.canvas.size == (256, 128)
    whole = run_tool("crop", {"box": [0, 0, 160, 120]}, canvas)
    assert whole.canvas.size == (512, 384)
    wide = Canvas(np.zeros((10, 1000, 3), np.uint8))
    with pytest.raises(ToolArgumentError, match=r"scale <= 4\.10"):
        run_tool("crop", {"box": [0, 0, 1000, 10], "scale": 8}, wide)
    huge = Canvas(np.zeros((100, 8192, 3), np.uint8))
    assert run_tool("crop", {"box": [0, 0, 8192, 100]}, huge).canvas.size == (4096, 50)  # shrunk to fit


def test_side_by_side_shows_the_frames_at_the_times_asked():
    result = run_tool("side_by_side", {"times": [1.0, 5.0, 9.0]}, Canvas(noise()), full_context())
    image = result.canvas.render()
    shown = [read_index(image[y0:y1, x0:x1]) for x0, y0, x1, y1 in result.canvas.panel_boxes]
    assert shown == [10, 50, 90]
    assert [p["time"] for p in result.data["panels"]] == [1.0, 5.0, 9.0]
    assert result.canvas.parents[2].size == (320, 240)


def test_side_by_side_of_large_frames_stays_a_sensible_size():
    context = ToolContext(frames=IndexVideo(size=(1600, 200)))
    result = run_tool("side_by_side", {"times": [0, 1, 2, 3, 4, 5, 6, 7]}, Canvas(noise()), context)
    assert len(result.canvas.panel_boxes) == 8 and result.canvas.width <= 4096


def test_side_by_side_needs_a_video_and_times_inside_it():
    with pytest.raises(ToolArgumentError, match="no video"):
        run_tool("side_by_side", {"times": [1, 2]}, Canvas(noise()), ToolContext())
    with pytest.raises(ToolArgumentError, match="past the end"):
        run_tool("side_by_side", {"times": [1, 12]}, Canvas(noise()), full_context())


# --- model tools ---------------------------------------------------------------------------


def test_detect_looks_at_the_clean_region_and_maps_boxes_back():
    detector = ScriptedDetector(HOSTILE_DETECTIONS)
    canvas = Canvas(noise()).grid(3, 3)  # drawings the detector must not see
    result = run_tool(
        "detect", {"region": [80, 60, 160, 120], "min_score": 0.3}, canvas, ToolContext(models=SimpleNamespace(detector=detector))
    )
    assert np.array_equal(detector.seen[0], noise()[60:120, 80:160])
    assert result.data["region"] == [80.0, 60.0, 160.0, 120.0]
    assert result.data["detections"] == [
        {"id": 1, "label": "person", "score": 0.9, "box": [90.0, 70.0, 110.0, 100.0]},
        {"id": 2, "label": "car", "score": 0.5, "box": [80.0, 65.0, 160.0, 80.0]},
    ]
    assert len(result.canvas.ops) == len(canvas.ops) + 2
    assert "person 0.90" in result.summary


def test_detect_refuses_labels_the_detector_does_not_know():
    context = ToolContext(models=SimpleNamespace(detector=ScriptedDetector()))
    with pytest.raises(ToolArgumentError, match="does not know \\['unicorn'\\]; it knows: person, car"):
        run_tool("detect", {"labels": ["unicorn"]}, Canvas(noise()), context)


def test_ocr_reads_the_region_and_maps_lines_back():
    reader = ScriptedReader([TextBox("EXIT", (2.0, 3.0, 20.0, 12.0), 0.99)])
    result = run_tool("ocr", {"region": [40, 30, 100, 90]}, Canvas(noise()), ToolContext(models=SimpleNamespace(ocr=reader)))
    assert reader.seen[0].shape == (60, 60, 3)
    assert result.data["lines"] == [{"id": 1, "text": "EXIT", "score": 0.99, "box": [42.0, 33.0, 60.0, 42.0]}]
    assert "'EXIT'" in result.summary


def test_model_tools_without_models_are_unavailable_not_broken():
    canvas = Canvas(noise())
    with pytest.raises(ModelUnavailableError, match="given no models"):
        run_tool("ocr", {}, canvas)
    models = Models(Config(models=ModelsConfig(detector="none")))
    with pytest.raises(ModelUnavailableError) as raised:
        run_tool("detect", {}, canvas, ToolContext(models=models))
    assert raised.value.role == "detector"
    with pytest.raises(ModelUnavailableError, match="no segmentation model is configured"):
        run_tool("segment", {"point": [5, 5]}, canvas, ToolContext(models=models))


def test_segment_overlays_the_mask_the_model_returns():
    canvas = Canvas(noise())
    context = ToolContext(models=SimpleNamespace(segmenter=BoxSegmenter()))
    result = run_tool("segment", {"box": [10, 20, 30, 50]}, canvas, context)
    assert result.data == {"area": 600, "box": [10.0, 20.0, 30.0, 50.0]}
    diff = (result.canvas.render() != canvas.render()).any(axis=2)
    assert diff[20:50, 10:30].mean() > 0.95 and not diff[:20].any() and not diff[50:].any()
    broken = ToolContext(models=SimpleNamespace(segmenter=BoxSegmenter(shape_override=(5, 5))))
    with pytest.raises(ModelOutputError, match="mask"):
        run_tool("segment", {"point": [5, 5]}, canvas, broken)


# --- hostile arguments ---------------------------------------------------------------------

HOSTILE = [
    ("box", {"box": [10, 10, 5, 50]}, "box [10, 10, 5, 50] is inside out"),
    ("box", {"box": [500, 500, 600, 600]}, "wholly outside the image; the image is 160x120 px"),
    ("box", {"box": [1, 2, 3]}, "at least 4 items"),
    ("box", {"box": [1, 2, 3, "4"]}, "box[3]: Input should be a valid number"),
    ("box", {"box": [1, 2, 3, float("nan")]}, "finite"),
    ("box", {"box": [1, 2, 3, float("-inf")]}, "finite"),
    ("box", {"box": [0, 0, 10**400, 10]}, "finite"),
    ("box", {"box": [0, 0, 10**5000, 10]}, "sensible size"),
    ("box", {"box": [True, 2, 3, 4]}, "valid number"),
    ("box", {"box": [1, 2, 30, 40], "colour": "red"}, "colour is not an argument of this tool"),
    ("box", {"box": [1, 2, 30, 40], "color": "chartreuse"}, "'red'"),
    ("box", {"box": [1, 2, 30, 40], "width": -3}, "greater than or equal to 1"),
    ("box", {"box": [1, 2, 30, 40], "width": 10**9}, "less than or equal to 20"),
    ("box", {"box": [1, 2, 30, 40], "label": "x" * 1000}, "at most 100 characters"),
    ("box", {"box": [1, 2, 30, 40], "normalized": "yes"}, "valid boolean"),
    ("box", {}, "box: Field required"),
    ("box", [1, 2, 3, 4], "must be a JSON object"),
    ("box", "box=[1,2,3,4]", "must be a JSON object"),
    ("box", {"box": object()}, "plain JSON"),
    ("box", {"box": {1, 2, 3, 4}}, "plain JSON"),
    ("box", {"box": [0, 0, 1, 1], "label": "x" * 30_000}, "at most 20000"),
    ("mark", {"points": [[1, 1]] * 65}, "at most 64 items"),
    ("mark", {"points": [[1e9, 1]]}, "points[0] [1e+09, 1] is outside the image"),
    ("mark", {"points": []}, "at least 1 item"),
    ("polygon", {"points": [[1, 1], [2, 2]]}, "at least 3 items"),
    ("line", {"start": [5, 5], "end": [5, 5]}, "same point"),
    ("arrow", {"start": [5, 5]}, "end: Field required"),
    ("grid", {"rows": 0, "cols": 3}, "greater than or equal to 1"),
    ("grid", {"rows": 100, "cols": 3}, "less than or equal to 12"),
    ("grid", {"rows": 2.5, "cols": 3}, "valid integer"),
    ("crop", {}, "either box or cell"),
    ("crop", {"box": [0, 0, 10, 10], "cell": "A1"}, "either box or cell"),
    ("crop", {"cell": "B2"}, "there is no grid"),
    ("crop", {"cell": "../etc"}, "pattern"),
    ("crop", {"box": [0, 0, 10, 10], "scale": 100}, "less than or equal to 8"),
    ("crop", {"box": [0, 0, 10, 10], "scale": -1}, "greater than or equal to 0.1"),
    ("side_by_side", {"times": [-1, 2]}, "not negative"),
    ("side_by_side", {"times": [1]}, "at least 2 items"),
    ("side_by_side", {"times": list(range(9))}, "at most 8 items"),
    ("label", {"point": [1, 1], "text": "\x00\x01"}, "no printable characters"),
    ("label", {"point": [1, 1], "text": ""}, "at least 1 character"),
    ("detect", {"min_score": 2}, "less than or equal to 1"),
    ("detect", {"labels": "person"}, "labels: Input should be a valid array"),
    ("ocr", {"region": [1.5, 1.5, 2, 2], "normalized": True}, "normalized coordinates run from 0 to 1"),
    ("segment", {}, "either box or point"),
    ("segment", {"box": [0, 0, 5, 5], "point": [1, 1]}, "either box or point"),
    ("rm -rf /", {}, "unknown tool 'rm -rf /'; the tools are: box, line"),
    (None, {}, "unknown tool"),
    (["box"], {}, "unknown tool"),
]


@pytest.mark.parametrize(("name", "args", "message"), HOSTILE)
def test_hostile_arguments_get_a_message_the_model_can_act_on(name, args, message):
    with pytest.raises(ToolArgumentError) as raised:
        run_tool(name, args, Canvas(noise()), full_context())
    assert message in str(raised.value)


def test_messages_remind_the_model_of_the_arguments():
    with pytest.raises(ToolArgumentError, match=r"Usage: box\(box, label\?, width\?, color\?, normalized\?\)"):
        run_tool("box", {"bbox": [1, 2, 3, 4]}, Canvas(noise()))


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["B2", "A1", "person", "car", "red", "Z99", "\x00", "🙂"])
)
JSON_VALUES = st.recursive(
    LEAVES, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12
)
PLAUSIBLE = st.integers(-10, 80) | st.floats(-10, 80)
EXTREME = st.floats() | st.integers(-(10**30), 10**30) | st.sampled_from([0.5, 0.999, 1e308, 5e-324, True])
NUMBERS = st.one_of(PLAUSIBLE, PLAUSIBLE, PLAUSIBLE, EXTREME)
IN_IMAGE = st.integers(0, 48) | st.floats(0, 48)


def _value_for(schema: dict, loose: bool) -> st.SearchStrategy:
    """A value of the shape the schema asks for (so the image checks are reached); when `loose`, often any JSON."""
    kind = schema.get("type")
    numbers = NUMBERS if loose else IN_IMAGE
    if kind == "array":
        items = schema.get("items", {})
        lo, hi = schema.get("minItems", 0), min(schema.get("maxItems", 8), 8 if loose else 4)
        inner = {"array": st.lists(numbers, min_size=2, max_size=2), "number": numbers}.get(
            items.get("type"), st.sampled_from(["person", "car", "unicorn", ""])
        )
        near = st.lists(inner, min_size=lo, max_size=hi)
        if loose:
            near |= st.lists(inner, min_size=max(0, lo - 1), max_size=hi + 1)
    elif kind == "integer":
        near = st.integers(-2, 30)
    elif kind == "number":
        near = numbers
    elif kind == "boolean":
        near = st.booleans()
    else:
        near = st.sampled_from(schema.get("enum", ["B2", "A1", "look", "", "\n\t", "x" * 150]))
    return st.one_of(near, near, JSON_VALUES) if loose else near


@st.composite
def tool_calls(draw, loose: bool):
    name = draw(st.sampled_from([*TOOLS, "", "Box", "exec"] if loose else list(TOOLS)))
    parameters = TOOLS[name].schema["parameters"] if name in TOOLS else {"properties": {}}
    properties, required = parameters["properties"], parameters.get("required", [])
    optional = [key for key in properties if key not in required] + (["extra"] if loose else [])
    keys = [key for key in required if not loose or draw(st.integers(0, 9))]  # loose: sometimes one is missing
    keys += draw(st.lists(st.sampled_from(optional), unique=True, max_size=3)) if optional else []
    args = {key: draw(_value_for(properties.get(key, {}), loose)) for key in keys}
    return name, draw(st.sampled_from([args] * 8 + [None, [args], "args"])) if loose else args


GRIDDED = Canvas(noise(64, 48)).grid(2, 2)


def _result_or_argument_error(name, args) -> None:
    try:
        result = run_tool(name, args, GRIDDED, full_context())
    except ToolArgumentError as err:
        assert str(err)
        return
    image = result.canvas.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and min(image.shape[:2]) >= 1
    assert result.summary and json.loads(json.dumps(result.data, allow_nan=False)) == result.data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tool_calls(loose=True))
def test_any_arguments_give_a_result_or_a_tool_argument_error(call):
    _result_or_argument_error(*call)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tool_calls(loose=False))
def test_well_typed_arguments_anywhere_give_a_result_or_a_tool_argument_error(call):
    """Arguments of the right types but any values: the image-bound checks and the drawing itself."""
    _result_or_argument_error(*call)


# --- real models (slow) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rapid_ocr():
    from perception.ocr import RapidOCR, locate_ocr_models

    return RapidOCR(locate_ocr_models("PP-OCRv4"))


@pytest.mark.slow
@pytest.mark.integration
def test_ocr_tool_on_a_real_page_reads_a_region_in_full_image_coordinates(media: Path, rapid_ocr):
    path = media / "images" / "opencv" / "imageTextN.png"
    canvas = Canvas.open(path)
    context = ToolContext(models=SimpleNamespace(ocr=rapid_ocr))
    region = [0, 88, 556, 257]  # the page below its first four lines
    result = run_tool("ocr", {"region": region}, canvas, context)
    lines = result.data["lines"]
    text = " ".join(line["text"] for line in lines)
    assert "conference papers" in text and "research topics" in text and "high-level approaches" in text
    assert "technical details" not in text and "real-world images" not in text  # lines above the region
    page = rapid_ocr.read(canvas.render())

    def on_the_page(line: dict) -> bool:
        """The page's own reading has this text at this place (the region may split lines differently)."""
        x0, y0, x1, y1 = line["box"]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return any(
            line["text"] in whole.text
            and whole.box[0] - 3 <= cx <= whole.box[2] + 3
            and whole.box[1] - 3 <= cy <= whole.box[3] + 3
            for whole in page
        )

    for line in lines:
        x0, y0, x1, y1 = line["box"]
        assert region[0] <= x0 < x1 <= region[2] and region[1] <= y0 < y1 <= region[3]
    assert sum(map(on_the_page, lines)) >= 0.8 * len(lines)
    assert len(result.canvas.ops) == len(lines)


@pytest.mark.slow
def test_grid_cell_names_are_legible_to_ocr(rapid_ocr):
    canvas = Canvas(np.full((360, 480, 3), 255, np.uint8)).grid(2, 3, color="navy")
    crop = canvas.crop((0, 0, 480, 360), scale=2)  # OCR reads small tags better enlarged
    read = {line.text.upper().replace(" ", "") for line in rapid_ocr.read(crop.render())}
    assert {"A1", "B1", "C1", "A2", "B2", "C2"} <= read


@pytest.mark.slow
def test_detect_tool_with_a_random_weight_yolo_goes_through_the_real_detector():
    from tests.random_models import random_yolo

    detector = random_yolo()  # random weights: plumbing only, never for answers
    canvas = Canvas(noise(320, 240))
    context = ToolContext(models=SimpleNamespace(detector=detector))
    region = [100, 50, 260, 210]
    result = run_tool("detect", {"region": region, "min_score": 0.0}, canvas, context)
    detections = result.data["detections"]
    assert 0 < len(detections) <= 50 and len(result.canvas.ops) == len(detections)
    for d in detections:
        x0, y0, x1, y1 = d["box"]
        assert region[0] <= x0 < x1 <= region[2] and region[1] <= y0 < y1 <= region[3]
        assert d["label"] in detector.labels and 0.0 <= d["score"] <= 1.0
    assert result.canvas.render().shape == (240, 320, 3)
    with pytest.raises(ToolArgumentError, match="does not know"):
        run_tool("detect", {"labels": ["unicorn"]}, canvas, context)


def test_tool_results_replay_from_json():
    result = run_tool("detect", {}, Canvas(noise()), full_context())
    zoom = run_tool("crop", {"box": [0, 0, 80, 60]}, result.canvas)
    replayed = Canvas.from_json(zoom.canvas.to_json())
    assert np.array_equal(replayed.render(), zoom.canvas.render())
    assert replayed.to_parent((64, 48)) == (16, 12)  # enlarged 4x by default


def test_pil_images_work_as_canvases_for_tools():
    canvas = Canvas(Image.fromarray(noise()))
    assert run_tool("box", {"box": [1, 1, 10, 10]}, canvas).canvas.size == (WIDTH, HEIGHT)
