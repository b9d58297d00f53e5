"""Which way a visitor goes, answered by what the question asks: where they come in, where they leave,
or which way they cross as a whole. The visitors walk in at one side, stop for a random while and
walk out at either side, at random seconds; the answers come from the motion analysis of their frames."""

from __future__ import annotations

import numpy as np
import pytest

from app.policies.motion import answer_motion, read_motion
from app.policies.motion_reading import visits
from tests.motion_media import scene, texture
from tests.perception.test_motion import SIZE, in_spans
from tests.perception.test_motion_paths import walk_in_stop_walk_out


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("Which way does the person who comes in at about 5:04 cross the room?", "crossing"),
        ("Does the person who appears around 7:39 walk across to the left?", "crossing"),
        ("Which way does the visitor at 1:00 walk?", "crossing"),
        ("Where does the person who comes in at 5:00 go?", "exit"),
        ("Which side does the visitor leave from?", "exit"),
        ("Which way does the person at 5:04 leave?", "exit"),
        ("Does the person who appears around 7:39 leave to the left?", "exit"),
        ("Where does the visitor at 3:00 exit?", "exit"),
        ("From which side does the visitor at 2:00 come in?", "entry"),
        ("Where does the first visitor enter?", "entry"),
        ("Does the second visitor come in from the right?", "entry"),
    ],
)
def test_a_question_about_a_visitors_way_asks_for_the_crossing_the_entry_or_the_exit(question, aspect):
    read = read_motion(question, duration=3600)
    assert read is not None and (read.ask, read.aspect) == ("way", aspect), question


def test_where_someone_is_is_not_a_way() -> None:
    read = read_motion("Where is the person at 5:00?", duration=3600)
    assert read is not None and read.ask == "at"


@pytest.mark.parametrize(("came", "went", "seed"), [("left", "left", 31), ("left", "right", 32), ("right", "left", 33)])
def test_entry_exit_and_crossing_are_answered_apart(came, went, seed):
    movers, _, end = walk_in_stop_walk_out(came, went, seed)
    times = np.arange(0.0, end + 12)
    found = in_spans(scene(texture(*SIZE, seed=seed), movers, times, noise=3.0, seed=seed), times, 30.0)

    def reply(question: str, options: tuple[str, ...] = ()):
        ask = read_motion(question, options, float(times[-1]))
        assert ask is not None, question
        return answer_motion(ask, found, float(times[-1]))

    sides = ("From the left", "From the right")
    assert reply("Which side does the visitor come in from?", sides).choice == sides.index(f"From the {came}")
    assert reply("Where does the visitor go?").text.startswith("Leaves at the")
    assert went in reply("Where does the visitor go?").text.split(" (")[0]
    assert reply(f"Does the visitor leave to the {went}?").text.startswith("Yes")
    other = "left" if went == "right" else "right"
    assert reply(f"Does the visitor leave to the {other}?").text.startswith("No")
    crossing = reply("Which way does the visitor cross the room?").text
    if came == went:
        assert "does not clearly cross" in crossing
    else:
        assert crossing.startswith(f"From {came} to {went}")


@pytest.mark.parametrize(("came", "went", "seed"), [("left", "right", 5), ("right", "left", 6), ("left", "left", 7)])
def test_a_visitor_who_stands_stock_still_is_one_visit(came, went, seed):
    """Stock still for 7-40 s, longer than any pause inside a run and across the end of an ingest span: the region
    stays where they stood (the scene does not return to what it was), so the next motion there is theirs."""
    movers, start, end = walk_in_stop_walk_out(came, went, seed, sway=0.0)
    times = np.arange(0.0, end + 12)
    found = in_spans(scene(texture(*SIZE, seed=seed), movers, times, noise=3.0, seed=seed), times, 30.0)

    (visit,) = visits(found)

    assert abs(visit.start - start) <= 1.0 and abs(visit.end - end) <= 1.5
    assert visit.crossing == (None if came == went else went)
