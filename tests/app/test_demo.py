"""`longshot demo`: the sample video it makes, and the whole tour through the CLI."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from app.sample_video import ANNOUNCEMENTS, SCENES, make_sample, render_frame, scene_backdrop
from evals.cli import cli
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


def _seconds(clock: str) -> float:
    minutes, seconds = clock.split(":")
    return int(minutes) * 60 + float(seconds)


def _overlaps(span: tuple[float, float], start: float, end: float) -> bool:
    return span[0] < end and span[1] > start


def test_demo_answers_three_questions_with_timestamps(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "home")])
    assert result.exit_code == 0, result.output
    assert result.output.count("\nQ: ") == 3
    answers = re.findall(r"^Q: .*\n(.*)$", result.output, flags=re.MULTILINE)
    spans = [re.search(r"\[(\d+:\d\d)-(\d+:\d\d)\]$", a) for a in answers]
    assert len(answers) == 3 and all(spans), answers
    spans = [(_seconds(m.group(1)), _seconds(m.group(2))) for m in spans]
    # What each answer says, and that its moment overlaps where the sample says it (spoken or on screen).
    express, umbrella, lift, security = SCENES[0], SCENES[1], SCENES[3], SCENES[4]
    assert re.search(r"\bplatform (4|four)\b", answers[0], flags=re.IGNORECASE), answers[0]
    assert _overlaps(spans[0], ANNOUNCEMENTS[0].at, express.notice_at[1])
    assert "RED UMBRELLA" in answers[1] and _overlaps(spans[1], *umbrella.notice_at)
    if shutil.which("espeak-ng"):
        assert "luggage" in answers[2].lower() and _overlaps(spans[2], ANNOUNCEMENTS[2].at, security.end)
    else:
        assert "FRIDAY" in answers[2].upper() and _overlaps(spans[2], *lift.notice_at)
    assert "longshot serve --home" in result.output
    again = CliRunner().invoke(cli, ["demo", "--home", str(tmp_path / "home")])
    assert again.exit_code == 0 and "already in the library" in again.output
