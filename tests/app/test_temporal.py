"""Temporal question understanding: kinds and their paraphrases, targets, modality, relations, times, options.

Every entry of the parser's tables is exercised by at least one paraphrase here; the
`test_every_*_entry_has_a_paraphrase` tests fail when an entry is added without one.
"""

from __future__ import annotations

import math
import re

import pytest

from app.questions import KINDS, format_count, format_duration, parse_question, read_option, tables
from app.questions.options import ABSENT_PATTERNS
from app.questions.times import WINDOW_PATTERNS, find_windows

HOUR = 3600.0

# --- kinds ----------

# (question, options, kind): at least one example of every kind and of every cue in tables.KIND_CUES.
KIND_EXAMPLES: list[tuple[str, tuple[str, ...], str]] = [
    ("How many times is the notice 'GATE B7 CLOSED' shown?", (), "count"),
    ("How often does the narrator mention Mars?", (), "count"),
    ("How frequently is 'next stop' announced?", (), "count"),
    ("What is the number of times the bell is heard?", (), "count"),
    ("On how many occasions does the presenter say 'thank you'?", (), "count"),
    ("In how many separate moments is the message 'GATE B7' displayed?", (), "count"),
    ("How many separate appearances does the 'EXIT' notice make?", (), "count"),
    ("How many different notices are shown?", (), "count"),
    ("Count the times 'mind the gap' is said.", (), "count"),
    ("Which notice appears on screen most often?", ("EXIT", "GATE B7"), "count"),
    ("How long is the notice 'VAULT CODE 4172' shown?", (), "duration"),
    ("For how much time is the map visible?", (), "duration"),
    ("How much time does the warning stay on screen?", (), "duration"),
    ("What is the duration of the storm scene?", (), "duration"),
    ("For what length of time is 'PLATFORM 4' displayed?", (), "duration"),
    ("How many seconds is the notice 'EXIT' on screen?", (), "duration"),
    ("For how many minutes does the interview run?", (), "duration"),
    ("When is 'he was not an' said?", (), "when"),
    ("At what point does the dog bark?", (), "when"),
    ("What time does the notice 'GATE B7' appear?", (), "when"),
    ("In which minute is the castle mentioned?", (), "when"),
    ("What is the timestamp of the announcement about delays?", (), "when"),
    ("Where in the video is the castle described?", (), "when"),
    ("How far into the video does the map appear?", (), "when"),
    ("How many minutes into the video is the castle mentioned?", (), "when"),
    ("Tell me when the bell rings.", (), "when"),
    ("Which notice is shown first?", (), "order"),
    ("What is the last thing said?", (), "order"),
    ("Which comes first in the video?", ("the words 'a cat'", "the notice 'b dog'"), "order"),
    ("Which of these happens last?", ("x", "y"), "order"),
    ("In what order are the notices shown?", (), "order"),
    ("Which is said before the other?", ("'apples'", "'pears'"), "order"),
    ("Is the castle ever mentioned?", (), "exists"),
    ("Does anyone say 'good morning'?", (), "exists"),
    ("Is the notice red?", (), "yes_no"),
    ("What is shown right after 'the train leaves' is said?", (), "right_after"),
    ("What is said just before the notice 'EXIT' appears?", (), "right_before"),
    ("What does the man do after the subtitle 'let us begin' appears?", (), "after"),
    ("What is on screen before the narrator mentions the storm?", (), "before"),
    ("What does the announcer say while the notice 'GATE B7' is on screen?", (), "during"),
    ("Which notice is on screen at minute 7?", (), "at_time"),
    ("What does the narrator say about the castle?", (), "said"),
    ("What code is shown on screen?", (), "shown"),
    ("Which of these notices is shown on screen?", ("A", "B"), "choice"),
    ("What colour is the car?", (), "open"),
]


@pytest.mark.parametrize(("question", "options", "kind"), KIND_EXAMPLES)
def test_kind(question, options, kind) -> None:
    assert parse_question(question, options).kind == kind


def test_every_kind_has_an_example() -> None:
    assert {kind for _, _, kind in KIND_EXAMPLES} == set(KINDS)


def test_every_kind_cue_has_a_paraphrase() -> None:
    for kind, pattern in tables.KIND_CUES:
        examples = [q for q, _, k in KIND_EXAMPLES if k == kind]
        assert any(re.search(pattern, q, re.I) for q in examples), f"no {kind} example for {pattern}"


