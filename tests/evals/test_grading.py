"""Free-form replies scored by content: what a person would take from the reply, not string equality."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evals.grading import (
    Absent,
    Count,
    Duration,
    Mention,
    Span,
    TruthError,
    YesNo,
    first_count,
    first_duration,
    first_polarity,
    first_span,
    grade,
    normalise,
    truth_from_dict,
    truth_to_dict,
)

GATE = Mention(("GATE B7 CLOSED",), ("PLATFORM 4 DELAYED", "GATE B4 CLOSED"))
CODE = Mention(("K7-RM4",), ("K7-RM9", "K3-RM4"))


@pytest.mark.parametrize(
    "reply",
    [
        "GATE B7 CLOSED",
        "The notice reads 'Gate B7 closed' (12:05-12:50).",
        "Gate B7 is now closed, at 12:05; before it, PLATFORM 4 DELAYED.",
        "gate b7 closed",
    ],
)
def test_a_mention_counts_when_the_truth_is_named_before_any_rival(reply: str) -> None:
    assert grade(GATE, reply)


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "Not found in this video.",
        "PLATFORM 4 DELAYED, then GATE B7 CLOSED",  # leads with a rival
        "GATE B4 CLOSED",  # the near miss
        "Gate closed",  # not which gate
    ],
)
def test_a_mention_fails_without_the_truth_or_after_a_rival(reply: str) -> None:
    assert not grade(GATE, reply)


def test_codes_match_with_or_without_their_hyphen_and_near_misses_do_not() -> None:
    for reply in ("K7-RM4", "The code is K7 RM4.", "k7rm4 (at 3:12)", "code: K7–RM4"):
        assert grade(CODE, reply), reply
    for reply in ("K7-RM9", "K3-RM4, or maybe K7-RM4", "K7-RM"):
        assert not grade(CODE, reply), reply


def test_numbers_are_read_as_digits_either_way() -> None:
    assert normalise("Platform Nine, twenty one, 4 o'clock") == "platform 9 , 21 , 4 o ' clock"
    assert normalise("LIBRARY CLÓSES AT 6 PM") == "library closes at 6 pm"
    assert grade(Mention(("nine",), ("five",)), "It leaves from platform 9.")
    assert grade(Mention(("9",), ("5",)), "from platform nine")
    assert grade(Mention(("twenty",), ("ten", "forty")), "running 20 minutes late")


@pytest.mark.parametrize(
    ("reply", "count"),
    [
        ("3 times, at 4:12, 17:40 and 33:05", 3),
        ("It is shown twice (at 1:02 and 9:40).", 2),
        ("Once, at 12:30.", 1),
        ("Four times.", 4),
        ("The notice appears 2 separate times", 2),
        ("At 4:12, 7:30 and 9:00: 3", 3),
        ("at 4:12 only", None),
        ("Shown at 12:05-12:50 and 30:01-30:20", None),
        ("It stays up for 45 seconds", None),
    ],
)
def test_the_count_is_the_one_a_reply_leads_with_and_clock_times_are_not_counts(reply: str, count: int | None) -> None:
    assert first_count(reply) == count
    if count is not None:
        assert grade(Count(count), reply) and not grade(Count(count + 1), reply)


@pytest.mark.parametrize(
    ("reply", "seconds"),
    [
        ("about 45 seconds, 12:05-12:50", 45),
        ("1 minute 30 seconds", 90),
        ("1 min and 30 s", 90),
        ("1.5 minutes", 90),
        ("a minute and a half", 90),
        ("half a minute", 30),
        ("an hour", 3600),
        ("It is on screen from 12:05 to 12:50.", 45),
        ("shown 12:05-12:50", 45),
        ("for ninety seconds", 90),
        ("Not found in this video.", None),
    ],
)
def test_the_duration_is_the_first_amount_with_units_or_else_a_spans_length(reply: str, seconds: float | None) -> None:
    assert first_duration(reply) == seconds


def test_a_duration_is_right_within_its_tolerance() -> None:
    truth = Duration(45.0, 4.0)
    assert grade(truth, "about 42 seconds") and grade(truth, "49 s")
    assert not grade(truth, "about 40 seconds") and not grade(truth, "2 minutes") and not grade(truth, "")


@pytest.mark.parametrize(
    ("reply", "polarity"),
    [
        ("Yes, at 3:12.", True),
        ("yes", True),
        ("No.", False),
        ("No, it is never shown.", False),
        ("Not found in this video.", False),
        ("It is never said.", False),
        ("It is shown at 3:12.", None),
        ("", None),
    ],
)
def test_yes_or_no_is_the_first_the_reply_says(reply: str, polarity: bool | None) -> None:
    assert first_polarity(reply) is polarity
    assert grade(YesNo(True), reply) is (polarity is True)
    assert grade(YesNo(False), reply) is (polarity is False)


def test_absence_must_be_said() -> None:
    for reply in ("Not found in this video.", "The notice is not shown.", "It is never mentioned.", "No."):
        assert grade(Absent(), reply), reply
    for reply in ("GATE B7 CLOSED comes first", "", "At 3:12."):
        assert not grade(Absent(), reply), reply


def test_a_span_counts_by_iou_from_the_span_given_or_the_first_one_written() -> None:
    truth = Span(100.0, 110.0)
    assert grade(truth, "", (101.0, 109.0))
    assert not grade(truth, "", (90.0, 130.0))  # IoU 1/4
    assert grade(truth, "At 1:41-1:50.") and first_span("At 1:41-1:50.") == (101.0, 110.0)
    assert first_span("from 1:02:03 to 1:02:10") == (3723.0, 3730.0)
    assert not grade(truth, "At 1:41.")  # a moment is no span
    assert not grade(truth, "Not found in this video.")


@pytest.mark.parametrize(
    "truth",
    [GATE, CODE, Count(3), Duration(12.5, 2.5), YesNo(False), Absent(), Span(1.5, 4.25, 0.5)],
)
def test_truths_round_trip_through_json(truth) -> None:
    assert truth_from_dict(truth_to_dict(truth)) == truth


def test_an_unknown_truth_is_a_typed_error() -> None:
    with pytest.raises(TruthError, match="unknown truth kind"):
        truth_from_dict({"kind": "vibes"})
    with pytest.raises(TruthError, match="does not fit Count"):
        truth_from_dict({"kind": "count"})


@given(st.text(max_size=300), st.sampled_from([GATE, CODE, Count(2), Duration(30, 5), YesNo(True), Absent(), Span(0, 5)]))
def test_any_reply_is_graded_without_crashing(reply: str, truth) -> None:
    assert grade(truth, reply) in (True, False)
