"""`longshot demo`: the whole tour through the CLI, answers checked against what the sample holds."""

from __future__ import annotations

import re
import shutil

import pytest
from typer.testing import CliRunner

from app.sample_video import ANNOUNCEMENTS, SCENES
from evals.cli import cli

pytestmark = pytest.mark.slow


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
    spans = [re.search(r"\[(\d+:\d\d(?:\.\d)?)-(\d+:\d\d(?:\.\d)?)\]$", a) for a in answers]  # exact spans: tenths
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
