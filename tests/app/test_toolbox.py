"""The toolbox runs actions through one registry keyed by action name: every action the prompt
offers runs by its name, and an image question's toolbox refuses the video actions by name."""

from __future__ import annotations

import pytest

from app.sketching import Sketcher
from app.toolbox import ACTIONS, Action, Observation, Toolbox, Turn, VideoMemories, action_schemas, validate
from perception.errors import ToolArgumentError

EXAMPLES = {
    "search_episodic": {"query": "vault code"},
    "search_semantic": {"query": "vault code"},
    "search_visual": {"query": "a notice"},
    "timeline": {"start": 0, "end": 60},
    "occurrences": {"query": "vault code"},
    "inspect": {"start": 20, "end": 30, "n": 2},
    "sketch": {"frame": 0, "tool": "box", "args": {"box": [0, 0, 40, 30]}},
}


def test_the_examples_cover_every_action_that_runs():
    assert set(EXAMPLES) == {name for name, spec in ACTIONS.items() if spec.handler is not None}


@pytest.mark.slow
def test_every_action_runs_by_its_name_on_a_video(library, video_id, tmp_path):
    store = library.frames(video_id)
    memories = VideoMemories(
        video_id, library.episodic, library.semantic, library.visual, library.working, store, library.timeline
    )
    toolbox = Toolbox(memories, Sketcher(tmp_path, library.models, store=store, video=video_id))
    for name, args in EXAMPLES.items():
        observation = toolbox.run(name, validate(Action(name, args)), Turn("What code is shown?"))
        assert observation.evidence, (name, observation.summary)
        assert all(item.start <= item.end <= 60.5 for item in observation.evidence)
    assert any(
        "4172" in item.text
        for item in toolbox.run(
            "search_episodic", validate(Action("search_episodic", EXAMPLES["search_episodic"])), Turn("q")
        ).evidence
    )
    assert (tmp_path / "1.png").is_file()  # the sketch was drawn and saved


def test_an_image_toolbox_sketches_and_refuses_video_actions_by_name():
    drawn = []

    def sketcher(args, seen, until):
        drawn.append(args.tool)
        return Observation(f"drew {args.tool}")

    toolbox = Toolbox.for_image(sketcher)
    assert toolbox.scales() == []
    sketch = validate(Action("sketch", {"frame": "image", "tool": "grid"}))
    assert toolbox.run("sketch", sketch, Turn("q")).summary == "drew grid" and drawn == ["grid"]
    for name in ("search_episodic", "search_semantic", "search_visual", "inspect"):
        with pytest.raises(ToolArgumentError, match="no video in this question; only sketch and answer apply"):
            toolbox.run(name, validate(Action(name, EXAMPLES[name])), Turn("q"))
    with pytest.raises(ToolArgumentError, match="answer is not a tool"):
        toolbox.run("answer", validate(Action("answer", {"text": "x"})), Turn("q"))


def test_an_image_prompt_offers_the_actions_an_image_toolbox_runs():
    assert [schema["name"] for schema in action_schemas(video=False)] == ["sketch", "answer"]
    assert [schema["name"] for schema in action_schemas()] == list(ACTIONS)


@pytest.mark.parametrize(
    ("name", "args", "problem"),
    [
        ("search_episodic", {"query": "x", "after": 30, "before": 10}, "after must not be later than before"),
        ("occurrences", {"query": "x", "after": -1}, "after must be a finite number of seconds"),
        ("occurrences", {"query": "x", "modalities": ["smell"]}, "modalities"),
        ("timeline", {"start": 20, "end": 10}, "end must not be before start"),
        ("timeline", {"start": 0, "end": float("inf")}, "end must be a finite number"),
    ],
)
def test_time_filters_and_ranges_are_checked_before_anything_runs(name, args, problem):
    with pytest.raises(ToolArgumentError, match=problem):
        validate(Action(name, args))


@pytest.mark.slow
def test_the_timeline_actions_read_occurrences_at_their_own_times_and_every_search_filters_by_time(library, video_id):
    store = library.frames(video_id)
    memories = VideoMemories(
        video_id, library.episodic, library.semantic, library.visual, library.working, store, library.timeline
    )
    toolbox = Toolbox(memories)

    def run(name, **args):
        return toolbox.run(name, validate(Action(name, args)), Turn("q")).evidence

    (vault,) = run("occurrences", query="VAULT CODE 4172", modalities=["text"])
    assert vault.kind == "occurrence" and vault.modality == "text" and 20 <= vault.start < vault.end <= 28
    assert [e.text for e in run("timeline", start=40, end=50, modalities=["text"])] == ["GATE B7 CLOSED"]
    assert {e.modality for e in run("timeline", start=40, end=50)} >= {"text", "scene"}
    assert run("occurrences", query="VAULT CODE 4172", after=30) == ()
    later = run("search_episodic", query="code", scale=10.0, after=30)
    assert later and all(e.start >= 30 for e in later)
    assert all(e.end <= 30 for e in run("search_semantic", query="code", before=30))
