"""The sketch action: a canvas per frame that accumulates, saved PNGs, sketches shown to the VLM and kept as evidence.

Fast tests drive the Sketcher and the offline sketch plans directly on small images; the
slow ones run the whole agent on the shared ingested video, with a scripted
OpenAI-compatible server standing in for the VLM.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import Longshot
from app.agent import AgentState
from app.answer import Step
from app.policies.offline_sketch import OfflineSketching, counted_thing, zoom_region
from app.policies.vlm import VLMPolicy
from app.sketching import Sketcher, SketchEvidence
from app.toolbox import Action, Sketch, action_schemas, validate
from perception.config import Config
from perception.errors import ModelUnavailableError, StorageError, ToolArgumentError
from perception.models import Models
from sketchpad import PALETTE, TOOLS, tool_schemas
from tests.fakes.openai_server import ScriptedOpenAIServer, request_images

RED = np.array(PALETTE["red"])


def _image(width: int = 160, height: int = 120) -> np.ndarray:
    return np.full((height, width, 3), 200, dtype=np.uint8)


def _sketch(**args) -> Sketch:
    return validate(Action("sketch", args))


def _no_models() -> Models:
    return Models(Config().replace(models__detector="none", models__ocr="none", models__vlm="none"))


def _is_red(pixels: np.ndarray, tolerance: int = 60) -> np.ndarray:
    return (np.abs(pixels.astype(int) - RED) <= tolerance).all(axis=-1)


# --- the Sketcher on an image ----------------------------------------------------------


def test_drawings_accumulate_on_a_frame_and_restart_starts_clean(tmp_path: Path):
    sketcher = Sketcher(tmp_path / "q", _no_models(), image=_image())
    first = sketcher(_sketch(frame="image", tool="box", args={"box": [20, 20, 60, 60], "color": "red"}), [])
    second = sketcher(_sketch(frame="image", tool="grid", args={"rows": 2, "cols": 2, "color": "blue"}), [])
    drawn = second.images[0][0]
    assert _is_red(drawn[20, 30:50], tolerance=0).all(), "the box of the first sketch is still on the second"
    assert (drawn[5:15, 80] == PALETTE["blue"]).all(), "the grid's middle line is drawn"
    fresh = sketcher(_sketch(frame="image", tool="grid", args={"rows": 2, "cols": 2, "color": "blue"}, restart=True), [])
    assert not _is_red(fresh.images[0][0], tolerance=0).any(), "restart drew on the clean image"
    assert first.evidence[0].key != second.evidence[0].key != fresh.evidence[0].key


def test_each_sketch_is_saved_as_the_png_the_model_is_shown(tmp_path: Path):
    folder = tmp_path / "sketches" / "question-1"
    sketcher = Sketcher(folder, _no_models(), image=_image())
    observation = sketcher(_sketch(frame="image", tool="crop", args={"box": [10, 10, 50, 40], "scale": 2}), [])
    evidence = observation.evidence[0]
    assert isinstance(evidence, SketchEvidence) and evidence.kind == "sketch"
    assert evidence.image_path == str(folder / "1.png") and evidence.frames == ()
    saved = np.asarray(Image.open(evidence.image_path))
    shown, caption = observation.images[0]
    assert saved.shape == (60, 80, 3) and np.array_equal(saved, shown)
    assert "crop" in caption and "80x60" in caption
    assert evidence.data["scale"] == 2 and "enlarged" in evidence.text
    assert sorted(p.name for p in folder.iterdir()) == ["1.png"], "no partial file is left behind"


def test_bad_requests_raise_typed_errors_and_save_nothing(tmp_path: Path):
    folder = tmp_path / "q"
    sketcher = Sketcher(folder, _no_models(), image=_image())
    with pytest.raises(ToolArgumentError, match="frame 'image'"):
        sketcher(_sketch(frame=3, tool="box", args={"box": [0, 0, 5, 5]}), [])
    with pytest.raises(ToolArgumentError, match="unknown tool"):
        sketcher(_sketch(frame="image", tool="python", args={"code": "import os"}), [])
    with pytest.raises(ToolArgumentError, match="outside"):
        sketcher(_sketch(frame="image", tool="box", args={"box": [500, 500, 600, 600]}), [])
    with pytest.raises(ModelUnavailableError):
        sketcher(_sketch(frame="image", tool="ocr"), [])
    with pytest.raises(ModelUnavailableError):
        sketcher(_sketch(frame="image", tool="segment", args={"point": [5, 5]}), [])
    assert not folder.exists() and sketcher.count == 0


def test_a_sketch_that_cannot_be_saved_is_a_storage_error(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the sketches folder should be")
    sketcher = Sketcher(blocker / "q", _no_models(), image=_image())
    with pytest.raises(StorageError, match="cannot save the sketch"):
        sketcher(_sketch(frame="image", tool="grid", args={"rows": 2, "cols": 2}), [])


@pytest.mark.parametrize(
    "args",
    [
        {"frame": True, "tool": "box"},
        {"time": float("nan"), "tool": "box"},
        {"time": -1, "tool": "box"},
        {"frame": 1, "time": 2, "tool": "box"},
        {"tool": "box"},
        {"frame": "everything", "tool": "box"},
        {"frame": 1, "tool": "box", "args": "draw a box"},
        {"frame": 1, "tool": "box", "shell": "rm -rf /"},
    ],
)
def test_the_sketch_action_refuses_malformed_arguments(args):
    with pytest.raises(ToolArgumentError, match="sketch"):
        validate(Action("sketch", args))


def test_the_prompt_lists_the_sketchpad_tools_from_its_registry():
    sketch = next(schema for schema in action_schemas() if schema["name"] == "sketch")
    assert sketch["parameters"]["properties"]["tool"]["enum"] == list(TOOLS)
    assert sketch["parameters"]["tools"] == tool_schemas()
    prompt = VLMPolicy(vlm=None, fallback=None).system
    for schema in tool_schemas():
        assert f"  - {schema['name']}(" in prompt and schema["description"] in prompt


# --- the offline sketch plans ----------------------------------------------------------

BOARD_LINES = [  # what OCR reads on ../shared/media/images/opencv/board.jpg at full size
    {"text": "ested", "box": [131, 5, 173, 17], "score": 1.0},
    {"text": "Comp", "box": [195, 2, 232, 18], "score": 1.0},
    {"text": "OR", "box": [77, 39, 95, 50], "score": 1.0},
    {"text": "OR OFFICE", "box": [136, 37, 214, 51], "score": 1.0},
    {"text": "C58", "box": [321, 272, 343, 283], "score": 1.0},
]


def test_zoom_region_crops_the_small_text_that_matches_the_question_with_its_neighbours():
    region = zoom_region(BOARD_LINES, {"office"})
    x0, y0, x1, y1 = region
    assert x0 < 77 and y0 <= 2 and x1 > 232 and y1 > 51, "the whole sign, fragments and all"
    assert x1 < 321 and y1 < 272, "not the far-away part label"
    assert zoom_region(BOARD_LINES, {"c58"})[2] > 343
    big = [{"text": "EXIT", "box": [10, 10, 200, 70], "score": 1.0}]
    assert zoom_region(big, {"exit"}) is None, "text this tall reads well already"


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("How many red cars are there?", "car"),
        ("how many people are in the room", "person"),
        ("How many buses can you see?", "bus"),
        ("What colour is the car?", None),
    ],
)
def test_counting_questions_name_the_class_to_detect(question, thing):
    assert counted_thing(question) == thing


def _sketched(state: AgentState, frame: int, tool: str, args: dict, data: dict) -> None:
    evidence = SketchEvidence("sketch", 12.0, 12.0, f"{tool} on frame {frame}", 0.5, key=f"sketch:{len(state.steps)}", data=data)
    state.steps.append(Step(len(state.steps), "sketch", {"frame": frame, "tool": tool, "args": args}, "", 0.0, None, (evidence,)))
    state.hits.append((evidence,))
    state.evidence.append(evidence)


def test_counting_marks_each_detection_then_answers_with_the_count():
    state = AgentState("How many cars are parked?", ("2 cars", "3 cars", "4 cars"), None, 8, [30.0], 60.0)
    plan = OfflineSketching(can_detect=True)
    boxes = [[0, 0, 10, 10], [20, 0, 40, 10], [50, 50, 60, 70]]
    detections = [{"id": i + 1, "label": "car", "score": 0.9, "box": box} for i, box in enumerate(boxes)]
    _sketched(state, 7, "detect", {"labels": ["car"]}, {"detections": detections})
    mark = plan.next_action(state)
    assert mark == Action(
        "sketch", {"frame": 7, "tool": "mark", "args": {"points": [[5.0, 5.0], [30.0, 5.0], [55.0, 60.0]]}, "restart": False}
    )
    _sketched(state, 7, "mark", mark.args["args"], {"marks": [{"number": n} for n in (1, 2, 3)]})
    assert plan.next_action(state) is None
    answer = plan.answer(state)
    assert answer.args["choice"] == "B" and answer.args["evidence"] == [1]
    assert OfflineSketching(can_detect=False).next_action(state) is None, "no detector, no counting"


# --- the whole agent on the ingested video ---------------------------------------------


def _vlm_library(library: Longshot, server: ScriptedOpenAIServer, **overrides) -> Longshot:
    return Longshot(
        config=library.config.replace(
            models__vlm=f"openai:fake-vlm@{server.base_url}", vlm__max_retries=0, models__detector="none", **overrides
        )
    )


def _act(action: str, **args) -> str:
    return json.dumps({"action": action, "args": args})


@pytest.mark.slow
def test_the_vlm_sees_its_crop_box_and_grid_and_the_answer_keeps_the_sketches(library, video_id):
    script = [
        _act("search_episodic", query="vault code", k=1),
        _act("sketch", time=24.0, tool="crop", args={"box": [40, 40, 340, 190], "scale": 4}),  # 1200x600
        _act("sketch", time=24.0, tool="box", args={"box": [200, 100, 1000, 500], "color": "red", "width": 8}),
        _act("sketch", time=24.0, tool="grid", args={"rows": 2, "cols": 2, "color": "blue"}),
        _act("answer", text="4172", evidence=[0]),
    ]
    with ScriptedOpenAIServer(script) as server:
        answer = _vlm_library(library, server).ask(video_id, "What code is shown on screen?")
        assert server.errors == []
        requests = server.requests
    assert [s.error for s in answer.trace] == [None] * 5
    crop, boxed, grid = (request_images(requests[i])[-1] for i in (2, 3, 4))
    scale = 768 / 1200  # the client shrinks images to 768 px a side
    assert crop.shape == boxed.shape == (384, 768, 3)
    x0, y0, x1, y1 = (round(v * scale) for v in (200, 100, 1000, 500))
    changed = np.abs(boxed.astype(int) - crop.astype(int)).max(axis=-1) > 80
    outline = np.zeros_like(changed)
    outline[y0 - 6 : y1 + 6, x0 - 6 : x1 + 6] = True
    outline[y0 + 10 : y1 - 10, x0 + 10 : x1 - 10] = False
    assert changed.any() and not (changed & ~outline).any(), "the drawing changed pixels only along the box"
    across, down = x0 + (x1 - x0) // 4, y0 + (y1 - y0) // 4  # away from the grid's middle lines
    for row, col in [(y0 + 1, across), (y1 - 2, across), (down, x0 + 1), (down, x1 - 2)]:
        assert _is_red(boxed[row, col]), f"red on the box's edge at {(col, row)}"
        assert _is_red(grid[row, col]), "the grid was drawn over the box, not instead of it"
    assert answer.evidence[0].kind == "segment", "what the model cited comes first, its sketches after"
    sketches = sorted((e for e in answer.evidence if e.kind == "sketch"), key=lambda e: e.image_path)
    assert [Path(e.image_path).name for e in sketches] == ["1.png", "2.png", "3.png"]
    assert all(Path(e.image_path).is_file() and e.frames[0].time == pytest.approx(24.0, abs=0.5) for e in sketches)
    saved = np.asarray(Image.open(sketches[1].image_path))
    assert saved.shape == (600, 1200, 3)
    assert (saved[100:108, 600] == PALETTE["red"]).all(), "the saved PNG is the sketch at full size"


@pytest.mark.slow
def test_hostile_sketch_arguments_from_the_model_become_error_steps(library, video_id):
    hostile = [
        _act("sketch", frame=99999, tool="box", args={"box": [0, 0, 10, 10]}),
        _act("sketch", frame="image", tool="box", args={"box": [0, 0, 10, 10]}),
        _act("sketch", frame=3, tool="exec", args={"code": "__import__('os').system('id')"}),
        _act("sketch", frame=3, tool="box", args={"box": [0, 0, 1e308, -1e308]}),
        _act("sketch", frame=3, tool="box", args={"box": "everything"}),
        _act("sketch", frame=3, tool="crop", args={"box": [5000, 5000, 6000, 6000]}),
        _act("sketch", frame=3, tool="grid", args={"rows": 10**6, "cols": 2}),
        _act("sketch", frame=3, tool="detect", args={}),
        _act("sketch", frame=3, tool="side_by_side", args={"times": [1, 1e9]}),
        _act("sketch", time=-5, tool="box", args={"box": [0, 0, 10, 10]}),
        '{"action": "sketch", "args": {"frame": 3, "tool": "box", "args": {"box": [NaN, 0, 10, 10]}}}',
        _act("sketch", frame=3, tool="box", args={"box": [0, 0, 10, 10], "label": "x" * 10_000}),
    ]
    # An answer needs evidence first (a policy rule), so the model searches once after the hostile sketches.
    script = [*hostile, _act("search_episodic", query="vault code"), _act("answer", text="4172")]
    with ScriptedOpenAIServer(script) as server:
        longshot = _vlm_library(library, server, agent__max_steps=20, agent__max_invalid=20)
        answer = longshot.ask(video_id, "What code is shown on screen?")
        assert server.errors == []
    errors = [s.error for s in answer.trace[: len(hostile)]]
    assert len(answer.trace) == len(hostile) + 2 and answer.trace[-2].error is None
    assert all(errors), errors
    assert "99999" in errors[0] and "exec" in errors[2] and "detector" in errors[7]
    assert answer.text == "4172" and not [e for e in answer.evidence if e.kind == "sketch"]


@pytest.mark.slow
def test_sketches_never_see_past_until(library, video_id):
    script = [
        _act("sketch", time=50.0, tool="grid", args={"rows": 2, "cols": 2}),
        _act("sketch", frame=45, tool="grid", args={"rows": 2, "cols": 2}),
        _act("sketch", time=1.0, tool="side_by_side", args={"times": [1, 50]}),
        _act("answer", text="nothing yet"),
    ]
    with ScriptedOpenAIServer(script) as server:
        answer = _vlm_library(library, server).ask(video_id, "What is on screen?", until=30.0)
    nearest, late, beyond = answer.trace[:3]
    assert nearest.error is None and nearest.evidence[0].frames[0].time <= 30.0
    assert "frame 45 does not exist" in late.error and "0:30" in late.error
    assert "past the end" in beyond.error


@pytest.mark.slow
def test_offline_policy_answers_a_question_about_text_from_its_text_run_at_its_own_times(library, video_id):
    """What ingest read on screen is a timeline occurrence: the answer quotes it with its own span, with no
    closer look (the sketchpad's OCR at zoom is for what memory holds too little of)."""
    answer = library.ask(video_id, "What code is shown on screen?")
    assert answer.text.startswith("VAULT CODE 4172") and not answer.abstained
    [shown] = [e for e in answer.evidence if e.kind == "occurrence"]
    assert shown.modality == "text" and 20.0 <= shown.start < shown.end <= 27.0 and "4172" in shown.text
    assert answer.span == (shown.start, shown.end)
