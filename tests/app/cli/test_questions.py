"""`longshot ask` on the ingested library: the answer, its evidence with timestamps, the steps, and --json."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli

pytestmark = pytest.mark.slow

CODES = ["VAULT CODE 4127", "VAULT CODE 4172", "VAULT CODE 4712", "VAULT CODE 1472"]


def ask(library, video: str, question: str, *flags: str, options=CODES):
    chosen = [arg for option in options for arg in ("--option", option)]
    return CliRunner().invoke(cli, ["ask", video, question, *chosen, *flags, "--home", str(library.config.home)])


def test_ask_prints_the_answer_its_evidence_and_the_steps(library, video_id):
    result = ask(library, video_id, "What code is shown on screen?")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("(B) VAULT CODE 4172") and "[0:20-0:30]" in lines[0]
    assert any("0:20-0:30" in line and "VAULT CODE 4172" in line for line in lines[1:]), "evidence with its timestamps"
    assert "step 0: search_episodic" in result.stderr and "-> " in result.stderr
    assert "policy offline" in result.stdout


def test_ask_json_is_one_object_with_the_answer_evidence_and_trace(library, video_id):
    result = ask(library, video_id[:8], "When is the notice 'GATE B7 CLOSED' shown?", "--json", options=())
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["choice"] is None and answer["span"][0] < 48 and answer["span"][1] > 42
    assert answer["evidence"] and all({"start", "end", "kind", "text", "score", "frames"} <= set(e) for e in answer["evidence"])
    assert [step["index"] for step in answer["trace"]] == list(range(len(answer["trace"])))
    assert answer["trace"][-1]["action"] == "answer"


def test_ask_until_and_an_unknown_video(library, video_id):
    early = ask(library, "notices.mp4", "When is the notice 'GATE B7 CLOSED' shown?", "--until", "35", options=())
    assert early.exit_code == 0 and early.stdout.startswith("Not found in this video.")
    missing = ask(library, "no-such-video", "What code is shown?")
    assert missing.exit_code == 1 and missing.stderr.startswith("error:") and len(missing.stderr.strip().splitlines()) == 1
