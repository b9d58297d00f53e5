"""Visits, camera moves and what is going on, read off the timeline ingest wrote for a recorded room
(visits at known seconds, one across a batch boundary) and for a camera that pans over a still scene."""

from __future__ import annotations

import numpy as np
import pytest

from app.policies.motion_reading import camera_moves, happening_at, nearest, visits
from memory.timeline import Occurrence
from tests.memory.test_build import ingestor
from tests.memory.test_ingest_motion import SECONDS, VISITS, models, room  # noqa: F401 (fixtures)
from tests.motion_media import camera, texture, write_video


@pytest.fixture(scope="module")
def room_timeline(tmp_path_factory, models, room) -> list[Occurrence]:  # noqa: F811
    ingest = ingestor(tmp_path_factory.mktemp("home"), models, models__ocr="none")
    video = ingest.ingest(room).video.id
    return ingest.timeline.between(video, 0, SECONDS)


def test_each_visit_is_one_visit_at_its_times(room_timeline):
    found = visits(room_timeline)
    assert len(found) == len(VISITS)
    for visit, (start, end) in zip(found, VISITS):
        assert abs(visit.start - start) <= 1 and abs(visit.end - end) <= 1
    assert camera_moves(room_timeline) == []


def test_what_is_going_on_at_a_moment(room_timeline):
    assert [happening_at(room_timeline, t) for t in (4.0, 11.0, 31.0, 45.0, 54.0, 65.0)] == [
        "still", "person", "person", "still", "person", "still",
    ]  # fmt: skip
    visit = nearest(visits(room_timeline), 27.0, within=3)
    assert visit is not None and abs(visit.start - VISITS[1][0]) <= 1
    assert nearest(visits(room_timeline), 45.0, within=3) is None


def test_a_pan_is_one_camera_move_and_no_visit(tmp_path, models):  # noqa: F811
    world = texture(900, 500, seed=3)
    times = np.arange(0, 30, 0.2)
    frames = camera(world, (448, 252), times, pan=0.0)
    moving = camera(world, (448, 252), times, pan=0.08)

    def frame(t: float) -> np.ndarray:
        i = round(t * 5)
        return moving[i - 50] if 50 <= i < 100 else frames[min(i, 49)] if i < 50 else moving[49]

    path = write_video(tmp_path / "pan.mp4", frame, 30, fps=5)
    ingest = ingestor(tmp_path / "home", models, models__ocr="none")
    video = ingest.ingest(path).video.id
    items = ingest.timeline.between(video, 0, 30)
    moves = camera_moves(items)
    assert [m.motion for m in moves] == ["pan right"]
    assert abs(moves[0].start - 10) <= 1 and abs(moves[0].end - 20) <= 1
    assert visits(items) == []
    assert happening_at(items, 15.0) == "camera" and happening_at(items, 25.0) == "still"
