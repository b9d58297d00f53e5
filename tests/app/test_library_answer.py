"""Questions across the library: candidates from library search, the agent on the best within the
budget, an answer that names every well-supported video for an open question and the best one for a
multiple-choice one, and "not found" when no video holds it."""

from __future__ import annotations

import pytest

from app import Longshot
from app.library_answer import NOT_FOUND, LibraryAnswer, LibraryStep, candidates
from tests.synth import make_video

NOTICES = {
    "north.mp4": [(4.0, 9.0, "BUDGET 4 MILLION")],
    "south.mp4": [(12.0, 17.0, "BUDGET 9 MILLION")],
    "harbour.mp4": [(3.0, 8.0, "FERRY LEAVES 0800")],
}


@pytest.fixture(scope="module")
def towns(tmp_path_factory) -> Longshot:
    folder = tmp_path_factory.mktemp("towns")
    longshot = Longshot(home=folder / "home", models__speech="none", ingest__scales=())
    for name, texts in NOTICES.items():
        longshot.ingest(make_video(folder / name, seconds=20, fps=2, size=(480, 272), texts=texts))
    return longshot


def test_an_open_question_names_every_video_that_answers_it_with_its_moment(towns):
    answer = towns.ask("What does the notice say about the budget?")
    assert isinstance(answer, LibraryAnswer) and not answer.abstained
    named = {a.name: a.answer.span for a in answer.answers}
    assert set(named) == {"north.mp4", "south.mp4"}
    for name, (start, end) in named.items():  # each moment overlaps its notice
        notice_start, notice_end, _ = NOTICES[name][0]
        assert start < notice_end and end > notice_start, (name, start, end)
    lines = answer.text.splitlines()
    assert len(lines) == 2 and any(line.startswith("north.mp4 (") and "4 MILLION" in line for line in lines)
    assert any(line.startswith("south.mp4 (") and "9 MILLION" in line for line in lines)
    assert "harbour.mp4" not in answer.text


def test_a_multiple_choice_question_takes_the_best_video(towns):
    answer = towns.ask("When does the ferry leave?", options=["0600", "0800", "1000"])
    assert answer.choice == "B" and answer.video == towns.video("harbour.mp4").id and len(answer.answers) == 1


def test_nothing_in_the_library_is_not_found(towns):
    answer = towns.ask(question="What colour is the astronaut's helmet?")
    assert answer.abstained and answer.text == NOT_FOUND and answer.video is None


def test_the_budget_bounds_the_videos_tried_and_steps_say_which_video(towns):
    events = list(towns.ask_library_stream("What does the notice say about the budget?", None))
    steps, answer = events[:-1], events[-1]
    assert steps and all(isinstance(s, LibraryStep) for s in steps) and isinstance(answer, LibraryAnswer)
    assert {s.name for s in steps} == {a.name for a in answer.tried}
    one = Longshot(config=towns.config.replace(agent__library_videos=1))
    assert len(one.ask("What does the notice say about the budget?").tried) == 1
    hurried = Longshot(config=towns.config.replace(agent__library_seconds=0.1))
    assert len(hurried.ask("What does the notice say about the budget?").tried) == 1  # the first always runs


def test_among_named_videos_only(towns):
    answer = towns.ask_library("What does the notice say about the budget?", videos=["south.mp4"])
    assert [a.name for a in answer.tried] == ["south.mp4"]


def test_candidates_rank_videos_by_their_best_moment(towns):
    moments = towns.search("budget notice", k=20)
    ranked = candidates(moments)
    assert [c.name for c in ranked][:2] in (["north.mp4", "south.mp4"], ["south.mp4", "north.mp4"])
    assert all(c.score == c.moments[0].score for c in ranked) and len({c.video for c in ranked}) == len(ranked)