# Paraphrases of one question: each group must read the same (kind, target, modality, reference).
PARAPHRASES = {
    "count": [
        "How many times is the notice 'GATE B7' shown?",
        "How often is the notice 'GATE B7' shown?",
        "What is the number of times the notice 'GATE B7' is shown?",
        "On how many occasions is the notice 'GATE B7' shown?",
        "How frequently is the notice 'GATE B7' shown?",
    ],
    "duration": [
        "How long is the notice 'GATE B7' shown?",
        "For how much time is the notice 'GATE B7' shown?",
        "What is the duration the notice 'GATE B7' is shown?",
        "How much time is the notice 'GATE B7' shown for?",
        "For what length of time is the notice 'GATE B7' shown?",
    ],
    "when": [
        "When is 'mind the gap' said?",
        "At what time is 'mind the gap' said?",
        "At which moment is 'mind the gap' said?",
        "What time is 'mind the gap' said?",
        "Where in the video is 'mind the gap' said?",
        "Tell me when 'mind the gap' is said.",
        "Find the moment 'mind the gap' is said.",
    ],
    "right_after": [
        "What is shown immediately after 'mind the gap' is said?",
        "What is shown right after 'mind the gap' is said?",
        "What is shown just after 'mind the gap' is said?",
        "What is shown directly after 'mind the gap' is said?",
        "What is shown shortly after 'mind the gap' is said?",
        "What is the next thing shown after 'mind the gap' is said?",
        "What is shown the moment after 'mind the gap' is said?",
        "What is shown following 'mind the gap' being said?",
        "What is shown as soon as 'mind the gap' is said?",
        "Right after 'mind the gap' is said, what is shown?",
        "Immediately following 'mind the gap' being said, what is shown?",
    ],
    "right_before": [
        "What is shown right before 'mind the gap' is said?",
        "What is shown just before 'mind the gap' is said?",
        "What is shown immediately prior to 'mind the gap' being said?",
        "What is shown the moment before 'mind the gap' is said?",
        "What is the previous thing shown before 'mind the gap' is said?",
    ],
    "after": [
        "What is shown after 'mind the gap' is said?",
        "What is shown later than 'mind the gap' is said?",
        "What is shown subsequent to 'mind the gap' being said?",
        "Once 'mind the gap' is said, what is shown?",
        "After 'mind the gap' is said, what is shown?",
    ],
    "before": [
        "What is shown before 'mind the gap' is said?",
        "What is shown prior to 'mind the gap' being said?",
        "What is shown earlier than 'mind the gap' is said?",
        "What is shown ahead of 'mind the gap' being said?",
        "What is shown preceding 'mind the gap' being said?",
    ],
    "during": [
        "What is shown while 'mind the gap' is said?",
        "What is shown whilst 'mind the gap' is said?",
        "What is shown during 'mind the gap' being said?",
        "What is shown when 'mind the gap' is said?",
        "What is shown whenever 'mind the gap' is said?",
        "What is shown at the moment when 'mind the gap' is said?",
        "What is shown at the same time as 'mind the gap' is said?",
        "What is shown as 'mind the gap' is said?",
        "What is shown throughout 'mind the gap' being said?",
        "When 'mind the gap' is said, what is shown?",
    ],
    "exists": [
        "Is 'mind the gap' ever said?",
        "Does anyone say 'mind the gap'?",
        "Is 'mind the gap' said at all?",
        "Does someone say 'mind the gap'?",
        "Is 'mind the gap' spoken?",
        "Do we ever hear 'mind the gap' said?",
    ],
}


@pytest.mark.parametrize("group", sorted(PARAPHRASES))
def test_paraphrases_read_alike(group) -> None:
    readings = {q: parse_question(q) for q in PARAPHRASES[group]}
    shapes = {(p.kind, p.target, p.reference) for p in readings.values()}
    assert len(shapes) == 1, readings
    assert next(iter(shapes))[0] == group


def test_paraphrased_modality() -> None:
    for group in ("right_after", "right_before", "after", "before", "during"):
        for question in PARAPHRASES[group]:
            parsed = parse_question(question)
            assert parsed.modality == "text", question
            assert parsed.reference.modality == "speech", question
            assert (parsed.reference.target, parsed.reference.quoted) == ("mind the gap", True), question


