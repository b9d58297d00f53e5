"""`longshot search` and `longshot ask --all` across a library of the shared clips find the right video
and moment: Megamind's spoken line about a book's cover, and Big Buck Bunny's opening title card."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app import Longshot
from app.cli import cli

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CLIPS = ["Megamind.avi", "big_buck_bunny_0_30.webm", "flipping_a_pancake.mkv", "cup.mp4", "vtest.avi", "box.mp4"]


@pytest.fixture(scope="module")
def shelf(media, tmp_path_factory):
    longshot = Longshot(home=tmp_path_factory.mktemp("shelf"))
    for clip in CLIPS:
        longshot.ingest(media / "video" / clip)
    return longshot


def run(shelf, *args: str):
    result = CliRunner().invoke(cli, [*args, "--home", str(shelf.config.home)])
    assert result.exit_code == 0, result.output
    return result


def test_search_finds_the_spoken_line_and_the_title_card(shelf):
    said = run(shelf, "search", "judge a book by its cover").stdout.splitlines()[0].split()
    assert said[1] == "Megamind.avi" and said[3] == "speech" and "cover" in said
    line = json.loads(run(shelf, "search", "judge a book by its cover", "-k", "1", "--json").stdout)
    assert line["source"] == "occurrence" and 0 < line["start"] < line["end"] < 10  # the utterance, at its own times
    printed = run(shelf, "search", "peach open movie project", "-k", "3", "--json").stdout
    shown = [json.loads(line) for line in printed.splitlines()]
    assert (shown[0]["name"], shown[0]["modality"]) == ("big_buck_bunny_0_30.webm", "text") and 20 <= shown[0]["start"] < 30
    assert "PEACH" in shown[0]["text"] and shown[0]["keyframe"] is not None and len(shown) == 3


def test_search_keeps_to_its_filters(shelf):
    only_text = run(shelf, "search", "judge a book by its cover", "--modality", "text").stdout
    assert "Megamind.avi" not in only_text
    elsewhere = run(shelf, "search", "judge a book by its cover", "--video", "cup.mp4", "--video", "box.mp4").stdout
    assert {line.split()[1] for line in elsewhere.splitlines()} <= {"cup.mp4", "box.mp4"}
    assert run(shelf, "search", "judge a book", "--after", "2999-01-01").stdout == ""


def test_ask_all_names_the_video_and_the_moment(shelf):
    result = run(shelf, "ask", "--all", "What should you not judge a book by?")
    first = result.stdout.splitlines()[0]
    assert first.startswith("Megamind.avi (0:00") and "cover" in first
    assert "Megamind.avi: step 0:" in result.stderr
    card = json.loads(run(shelf, "ask", "--all", "Which movie project presents the film?", "--json").stdout)
    start, end = card["answers"][0]["answer"]["span"]
    assert card["answers"][0]["name"] == "big_buck_bunny_0_30.webm" and 20 <= start < end <= 30  # the title card's own times
    assert "PEACH OPEN MOVIE PROJECT" in card["text"]


def test_ask_needs_a_video_and_a_question_or_all(shelf):
    result = CliRunner().invoke(cli, ["ask", "What is shown?", "--home", str(shelf.config.home)])
    assert result.exit_code == 2 and "--all QUESTION" in result.stderr
