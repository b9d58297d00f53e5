"""Visits, camera moves and what is going on, read off the timeline ingest wrote for a recorded room
(visits at known seconds, one across a batch boundary) and for a camera that pans over a still scene."""

from __future__ import annotations

import numpy as np
import pytest

from app.policies.motion import answer_motion, read_motion
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


@pytest.mark.parametrize(
    ("question", "ask", "subject"),
    [
        ("When does someone first come into view?", "when", "person"),
        ("At what time does a person first show up?", "when", "person"),
        ("When does the first visitor walk in?", "when", "person"),
        ("When does anybody enter?", "when", "person"),
        ("How many times does someone come into view?", "count", "person"),
        ("How many people walk in?", "count", "person"),
        ("How often does the camera move?", "count", "camera"),
        ("How long does the visitor who arrives at about 5:00 stay?", "duration", "person"),
        ("For how long is someone in view after 1:03?", "duration", "person"),
        ("Is anyone there at 12:30?", "at", "person"),
        ("Is somebody in view at the 3 minute mark?", "at", "person"),
        ("What is happening at about minute 4?", "at", "any"),
        ("Does anything move at 2:10?", "at", "any"),
        ("Which way does the person who comes in at 1:47 cross the room?", "way", "person"),
        ("In which direction does the visitor at 0:41 walk across the frame?", "way", "person"),
        ("Does the camera pan left or right at about 2:14?", "camera", "camera"),
        ("What does the camera do around 2:14?", "camera", "camera"),
        ("When does the camera zoom in?", "when", "camera"),
        ("When is there movement for the last time?", "when", "any"),
    ],
)
def test_motion_questions_are_read_in_their_paraphrases(question, ask, subject):
    read = read_motion(question, duration=3600)
    assert read is not None and (read.ask, read.subject) == (ask, subject)


@pytest.mark.parametrize(
    "question",
    [
        "When is the notice 'GATE B7 CLOSED' shown?",
        "When does someone say 'the train is late'?",
        "What does the announcer say about the platform?",
        "When does the fire alarm go off?",
        "How many times is the vault code shown on screen?",
        "What is the code on the door?",
    ],
)
def test_questions_about_what_is_said_or_shown_are_not_motion(question):
    assert read_motion(question, duration=600) is None


def test_motion_questions_about_the_room_are_answered_from_its_visits(room_timeline):
    def reply(question: str, options: tuple[str, ...] = ()):
        ask = read_motion(question, options, SECONDS)
        assert ask is not None, question
        return answer_motion(ask, room_timeline, SECONDS)

    first = reply("When does someone first come into view?")
    assert first.span is not None and abs(first.span[0] - VISITS[0][0]) <= 1 and first.text.startswith("At 0:0")
    assert reply("How many times does someone come into view?").text.startswith("3 times, at 0:0")
    assert reply("How many people have come in by 0:30?").text.startswith("Twice")
    assert reply("Is anyone there at 0:33?").text.startswith("Yes")
    assert reply("Is anyone there at 0:45?").text.startswith("No")
    stay = reply("How long does the visitor who arrives at about 0:26 stay?")
    assert stay.span is not None and abs((stay.span[1] - stay.span[0]) - (VISITS[1][1] - VISITS[1][0])) <= 2
    options = ("Someone is in view", "The camera is moving", "Nothing moves: the scene is still")
    assert reply("What is happening at about 0:45?", options).choice == 2
    assert reply("Which way does the camera move at 0:20?", ("It pans left", "The camera does not move")).choice == 1
    assert reply("When does the camera zoom in?", ("At 0:10", "It never does")).choice == 1  # nothing: the absent option
