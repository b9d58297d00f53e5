"""What a multiple-choice option says beyond its words: that the thing is absent, a count, an amount of time.

A policy that found nothing strong should pick "the video does not mention it" rather
than guess, and a count or duration question is answered by comparing numbers, not
words ("three times" is "3 times"). The readings are independent: "1:30" is both an
amount (90 s) and a moment (1:30 into the video), and the question's kind decides which
one matters. An option with a quotation is read outside it: "the words 'he was not an'"
is not a negation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.questions.amounts import CLOCK, COUNT_WORDS, NUMBER, QUANTITY, clock_seconds, number_value, quantity_seconds
from app.questions.quotes import mask_quotes
from app.questions.times import TimeWindow, window_of
from app.scoring import search_query

_SAYS = (
    r"(?:mention(?:s|ed)?|say|says|said|stated?|shown|show|shows|displayed|display|heard|seen|appears?|appeared|present"
    r"|visible|spoken|written|given|specified|discussed|included|named|referred\s+to|occurs?|occurred|happen(?:s|ed)?"
    r"|in\s+the\s+(?:video|clip|film|recording)|there)"
)
# Phrases that say the thing asked about is not in the video (or that the video does not tell).
ABSENT_PATTERNS: tuple[str, ...] = (
    r"^\W*(?:none|nothing|neither|nobody|no\s+one|never)\W*$",
    r"\bnone\s+of\s+(?:the\s+)?(?:above|these|those|them|options|choices|answers|the\s+above)\b",
    rf"(?:\bnot|\bnever|n[’']t)\s+(?:(?:been|be|being|ever|actually|explicitly|once)\s+)*{_SAYS}\b",
    r"\bno\s+(?:mention|such|reference|indication|information|notice|sign|answer)\b",
    r"\b(?:cannot|can[’']t|can\s+not|could\s+not|couldn[’']t)\s+be\s+(?:determined|known|told|answered|found|inferred)\b",
    r"\b(?:not|in)\s*(?:enough|sufficient)\s+information\b|\binsufficient\s+(?:information|evidence)\b",
    r"\b(?:unknown|unanswerable|undetermined|not\s+(?:known|clear|determinable))\b",
    r"\b(?:zero|0)\s+times\b|\bnot\s+at\s+all\b|^\W*never\b",
    r"\bonly\s+one\s+of\s+(?:them|these|those|the\s+two)\b",  # an order question's "only one of them is in the video"
)
_ABSENT = re.compile("|".join(f"(?:{p})" for p in ABSENT_PATTERNS), re.I)
_ABOUT = r"(?:(?P<about>about|around|approximately|approx\.?|roughly|nearly|almost|some|circa|~)\s*|exactly\s+)?"
_TIMES = r"(?:times?|x|occasions?|occurrences?|appearances?)\b"
_COUNT = re.compile(
    rf"^\W*{_ABOUT}(?:(?P<number>{NUMBER})(?![:\d])(?:\s*(?P<times>{_TIMES}))?|(?P<word>{'|'.join(COUNT_WORDS)})\b"
    rf"|x\s*(?P<multiplier>\d{{1,6}})\b)(?P<rest>.*)$",
    re.I | re.S,
)
_AMOUNT = re.compile(
    rf"^\W*{_ABOUT}(?:(?P<quantity>{QUANTITY})|(?P<clock>{CLOCK})(?!\s*[-–—]\s*\d))"
    r"(?:\s+(?:long|in\s+total|total|or\s+so))?\s*(?:[,;(].*)?\W*$",
    re.I | re.S,
)


@dataclass(frozen=True)
class OptionMeaning:
    """One option as the policy compares it: what to search for and what it says beyond its words."""

    text: str
    query: str  # its quoted part, else all of it
    absent: bool = False  # it says the thing is not there
    count: int | None = None  # "3 times", "three", "once"
    seconds: float | None = None  # "about 45 seconds", "a minute and a half", "1:30"
    approximate: bool = False  # the count or amount was said with "about", "around"...
    window: TimeWindow | None = None  # a time in the video: "at 12:30", "near the end", "12:05-12:50"


def read_option(text: str) -> OptionMeaning:
    """The meaning of one option; any string reads, at worst as its words alone."""
    masked, _ = mask_quotes(text)
    count_value, seconds, approximate = None, None, False
    count = _COUNT.match(masked)
    if count:
        count_value = _count_value(count)
        approximate = count_value is not None and bool(count["about"])
    amount = _AMOUNT.match(masked)
    if amount:
        seconds = clock_seconds(amount["clock"]) if amount["clock"] else quantity_seconds(amount["quantity"])
        approximate = approximate or bool(amount["about"])
    return OptionMeaning(
        text=text,
        query=search_query(text),
        absent=bool(_ABSENT.search(masked)) or count_value == 0,
        count=count_value,
        seconds=seconds,
        approximate=approximate,
        window=window_of(masked),
    )


def _count_value(m: re.Match) -> int | None:
    """The count an option states: digits or words with "times", a count word, or a bare number and nothing else."""
    if m["word"]:
        return COUNT_WORDS[m["word"].lower()]
    if m["multiplier"]:
        return int(m["multiplier"])
    value = number_value(m["number"])
    rest = m["rest"]
    if value != int(value) or (not m["times"] and rest.strip(" .!")):
        return None  # a bare number is a count only as the whole option: "3 apples" is not one
    return int(value)


def absent_option(options: tuple[OptionMeaning, ...]) -> int | None:
    """The index of the option that says the thing is absent; the last such one, where "none of the above" usually sits."""
    found = [i for i, option in enumerate(options) if option.absent]
    return found[-1] if found else None