def test_every_relation_cue_has_a_paraphrase() -> None:
    questions = [q for group in PARAPHRASES.values() for q in group]
    for relation, pattern, _ in tables.RELATION_CUES:
        assert any(re.search(pattern, q, re.I) and parse_question(q).kind == relation for q in questions), pattern


# --- targets and modality ----------


@pytest.mark.parametrize(
    ("question", "target", "quoted", "modality"),
    [
        ("When is 'he was not an' said?", "he was not an", True, "speech"),
        ("When is the notice “VAULT CODE 4172” shown?", "VAULT CODE 4172", True, "text"),
        ("How often does the narrator mention Mars?", "Mars", False, "speech"),
        ("Is the castle ever mentioned?", "castle", False, "any"),
        ("What colour is the giraffe's umbrella?", "colour giraffe umbrella", False, "any"),
        ("What does the sign say?", "", False, "text"),  # a sign "says" what is written on it
        ("What is heard?", "", False, "speech"),
        ("What is narrated about the harbour?", "harbour", False, "speech"),
        ("When is the word 'exit' announced?", "exit", True, "speech"),
        ("What is written on the board?", "board", False, "text"),
        ("What is displayed in the caption?", "", False, "text"),
        ("When does the banner read 'SALE'?", "SALE", True, "text"),
        ("Is the word 'exit' shown or said?", "exit", True, "any"),
        ("Why did the train stop?", "train stop", False, "any"),
        ("When is 'after the storm' said?", "after the storm", True, "speech"),  # quoted words trigger nothing
    ],
)
def test_target_and_modality(question, target, quoted, modality) -> None:
    parsed = parse_question(question)
    assert (parsed.target, parsed.quoted, parsed.modality) == (target, quoted, modality)


def test_a_quoted_cue_is_not_read_as_one() -> None:
    parsed = parse_question("When is 'how many times right after minute 5' said?")
    assert (parsed.kind, parsed.reference, parsed.window) == ("when", None, None)


def test_the_asked_event_and_the_referred_one_are_kept_apart() -> None:
    parsed = parse_question("What code is on screen while the narrator talks about the harbour?")
    assert (parsed.kind, parsed.target, parsed.modality) == ("during", "code", "text")
    assert (parsed.reference.target, parsed.reference.modality) == ("harbour", "speech")
    leading = parse_question("Right after the first notice appears, what does the announcer say?")
    assert (leading.kind, leading.modality, leading.target) == ("right_after", "speech", "")
    assert (leading.reference.modality, leading.reference.nth, leading.reference.target) == ("text", 1, "")


def test_before_and_after_without_an_event_are_not_relations() -> None:
    for question in ("What happens after that?", "What is said afterwards?", "What happens before it?"):
        assert parse_question(question).reference is None, question


def test_an_offset_from_the_event_is_kept() -> None:
    later = parse_question("What happens 5 minutes after the announcement?")
    assert (later.kind, later.target, later.reference.modality, later.reference.offset) == ("after", "", "speech", 300.0)
    earlier = parse_question("What is said ten seconds before the notice 'EXIT' appears?")
    assert (earlier.kind, earlier.reference.target, earlier.reference.offset) == ("before", "EXIT", -10.0)
    assert parse_question("What is shown right after 'mind the gap' is said?").reference.offset == 0.0


def test_a_gap_question_keeps_both_events() -> None:
    parsed = parse_question("How long after the bell rings does the train leave?")
    assert (parsed.kind, parsed.target) == ("duration", "train leave")
    assert (parsed.reference.relation, parsed.reference.target) == ("after", "bell rings")


# --- order and ordinals ----------

ORDINAL_EXAMPLES = [
    ("What is the second to last thing said?", -2),
    ("What is the penultimate notice?", -2),
    ("Which notice is shown first?", 1),
    ("What is the earliest notice?", 1),
    ("Which of the two is said earlier?", 1),
    ("What is the last thing said?", -1),
    ("What is the final notice shown?", -1),
    ("Which is said later?", -1),
    ("What is the most recent notice?", -1),
    ("What is the second notice shown?", 2),
    ("Which notice is shown second?", 2),
    ("What is the third thing said?", 3),
    ("What is the 4th notice?", 4),
    ("What is the fifth notice?", 5),
]


@pytest.mark.parametrize(("question", "nth"), ORDINAL_EXAMPLES)
def test_ordinals(question, nth) -> None:
    parsed = parse_question(question)
    assert (parsed.kind, parsed.nth) == ("order", nth)


