"""The sample video: the same bytes every time, notices on screen while they are up, speech where espeak-ng is."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.sample_video import ANNOUNCEMENTS, SCENES, make_sample, render_frame, scene_backdrop
from perception.video import VideoReader, probe, read_audio

pytestmark = pytest.mark.slow


def test_sample_is_the_same_bytes_every_time_with_notices_and_speech(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, speaks = make_sample(tmp_path / "a")
    second, _ = make_sample(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()  # the library knows it again on a second run
    info = probe(first)
    assert info.duration == pytest.approx(SCENES[-1].end, abs=0.5) and (info.width, info.height) == (640, 360)
    assert speaks == (shutil.which("espeak-ng") is not None) == info.has_audio
    with VideoReader(first) as reader:
        shown, hidden = reader.frames_at([15.0, 25.0]).frames
    assert np.abs(shown.astype(int) - hidden.astype(int)).mean() > 5  # the notice is up at 0:15, gone by 0:25
    if speaks:
        at = ANNOUNCEMENTS[0].at
        assert np.abs(read_audio(first, at, at + 3)).max() > 0.05 > np.abs(read_audio(first, 25, 28)).max()


def test_notice_is_drawn_only_while_it_is_up():
    scene = SCENES[0]
    backdrop = scene_backdrop(scene)
    before, during = render_frame(scene, backdrop, scene.notice_at[0] - 1), render_frame(scene, backdrop, scene.notice_at[0])
    middle = (slice(150, 210), slice(100, 540))
    assert during[middle].mean() > before[middle].mean() + 100  # a white box with black text
