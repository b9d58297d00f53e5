"""Temporal questions answered from the timeline: the readings (showings, passages) on their own, and the
offline policy end to end on a real ingested video with two notices (VAULT CODE 4172 at 0:21-0:27,
GATE B7 CLOSED at 0:42-0:48)."""

from __future__ import annotations

import pytest

from app.agent import AgentState
from app.answer import Evidence
from app.policies.offline import OfflinePolicy
from app.policies.timeline_reading import passage, pick, quotation_match, showings, strong
from evals.grading import first_count, first_duration, first_polarity, first_span, span_iou


def occurrence(start: float, end: float, text: str, modality: str = "text") -> Evidence:
    return Evidence("occurrence", start, end, text, 0.5, key=f"occurrence:{start}:{text}", modality=modality)


def test_a_flickering_reading_is_one_showing_and_separate_showings_stay_apart() -> None:
    hits = [
        occurrence(10.0, 14.5, "GATE B7 CLOSED"),
        occurrence(15.5, 20.0, "GATE B7 CL0SED"),  # one frame lost, read again with a slip: the same showing
        occurrence(60.0, 65.0, "GATE B7 CLOSED"),
    ]
    found = showings(hits)
    assert [(s.start, s.end) for s in found] == [(10.0, 20.0), (60.0, 65.0)]
    assert pick(found, 1) is found[0] and pick(found, -1) is found[1] and pick(found, 3) is None


def test_strong_matches_need_the_quotation_said_and_not_a_near_miss() -> None:
    hits = [occurrence(1, 2, "GATE B7 CLOSED"), occurrence(3, 4, "GATE B8 CLOSED"), occurrence(5, 6, "PLATFORM 4 DELAYED")]
    assert [h.text for h in strong("GATE B7 CLOSED", True, hits)] == ["GATE B7 CLOSED"]


HEARD = "The foot all match has been moved to Saturday afternoon."


@pytest.mark.parametrize(
    "quotation",
    [
        "match has been moved to Saturday",
        "The match has been moved to Saturday afternoon",
        "the football match has been moved",  # "foot all": a content word misheard, the rest said as written
        "MATCH HAS BEEN MOVED TO SATURDAY!",
    ],
)
def test_a_quotation_is_said_with_its_small_words_and_forgives_a_misheard_content_word(quotation) -> None:
    assert quotation_match(quotation, HEARD) >= 0.8


@pytest.mark.parametrize(
    "quotation",
    [
        "match has been moved from Saturday",  # "from" for "to": another claim
        "the match has not been moved",  # "not": the opposite claim
        "match has been moved to Sunday afternoon",  # another word in its place, not one misheard
        "the match has been cancelled",
        "the match was moved to Saturday",  # "was" for "has been"
    ],
)
def test_a_near_miss_quotation_is_not_said(quotation) -> None:
    assert quotation_match(quotation, HEARD) < 0.8


def test_speech_recognition_slips_pass_only_where_the_words_look_alike() -> None:
    assert quotation_match("wait on platform eight", "Passengers should wait on platform 8.") == 1.0  # digits for words
    assert quotation_match("the library will stay open until", "The library will stay open until 7 to 9.") == 1.0
    assert quotation_match("the library will stay closed until", "The library will stay open until 7 to 9.") == 0.0
    assert quotation_match("the shuttle to the airport", "The shuttle turn the airport out leaves at 7.") >= 0.8
    assert quotation_match("the shuttle to the airport", "The shuttle from the airport leaves at 7.") == 0.0
    assert quotation_match("the shuttle to the airport", "The shuttle the airport leaves at 7.") == 0.0
    assert quotation_match("", HEARD) == 0.0


def choose(question: str, options: tuple[str, ...], said: str) -> str | None:
    state = AgentState(question, options, None, 8, [10.0], 3000.0)
    state.evidence.append(Evidence("frame", 1830.0, 1840.0, said, 1.0, key="frame:1830"))
    return OfflinePolicy().force_answer(state).args.get("choice")


def test_an_option_said_where_it_differs_from_the_others_is_chosen_though_a_word_was_misheard() -> None:
    options = ("Until eight tonight", "Until seven tonight", "Until ten tonight", "The video does not mention it")
    question = "What do we hear about the library tonight?"
    assert choose(question, options, "Speech: The library will stay open until 7 to 9.") == "B"
    assert choose(question, options, "Speech: The museum will stay open until 7 to 9.") == "D"  # another subject
    assert choose(question, options, "Speech: The library will stay open late.") == "D"  # none of them said
    assert choose(question, options, "Speech: The library is open until seven or eight.") == "D"  # two of them