def test_every_ordinal_entry_has_a_paraphrase() -> None:
    for nth, pattern in tables.ORDINALS:
        assert any(re.search(pattern, q, re.I) and n == nth for q, n in ORDINAL_EXAMPLES), pattern


def test_ordinals_qualify_other_kinds() -> None:
    assert (parse_question("When is the notice shown for the last time?").kind, parse_question("When is X shown last?").nth) == (
        "when",
        -1,
    )
    first = parse_question("How long is the first notice shown?")
    assert (first.kind, first.nth, first.modality) == ("duration", 1, "text")
    assert parse_question("When does the second goal happen?").nth == 2
    assert parse_question("How long does the notice 'EXIT' last?").nth is None  # "last" the verb


@pytest.mark.parametrize(
    "question",
    [
        "What does the announcer say about the last train?",
        "What do we hear regarding the first stop?",
        "What is written concerning the final call?",
        "On which platform should passengers for the last train wait?",
    ],
)
def test_an_ordinal_in_the_topic_names_it_and_asks_no_order(question) -> None:
    parsed = parse_question(question)
    assert parsed.nth is None and parsed.kind != "order"
    assert parse_question(question.replace("?", " first?")).nth == 1, "an ordinal outside the topic still asks for one"


def test_order_candidates_come_from_options_or_the_question() -> None:
    options = ("the words 'a cat'", "the notice 'b dog'")
    assert parse_question("Which comes first in the video?", options).candidates == ("a cat", "b dog")
    quoted = parse_question("Which is said first, 'apples' or 'pears'?")
    assert (quoted.kind, quoted.nth, quoted.candidates, quoted.target) == ("order", 1, ("apples", "pears"), "")
    plain = parse_question("Which happens last, the bell or the whistle?")
    assert (plain.kind, plain.nth, plain.candidates) == ("order", -1, ("bell", "whistle"))
    assert parse_question("In what order are the notices shown?").nth is None  # the whole sequence
    assert parse_question("Which comes first?", ("A", "B")).candidates == ("A", "B")
    assert parse_question("When is 'A' said?", ("0:10", "0:20")).candidates == ()


# --- precedence ----------


@pytest.mark.parametrize(
    ("question", "options", "kind", "why"),
    [
        ("How many times is 'hello' said in the first ten minutes?", (), "count", "count over at_time"),
        ("How long is the first notice shown after 'hello' is said?", (), "duration", "duration over order and after"),
        ("When is the last notice shown?", (), "when", "when over order"),
        ("What is the first thing said after 'welcome' appears?", (), "order", "order over after"),
        ("Is 'exit' said before 'gate' is shown?", (), "exists", "exists over before"),
        ("Is the notice shown at 12:30 red?", (), "exists", "a yes/no question with a showing verb asks whether it occurs"),
        ("Does the narrator sound happy while the map is shown?", (), "yes_no", "yes_no over during"),
        ("What is shown right after 'hello' is said near the end?", (), "right_after", "relation over at_time"),
        ("What does the narrator say at 12:30?", (), "at_time", "at_time over said"),
        ("What is said?", ("A", "B"), "choice", "with options, said is a choice"),
        ("When 'hello' is said, what is shown?", (), "during", "a leading when-clause is a relation"),
    ],
)
def test_precedence(question, options, kind, why) -> None:
    assert parse_question(question, options).kind == kind, why


def test_the_readings_below_the_kind_are_kept() -> None:
    parsed = parse_question("When is 'hello' first said after the notice 'EXIT' appears, in the last 5 minutes?")
    assert (parsed.kind, parsed.target, parsed.nth) == ("when", "hello", 1)
    assert (parsed.reference.relation, parsed.reference.target, parsed.reference.modality) == ("after", "EXIT", "text")
    assert parsed.span(HOUR) == (3300.0, 3600.0)


# --- times ----------

