"""Property tests of the temporal question parser: any text parses, and questions built from a grammar read as built."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from app.questions import KINDS, RELATIONS, format_count, format_duration, parse_question, read_option
from app.questions.amounts import quantity_seconds
from app.questions.phrases import format_amount
from tests.app.test_temporal import WINDOW_EXAMPLES

HOUR = 3600.0


def check_invariants(question: str, options: list[str]) -> None:
    parsed = parse_question(question, options)
    assert parsed.kind in KINDS
    assert parsed.modality in ("speech", "text", "any")
    assert parsed == parse_question(question, options)  # deterministic
    assert len(parsed.options) == len(options)
    if parsed.reference is not None:
        assert parsed.reference.relation in RELATIONS
    flat = " ".join(question.split()).lower()
    if parsed.quoted:
        assert all(part.lower() in flat for part in parsed.target.split())
    else:
        assert all(word.lower() in flat for word in parsed.target.split())
    for duration in (None, 1.0, 59.5, HOUR):
        span = parsed.span(duration)
        if span is not None:
            start, end = span
            assert 0.0 <= start <= end
            assert end <= (math.inf if duration is None else duration)
    for option in parsed.options:
        assert option.count is None or option.count >= 0
        assert option.seconds is None or (math.isfinite(option.seconds) and option.seconds >= 0)


@given(st.text(max_size=300), st.lists(st.text(max_size=60), max_size=5))
def test_any_text_parses(question, options) -> None:
    check_invariants(question, options)


# Word salad from the parser's own vocabulary reaches its deeper paths far more often than random text.
VOCABULARY = [
    *"how many times often long when what which is are does the a notice said shown heard on screen while during as"  # noqa: SIM905
    " after before right just immediately first last second between and at around minute minutes mark in into"
    " ten fifteen half an hour 5:00 7:30 1:02:03 near end beginning halfway , ? : ever anyone mention or"
    " never none not once twice about seconds duration order following next previous".split(),
    "'mind the gap'",
    "“GATE B7”",
    "'x'",
    "\ue000",
]


@given(
    st.lists(st.sampled_from(VOCABULARY), max_size=40), st.lists(st.lists(st.sampled_from(VOCABULARY), max_size=8), max_size=4)
)
def test_word_salad_parses(words, options) -> None:
    check_invariants(" ".join(words), [" ".join(o) for o in options])


# --- questions built from a grammar ----------------------------------------------------------

WORD = st.from_regex(r"[A-Za-z0-9]{2,8}", fullmatch=True)
QUOTED_TEXT = st.lists(WORD, min_size=1, max_size=5).map(" ".join)
QUOTES = st.sampled_from([("'", "'"), ('"', '"'), ("“", "”"), ("‘", "’")])
VERBS = st.sampled_from(
    [
        ("said", "speech"),
        ("heard", "speech"),
        ("announced", "speech"),
        ("shown", "text"),
        ("displayed", "text"),
        ("written", "text"),
    ]
)
# Unquoted targets: words outside the question frame and every table.
PLAIN_WORDS = st.lists(
    st.sampled_from(["castle", "harbour", "lantern", "orchid", "Mars", "violin", "Paris", "B7", "4172"]), min_size=1, max_size=3
)
FRAMES = {
    "count": ["How many times is {t} {v}?", "How often is {t} {v}?", "On how many occasions is {t} {v}?"],
    "duration": ["How long is {t} {v}?", "For how much time is {t} {v}?", "What is the duration of {t} being {v}?"],
    "when": ["When is {t} {v}?", "At what time is {t} {v}?", "At which point is {t} {v}?", "Where in the video is {t} {v}?"],
    "exists": ["Is {t} ever {v}?", "Is {t} {v} at all?"],
}
RELATION_PHRASES = [
    ("right after", "right_after"),
    ("immediately after", "right_after"),
    ("just after", "right_after"),
    ("right before", "right_before"),
    ("just before", "right_before"),
    ("after", "after"),
    ("before", "before"),
    ("while", "during"),
    ("during the moment", "during"),
    ("at the moment when", "during"),
]
TIMES = st.sampled_from([(p, s) for p, s in WINDOW_EXAMPLES if s is not None] + [("", None)])


@st.composite
def targets(draw) -> tuple[str, str, bool]:
    """(as written in the question, the target expected, whether quoted)."""
    if draw(st.booleans()):
        text = draw(QUOTED_TEXT)
        open_, close = draw(QUOTES)
        return f"{open_}{text}{close}", text, True
    words = draw(PLAIN_WORDS)
    return f"the {' '.join(words)}", " ".join(words), False


@given(st.sampled_from(sorted(FRAMES)), st.data(), targets(), VERBS, TIMES)
@settings(max_examples=300)
def test_built_questions_read_as_built(kind, data, target, verb, time) -> None:
    frame = data.draw(st.sampled_from(FRAMES[kind]))
    written, expected, quoted = target
    question = frame.format(t=written, v=verb[0])
    phrase, seconds = time
    if phrase:
        question = question.rstrip("?") + f" {phrase}?"
    parsed = parse_question(question)
    assert (parsed.kind, parsed.target, parsed.quoted, parsed.modality) == (kind, expected, quoted, verb[1]), question
    assert parsed.reference is None
    assert parsed.span(HOUR) == (None if not phrase else tuple(float(s) for s in seconds)), question


@given(st.sampled_from(RELATION_PHRASES), targets(), VERBS, VERBS, st.booleans(), TIMES)
@settings(max_examples=300)
def test_built_relational_questions_read_as_built(relation, target, asked_verb, referred_verb, leading, time) -> None:
    written, expected, quoted = target
    phrase, seconds = time
    cue, kind = relation
    if leading:
        question = f"{cue.capitalize()} {written} is {referred_verb[0]}, what is {asked_verb[0]}"
    else:
        question = f"What is {asked_verb[0]} {cue} {written} is {referred_verb[0]}"
    question += f" {phrase}?" if phrase else "?"
    parsed = parse_question(question)
    assert (parsed.kind, parsed.modality, parsed.target) == (kind, asked_verb[1], ""), question
    reference = parsed.reference
    assert (reference.relation, reference.target, reference.quoted, reference.modality) == (
        kind,
        expected,
        quoted,
        referred_verb[1],
    ), question
    assert parsed.span(HOUR) == (None if not phrase else tuple(float(s) for s in seconds)), question


CUE_PHRASES = [
    "how many times",
    "how often",
    "how long",
    "when",
    "at what time",
    "right after",
    "just before",
    "while",
    "as soon as",
    "after",
    "during",
    "at 12:30",
    "in the last 5 minutes",
    "near the end",
    "first",
    "the second",
    "last",
    "is it ever said",
]


@given(st.lists(st.sampled_from(CUE_PHRASES), min_size=1, max_size=6).map(" ".join))
def test_cue_words_inside_a_quotation_trigger_nothing(inner) -> None:
    """Whatever a quotation says ("how long", "right after", "12:30"), it is only the thing to look for."""
    parsed = parse_question(f"Is '{inner}' mentioned?")
    assert (parsed.kind, parsed.target, parsed.window, parsed.reference, parsed.nth) == ("exists", inner, None, None, None)


# --- options and answer phrases ------------------------------------------------------------------


@given(st.text(max_size=120))
def test_any_option_reads(option) -> None:
    meaning = read_option(option)
    assert meaning.text == option
    assert meaning.count is None or meaning.count >= 0
    assert meaning.seconds is None or meaning.seconds >= 0


@given(st.lists(st.floats(0, 5 * HOUR), max_size=30))
def test_counts_read_back(times) -> None:
    assert read_option(format_count(times)).count == len(times)


@given(st.floats(0, 5 * HOUR), st.floats(1, 2 * HOUR))
def test_durations_read_back(start, length) -> None:
    end = start + length
    meaning = read_option(format_duration(start, end))
    assert meaning.seconds == round(end - start)
    assert meaning.approximate


@given(st.integers(1, 100_000))
def test_amounts_read_back(seconds) -> None:
    assert quantity_seconds(format_amount(seconds)) == seconds
