"""Motion through a real encoder and decoder: a still, noisy room recorded as H.264 with
visitors at random seconds, read back by perception.video at ingest's resolution and rate,
span by span with the extra frames each span asks for, as ingest reads it (`video_motion`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from perception.motion import Activity, Stillness
from tests.motion_media import COLOURS, Mover, scene, texture, video_motion, write_video

pytestmark = pytest.mark.slow

SIZE = (448, 252)


def room_video(path: Path, seconds: float, visits: list[tuple[float, float]], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    room = texture(*SIZE, seed=seed)
    colours = list(COLOURS.values())
    people = [
        Mover(colours[i % len(colours)], (rng.uniform(0.25, 0.75), 0.5), radius=0.11, since=a, until=b, wander=0.02)
        for i, (a, b) in enumerate(visits)
    ]
    noise = np.random.default_rng(seed + 1)
    return write_video(path, lambda t: scene(room, people, [t], noise=4.0, seed=int(noise.integers(1 << 30)))[0], seconds, fps=5)


def test_recorded_visits_come_back_within_half_a_second(tmp_path):
    visits = [(13.37, 21.81), (48.62, 49.91 + 9.7), (88.15, 103.44)]  # the last crosses a span boundary
    found, asked = video_motion(room_video(tmp_path / "room.mp4", 120, visits, seed=31))
    runs = [o for o in found if isinstance(o, Activity)]
    assert len(runs) == len(visits)
    for run, (start, end) in zip(runs, visits):
        # 1 fps places a change within half a second; the extra frames at 4 fps, within 0.2 s
        # plus the 5 fps recording's own step.
        assert abs(run.start - start) <= 0.5 and abs(run.end - end) <= 0.5, (run.text, start, end)
    assert 0 < asked <= 6 * 3 * len(visits)  # 3 frames in each pair where a run starts or ends
    stills = [o for o in found if isinstance(o, Stillness)]
    assert len(stills) == len(visits) + 1
    assert stills[0].text.startswith("no activity, 0:00-0:13")


def test_a_recorded_noisy_empty_room_has_no_activity(tmp_path):
    found, asked = video_motion(room_video(tmp_path / "empty.mp4", 90, [], seed=32))
    assert [type(o) for o in found] == [Stillness]
    assert found[0].start == 0.0 and found[0].end >= 88.5
    assert asked == 0