WINDOW_EXAMPLES: list[tuple[str, tuple[float, float] | None]] = [
    ("between 5:00 and 7:30", (300, 450)),
    ("from the 10 minute mark to the 12 minute mark", (600, 720)),
    ("between 5 and 10 minutes", (300, 600)),
    ("from minute 5 to 10", (300, 600)),
    ("12:05-12:50", (725, 770)),
    ("in the first ten minutes", (0, 600)),
    ("during the first minute", (0, 60)),
    ("in the first half hour", (0, 1800)),
    ("in the first half an hour", (0, 1800)),
    ("within the opening fifteen minutes of the video", (0, 900)),
    ("in the last 5 minutes", (3300, 3600)),
    ("in the final hour", (0, 3600)),
    ("in the second half of the video", (1800, 3600)),
    ("in the first quarter", (0, 900)),
    ("in the last third", (2400, 3600)),
    ("after the 20 minute mark", (1200, 3600)),
    ("past 45:00", (2700, 3600)),
    ("from 50:00 onwards", (3000, 3600)),
    ("right after 5:00", (300, 330)),
    ("before minute 3", (0, 180)),
    ("until the twenty-five minute mark", (0, 1500)),
    ("just before 10:00", (570, 600)),
    ("around minute 7", (390, 450)),
    ("at about 12:30", (720, 780)),
    ("roughly 10 minutes in", (570, 630)),
    ("at 12:30", (750, 750)),
    ("at 1:02:03", None),  # past the end of an hour-long video
    ("at the 15-minute mark", (900, 900)),
    ("at the one-hour mark", (3600, 3600)),
    ("at minute 7", (420, 420)),
    ("ten minutes in", (600, 600)),
    ("an hour and a half into the video", None),
    ("at 12 minutes", (720, 720)),
    ("at the beginning", (0, 360)),
    ("early in the video", (0, 360)),
    ("near the end", (3240, 3600)),
    ("at the very end of the video", (3240, 3600)),
    ("late in the video", (3240, 3600)),
    ("halfway through", (1620, 1980)),
    ("in the middle of the video", (1620, 1980)),
    ("at the midpoint", (1620, 1980)),
    ("after minute 5 but before minute 10", (300, 600)),
]


@pytest.mark.parametrize(("phrase", "seconds"), WINDOW_EXAMPLES)
def test_time_expressions(phrase, seconds) -> None:
    parsed = parse_question(f"What is shown {phrase}?")
    assert parsed.window is not None, phrase
    assert parsed.span(HOUR) == (None if seconds is None else tuple(float(s) for s in seconds))
    assert parsed.kind == "at_time"


def test_every_window_pattern_has_a_paraphrase() -> None:
    used = {f.pattern for phrase, _ in WINDOW_EXAMPLES for f in find_windows(phrase)}
    assert used == {name for name, _, _ in WINDOW_PATTERNS}


@pytest.mark.parametrize(
    "words",
    ["at the end of the announcement", "in the middle of the screen", "for a second", "the first notice", "often ten"],
)
def test_words_that_are_not_times(words) -> None:
    assert parse_question(f"What is shown {words}?").window is None


def test_relative_windows_wait_for_the_duration() -> None:
    end = parse_question("What is shown near the end?")
    assert end.window.relative and end.span() is None
    assert end.span(600.0) == (540.0, 600.0)
    after = parse_question("What is said after the 20 minute mark?")
    assert not after.window.relative and after.span() == (1200.0, math.inf)
    assert after.span(1000.0) is None  # the video ends before the window starts
    assert parse_question("What is said in the first ten minutes?").span(300.0) == (0.0, 300.0)
    assert parse_question("What is shown around 0:10?").span() == (0.0, 40.0)
    assert parse_question("What is shown at 12:30?").window.moment
    assert not parse_question("What is shown around 12:30?").window.moment


def test_numbers_in_words() -> None:
    assert parse_question("What is shown fifteen minutes in?").span() == (900.0, 900.0)
    assert parse_question("What is said in the first twenty five minutes?").span() == (0.0, 1500.0)
    assert parse_question("What is said in the last half an hour?").span(HOUR) == (1800.0, 3600.0)
    assert parse_question("What is shown a minute and a half in?").span() == (90.0, 90.0)
    assert parse_question("What is shown at the three quarters of an hour mark?").span() == (2700.0, 2700.0)


# --- options ----------

ABSENT = [
    "None",
    "None of the above",
    "none of these",
    "It is never shown",
    "The video does not mention it",
    "The castle is not mentioned",
    "It isn't said",
    "Not in the video",
    "No mention of it",
    "No such notice",
    "Cannot be determined",
    "Not enough information",
    "Unknown",
    "0 times",
    "Never",
    "not at all",
    "Only one of them is in the video",
]
PRESENT = ["the words 'he was not an'", "GATE B7 CLOSED", "he was not an", "Nothing but the sea", "3 times", "Not now, later"]


@pytest.mark.parametrize("option", ABSENT)
def test_options_that_say_the_thing_is_absent(option) -> None:
    assert read_option(option).absent