def test_a_quotation_cut_across_utterances_is_read_as_one_passage() -> None:
    first = occurrence(100.0, 103.2, "The meeting about the library roof", "speech")
    second = occurrence(103.5, 106.0, "is moved to room nine.", "speech")
    far = occurrence(140.0, 142.0, "Unrelated words.", "speech")
    found = passage("library roof is moved to room nine", True, first, [first, second, far])
    assert (found.start, found.end) == (100.0, 106.0)
    assert found.text == "The meeting about the library roof is moved to room nine."
    alone = passage("the meeting about", True, first, [first, second, far])
    assert (alone.start, alone.end) == (100.0, 103.2)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "check"),
    [
        ("How many times is the notice 'GATE B7 CLOSED' shown?", lambda a: first_count(a.text) == 1),
        ("How often does the sign reading 'VAULT CODE 4172' appear?", lambda a: first_count(a.text) == 1),
        ("How long does the text 'GATE B7 CLOSED' stay on screen?", lambda a: abs(first_duration(a.text) - 6.0) <= 2.0),
        ("When is 'GATE B7 CLOSED' displayed?", lambda a: span_iou(a.span, (42.0, 48.0)) >= 0.5),
        ("At what time does the vault code appear?", lambda a: span_iou(first_span(a.text), (21.0, 27.0)) >= 0.5),
        ("What is written on screen at 0:45?", lambda a: a.text.startswith("GATE B7 CLOSED")),
        ("What does the screen say 23 seconds in?", lambda a: a.text.startswith("VAULT CODE 4172")),
        ("Which notice appears right after 'VAULT CODE 4172'?", lambda a: a.text.startswith("GATE B7 CLOSED")),
        ("Is the notice 'GATE B8 CLOSED' ever shown?", lambda a: first_polarity(a.text) is False),
        ("Does the text 'VAULT CODE 4172' appear anywhere?", lambda a: first_polarity(a.text) is True),
        (
            "Which comes first, the notice 'GATE B7 CLOSED' or the notice 'VAULT CODE 4172'?",
            lambda a: a.text.startswith("'VAULT CODE 4172' comes first"),
        ),
        (
            "Which is shown first: the notice 'GATE B7 CLOSED' or the notice 'EXIT 12 OPEN'?",
            lambda a: "not found" in a.text and a.choice is None,
        ),
        ("What is the last notice shown?", lambda a: a.text.startswith("GATE B7 CLOSED")),
        ("Is 'GATE B7 CLOSED' shown after 'VAULT CODE 4172'?", lambda a: first_polarity(a.text) is True),
        ("Is the notice 'VAULT CODE 4172' displayed after 'GATE B7 CLOSED'?", lambda a: first_polarity(a.text) is False),
        ("How many times does text appear on screen?", lambda a: first_count(a.text) == 2),
    ],
)
def test_temporal_questions_are_answered_from_the_timeline(library, video_id, question, check) -> None:
    answer = library.ask(video_id, question)
    assert check(answer), (answer.text, answer.span)


@pytest.mark.slow
def test_multiple_choice_picks_the_absent_option_when_nothing_says_the_others(library, video_id) -> None:
    options = ("GATE C3 CLOSED", "GATE A1 CLOSED", "The video does not mention it")
    assert library.ask(video_id, "Which gate is closed in the video?", options).choice == "C"
    options = ("GATE B7 CLOSED", "GATE B3 CLOSED", "None of the above")
    assert library.ask(video_id, "Which gate is closed in the video?", options).choice == "A"


@pytest.mark.slow
def test_an_order_question_with_a_missing_event_picks_the_option_that_says_so(library, video_id) -> None:
    options = ("the notice 'EXIT 12 OPEN'", "the notice 'VAULT CODE 4172'", "One of them never happens in the video")
    assert library.ask(video_id, "Which of these happens earlier?", options).choice == "C"
    options = ("the notice 'GATE B7 CLOSED'", "the notice 'VAULT CODE 4172'", "One of them never happens in the video")
    assert library.ask(video_id, "Which of these happens earlier?", options).choice == "B"
    assert library.ask(video_id, "Which of these happens last?", options).choice == "A"
