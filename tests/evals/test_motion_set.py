"""The motion set: scripts whose events never overlap, at random seconds and lengths, with the camera's
window always inside the footage; and the CI video built from the real room footage, each question's
truth recomputed from the manifest's events, and the video's frames showing what the script says."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app import Longshot
from app.answer import LETTERS
from app.policies.motion import MOTION_MODALITIES, answer_motion, read_motion
from evals.datasets import get_dataset
from evals.grading import Count, Duration, Span, YesNo, grade
from evals.needles.motion_media import FPS, VISITS
from evals.needles.motion_questions import TYPES
from evals.needles.motion_scene import PERSON, REST_SCALE, _Window, compose
from perception.video import VideoReader


@pytest.mark.parametrize("seed", range(12))
def test_scripts_never_overlap_and_fall_at_random_seconds(seed):
    script = compose(seed, 12, visits=5, backs=2, moves=4)
    clips = [e.clip for e in script.events]
    assert all(a[1] + 12 - 1e-6 <= b[0] for a, b in itertools.pairwise(clips))  # still room between any two
    assert script.events[-1].clip[1] < script.duration
    assert Counter(e.kind for e in script.events) == {"visit": 5, "visit-back": 2, "camera": 8}  # each move and its return
    for event in script.people:
        assert event.clip[0] <= event.start < event.end <= event.clip[1]
        assert all(abs(t * FPS - round(t * FPS)) < 1e-6 for t in event.clip)  # cut on the frame grid
        assert event.motion == ("right" if event.kind == "visit" else "left")
        assert event.end - event.start <= max(b - a for a, b in VISITS) + 1e-6
    lengths = {round(e.end - e.start, 1) for e in script.people}
    assert len(lengths) > 1  # visits last different lengths
    assert len({round(e.start % 1, 1) for e in script.events}) > 1  # not aligned to whole seconds


def test_the_camera_window_stays_inside_the_footage():
    window = _Window()
    rng = __import__("random").Random(5)
    for _ in range(200):
        window.next_move(rng)
        assert window.scale <= REST_SCALE + 1e-9
        assert all(window.scale / 2 - 1e-9 <= c <= 1 - window.scale / 2 + 1e-9 for c in (window.x, window.y))


@pytest.mark.slow
def test_the_ci_video_and_its_truths(media: Path, tmp_path):
    items = list(get_dataset("needle:motion_ci", tmp_path / "sets", media=media).items())
    (folder,) = (tmp_path / "sets").iterdir()
    script = json.loads((folder / "manifest.json").read_text())["scenario"]
    people = [e for e in script["events"] if e["kind"] in PERSON]
    moves = [e for e in script["events"] if e["kind"] == "camera"]
    assert Counter(i.buckets["type"] for i in items) == dict.fromkeys(TYPES, 2)
    for item in items:
        truth = item.truth
        if isinstance(truth, Span):
            assert any((e["start"], e["end"]) == (truth.start, truth.end) for e in script["events"])
        if isinstance(truth, Count) and "whole" in item.question:
            assert truth.value == len(people)
        if isinstance(truth, Count) and "camera" in item.question:
            assert truth.value == len(moves)
        if isinstance(truth, Duration):
            assert any(abs(e["end"] - e["start"] - truth.seconds) < 0.1 for e in people)
        if isinstance(truth, YesNo) and item.question.startswith("Is anyone there"):
            at = _seconds(item.question.rsplit(" ", 1)[-1].rstrip("?"))
            assert truth.value == any(e["start"] <= at <= e["end"] for e in people)
        if item.options:
            assert item.answer is not None and len(set(item.options)) == len(item.options)

    # The frames show what the script says: before the camera first moves, the room differs from its
    # empty view where a person is in view and nowhere else.
    settled = min((e["clip"][0] for e in moves), default=script["duration"])
    events = [e for e in script["events"] if e["clip"][1] <= settled]
    still = [(a["clip"][1] + 3, b["clip"][0] - 3) for a, b in itertools.pairwise(events)]
    inside = [(e["start"] + e["end"]) / 2 for e in events]
    assert still and inside
    with VideoReader(folder / "motion.mp4") as reader:
        assert abs(reader.info.duration - script["duration"]) < 0.5
        empty = reader.frames_at([(a + b) / 2 for a, b in still]).frames.astype(np.float32)
        busy = reader.frames_at(inside).frames.astype(np.float32)
        reference = reader.frames_at([2.0]).frames[0].astype(np.float32)
    changed = [float((np.abs(f - reference).mean(axis=2) > 30).mean()) for f in (*empty, *busy)]
    assert all(c < 0.005 for c in changed[: len(empty)]) and all(c > 0.02 for c in changed[len(empty) :]), changed


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    return parts[0] * 60 + parts[1]


@pytest.mark.slow
def test_motion_answers_on_the_ci_video_clear_the_bar(media: Path, tmp_path):
    """Each CI question, read as a motion question and answered from what ingest wrote, offline; at least
    90% of each type (the full set's figures are `longshot eval --dataset needle:motion` runs)."""
    items = list(get_dataset("needle:motion_ci", tmp_path / "sets", media=media).items())
    longshot = Longshot(home=tmp_path / "home", models__speech="none", models__ocr="none")
    record = longshot.ingest(items[0].video).video
    occurrences = longshot.timeline.between(record.id, 0, record.duration + 1, modalities=MOTION_MODALITIES)
    right: Counter[str] = Counter()
    for item in items:
        ask = read_motion(item.question, item.options, record.duration)
        assert ask is not None, item.question
        reply = answer_motion(ask, occurrences, record.duration)
        if item.options:
            right[item.buckets["type"]] += reply.choice is not None and LETTERS[reply.choice] == item.answer
        else:
            assert item.truth is not None
            right[item.buckets["type"]] += grade(item.truth, reply.text, reply.span)
    asked = Counter(i.buckets["type"] for i in items)
    assert all(right[t] >= 0.9 * n for t, n in asked.items()), (right, asked)