@pytest.mark.parametrize("option", PRESENT)
def test_options_that_do_not(option) -> None:
    assert not read_option(option).absent


def test_every_absent_pattern_has_a_paraphrase() -> None:
    for pattern in ABSENT_PATTERNS:
        assert any(re.search(pattern, option, re.I) for option in ABSENT), pattern


def test_the_absent_option_is_found() -> None:
    parsed = parse_question("What does the narrator say about Paris?", ("It rains", "It is big", "The video does not mention it"))
    assert parsed.absent_option == 2
    assert parse_question("What is said?", ("A cat", "A dog")).absent_option is None


@pytest.mark.parametrize(
    ("option", "count", "approximate"),
    [
        ("3 times", 3, False),
        ("three", 3, False),
        ("Three times.", 3, False),
        ("once", 1, False),
        ("twice", 2, False),
        ("thrice", 3, False),
        ("one time", 1, False),
        ("about 12 times", 12, True),
        ("exactly 4 times", 4, False),
        ("5x", 5, False),
        ("x5", 5, False),
        ("never", 0, False),
        ("3 times, at 4:12, 17:40 and 33:05", 3, False),
        ("twenty-one occasions", 21, False),
        ("7", 7, False),
        ("3 apples", None, False),
        ("3:00", None, False),
        ("2.5 times", None, False),
        ("GATE B7", None, False),
    ],
)
def test_count_options(option, count, approximate) -> None:
    meaning = read_option(option)
    assert (meaning.count, meaning.approximate) == (count, approximate)


@pytest.mark.parametrize(
    ("option", "seconds", "approximate"),
    [
        ("about 45 seconds", 45, True),
        ("45 s", 45, False),
        ("45s", 45, False),
        ("a minute and a half", 90, False),
        ("one and a half minutes", 90, False),
        ("1.5 minutes", 90, False),
        ("1:30", 90, False),
        ("90 seconds long", 90, False),
        ("2 minutes 30 seconds", 150, False),
        ("2m30s", 150, False),
        ("half an hour", 1800, False),
        ("roughly an hour", 3600, True),
        ("about 45 seconds, 12:05-12:50", 45, True),
        ("12:05-12:50", None, False),
        ("GATE B7", None, False),
        ("3 times", None, False),
    ],
)
def test_duration_options(option, seconds, approximate) -> None:
    meaning = read_option(option)
    assert meaning.seconds == (None if seconds is None else float(seconds))
    assert meaning.approximate == approximate


def test_time_options() -> None:
    assert read_option("12:05-12:50").window.resolve() == (725.0, 770.0)
    assert read_option("at 7:42").window.resolve() == (462.0, 462.0)
    assert read_option("near the end").window.resolve(100.0) == (90.0, 100.0)
    assert read_option("GATE B7 CLOSED").window is None


def test_option_queries_take_the_quotation() -> None:
    assert read_option("the notice 'GATE B7 CLOSED'").query == "GATE B7 CLOSED"
    assert read_option("GATE B7 CLOSED").query == "GATE B7 CLOSED"


# --- answers ----------


def test_format_count() -> None:
    assert format_count([1985.0, 252.0, 1060.0]) == "3 times, at 4:12, 17:40 and 33:05"
    assert format_count([252.0]) == "once, at 4:12"
    assert format_count([252.0, 1060.0]) == "twice, at 4:12 and 17:40"
    assert format_count([]) == "never"
    assert format_count([float(t) for t in range(12)], listed=3) == "12 times, at 0:00, 0:01, 0:02 and 9 more"


def test_format_duration() -> None:
    assert format_duration(725.0, 770.0) == "about 45 seconds, 12:05-12:50"
    assert format_duration(0.0, 125.0, approximate=False) == "2 minutes 5 seconds, 0:00-2:05"
    assert format_duration(3600.0, 7381.0) == "about 1 hour 3 minutes 1 second, 1:00:00-2:03:01"
    assert format_duration(10.0, 10.2) == "under a second, 0:10-0:10.2"


def test_what_answers_write_options_read_back() -> None:
    assert read_option(format_count([252.0, 1060.0, 1985.0])).count == 3
    assert read_option(format_count([252.0])).count == 1
    assert read_option(format_duration(725.0, 770.0)).seconds == 45.0
    assert read_option(format_duration(0.0, 3725.0)).seconds == 3725.0
