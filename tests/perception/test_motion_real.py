"""Motion analysis on real footage made by others (../shared/media): people visiting a room,
a hand at a shelf, a cartoon; and the same clips reversed, whose directions must flip. Frames
are decoded by perception.video at ingest's working resolution, spans chained as ingest does,
with the extra frames each span asks for decoded by time."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from evals.needles.motion_media import FPS, read_room, write_frames
from evals.needles.motion_scene import MotionEvent, MotionScenario, frames
from perception.motion import Activity, CameraMotion, MotionAnalyser, Stillness
from perception.motion.records import MIN_TRAVEL, crossing, heading
from perception.video import FrameBatch, VideoReader
from tests.motion_media import video_motion

pytestmark = [pytest.mark.slow, pytest.mark.integration]

OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}
WORKING_SIDE = 448  # ingest's frame_max_side
PERSON_SHARE = 0.05  # the least share of the frame a visitor to the motion set's room fills
ANALYSER = MotionAnalyser()


def decode(path: Path, start: float, end: float, fps: float) -> FrameBatch:
    with VideoReader(path, max_side=WORKING_SIDE) as reader:
        return next(reader.sample(fps=fps, batch_size=10_000, start=start, end=end))


def activities(observations) -> list[Activity]:
    return [o for o in observations if isinstance(o, Activity)]


@pytest.mark.parametrize(
    ("clip", "start", "end", "fps"),
    [
        ("one-by-one-person-detection.mp4", 4, 10, 1),  # a woman walks in to the table
        ("one-by-one-person-detection.mp4", 16, 22, 1),  # ... and out again
        ("bottle-detection.mp4", 4.5, 9, 4),  # a hand takes a bottle from the shelf
        ("making_cake.mp4", 0, 10, 1),
        ("car-detection.mp4", 20, 30, 1),
    ],
)
def test_reversing_a_clip_flips_the_direction_found(media, clip, start, end, fps):
    batch = decode(media / "video" / clip, start, end, fps)
    analyser = MotionAnalyser()
    forward = activities(analyser.analyse(batch.frames, batch.times).observations)
    mirrored = (start + end) - batch.times[::-1]
    backward = activities(analyser.analyse(np.ascontiguousarray(batch.frames[::-1]), mirrored).observations)
    compared = 0
    for run in forward:
        if np.hypot(run.dx, run.dy) < MIN_TRAVEL:
            continue
        mirror = (start + end - run.end, start + end - run.start)
        twins = [b for b in backward if min(b.end, mirror[1]) - max(b.start, mirror[0]) > 0.5 * run.duration]
        for twin in twins:
            # The net travel turns round; so does the direction word, where the path is straight enough to have one.
            assert heading(twin.dx, twin.dy) == OPPOSITE[heading(run.dx, run.dy)], (run.text, twin.text)
            assert twin.direction in (OPPOSITE.get(run.direction), None), (run.text, twin.text)
            compared += 1
    assert compared >= 1, [r.text for r in forward]


def test_a_woman_walking_out_comes_toward_the_camera_and_her_reverse_does_not(media):
    batch = decode(media / "video" / "one-by-one-person-detection.mp4", 16, 22, 1)
    [out] = activities(MotionAnalyser().analyse(batch.frames, batch.times).observations)
    assert out.direction == "right" and out.depth == "toward"
    assert 19.5 <= out.end <= 21.5  # the room is empty from about 20.5 s
    mirrored = 38 - batch.times[::-1]
    [back] = activities(MotionAnalyser().analyse(np.ascontiguousarray(batch.frames[::-1]), mirrored).observations)
    assert back.direction == "left" and back.depth != "toward"


def test_people_visiting_a_room_one_by_one(media):
    """Five people walk in to a table and out again, one at a time; the room is empty between
    them (0-5 s, about 46-49 s, 88-92 s). Analysed span by span, as ingest does, at 1 fps with
    the extra frames each span asks for."""
    found, asked = video_motion(media / "video" / "one-by-one-person-detection.mp4", max_side=WORKING_SIDE)
    runs = activities(found)
    stills = [o for o in found if isinstance(o, Stillness)]
    assert len(runs) >= 5
    assert 4.5 <= runs[0].start <= 7.0
    assert all(r.start > 4.5 for r in runs)
    for quiet in ((0.5, 4.5), (46.5, 48.5), (89.0, 91.5)):
        assert any(s.start <= quiet[0] and s.end >= quiet[1] for s in stills), quiet
    assert 0 < asked < 140  # extra frames only where runs start and end


def test_each_visitor_to_the_room_crosses_it_to_the_right_and_played_backwards_to_the_left(media):
    """Every visitor to the room comes in at the bottom left or centre, stops at the table and leaves at the right
    edge: from where each was first to where each was last seen whole, the way is right; played backwards, left.
    Visits as measured for the motion set (evals/needles/motion_media.py), 1 fps, the frames of one visit a span."""
    from evals.needles.motion_media import VISITS

    for start, end in VISITS:
        batch = decode(media / "video" / "one-by-one-person-detection.mp4", start - 2, end + 2, 1)
        forward = [r for r in activities(ANALYSER.analyse(batch.frames, batch.times).observations) if r.share_peak >= 0.05]
        backward = [
            r for r in activities(ANALYSER.analyse(batch.frames[::-1], -batch.times[::-1]).observations) if r.share_peak >= 0.05
        ]
        assert crossing(forward[0].entry, forward[-1].exit) == "right", (start, end)
        assert crossing(backward[0].entry, backward[-1].exit) == "left", (start, end)


def test_the_camera_moving_over_the_empty_room_and_stopping_is_no_visit(media, tmp_path):
    # The motion set's camera moves (evals/needles/motion_scene.py), at random seconds and lengths: the pair of
    # frames the camera stops in holds too little of the move to fit, and once read as a visitor filling the frame.
    rng = random.Random(23)
    events, at = [], 3.0
    for move in ("tilt up", "tilt down", "pan right", "pan left", "zoom in", "zoom out"):
        start = _grid(at + rng.uniform(6, 14))
        end = _grid(start + rng.uniform(2.5, 4.5))
        events.append(MotionEvent(f"e{len(events)}", "camera", start, end, (), move, (start, end)))
        at = end
    scenario = MotionScenario(23, _grid(at + 8), tuple(events))
    path = write_frames(tmp_path / "camera.mp4", frames(scenario, read_room(media)))
    found, _ = video_motion(path, refine=False)  # as ingest sees it: 1 fps, the camera stopping inside a pair
    # What the camera's alignment leaves (specks of 1% at most) is allowed; nothing the size of a visitor (5%+).
    assert [a.text for a in activities(found) if a.share_peak >= PERSON_SHARE] == [], "the camera's moves are no one coming in"
    assert len([o for o in found if isinstance(o, CameraMotion)]) >= len(events) - 1


def _grid(seconds: float) -> float:
    """A time on the motion set's frame grid (1/FPS s), so events start and end on a frame."""
    return round(seconds * FPS) / FPS
