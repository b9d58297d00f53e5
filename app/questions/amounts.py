"""Amounts of time and counts as people write them: "ten", "twenty-five", "a minute and a half", "1:02:03".

Questions and options say numbers in words as often as in digits, so every pattern that
wants a number uses the `NUMBER` fragment here, and the matched text goes through
`number_value`. The patterns are regex fragments (no groups of their own) so that the
time-expression and option tables can embed them; the functions read what they matched.
"""

from __future__ import annotations

import re

_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen".split()  # noqa: SIM905
_UNITS += ["seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
WORD_VALUES = {word: value for value, word in enumerate(_UNITS)} | _TENS
COUNT_WORDS = {"never": 0, "once": 1, "twice": 2, "thrice": 3}

_WORD = "|".join(sorted(WORD_VALUES, key=len, reverse=True))
_ONES = "|".join(_UNITS[1:10])
# "twenty-five", "twenty five", "seven", "12", "1.5": digits (a sane number of them), or a tens word and a ones word.
NUMBER = (
    rf"(?:(?<![\d.])\d{{1,6}}(?:\.\d{{1,3}})?(?!\.?\d)"
    rf"|\b(?:(?:{'|'.join(_TENS)})(?:[- ](?:{_ONES}))?|{_WORD})\b)"
)
HALF = r"(?:\s+and\s+a\s+half)"
SECONDS_PER = {"h": 3600.0, "m": 60.0, "s": 1.0}
_LONG_UNIT = r"(?:hours?|hrs?|minutes?|mins?|seconds?|secs?)\b"
# One amount of one unit: "ten minutes", "15-minute", "an hour", "half an hour", "a quarter of an hour", "5m", "30 s".
_PAIR = (
    rf"(?:(?:{NUMBER}{HALF}?|\b(?:an?|half(?:\s+an?)?|(?:a|one|three)\s+quarters?\s+of\s+an?))[\s-]*{_LONG_UNIT}{HALF}?"
    r"|(?<![\d.])\d{1,6}(?:\.\d{1,3})?\s?[hms](?![a-z]))"
)
# Amounts of several units: "1 hour 2 minutes and 3 seconds", "2m30s", "an hour and a half".
QUANTITY = rf"(?:{_PAIR}(?:\s*,?\s*(?:and\s+)?{_PAIR})*)"
# A clock reading: "12:30", "1:02:03", "7:42.5".
CLOCK = r"(?<![\d:.])(?:\d{1,2}:)?\d{1,3}:[0-5]\d(?:\.\d+)?(?![\d:])"

_PAIR_PARTS = re.compile(
    rf"(?P<amount>{NUMBER}|\b(?:an?|half(?:\s+an?)?|(?:a|one|three)\s+quarters?\s+of\s+an?))(?P<half>{HALF})?[\s-]*"
    rf"(?P<unit>{_LONG_UNIT}|(?<=\d)\s?[hms](?![a-z]))(?P<trailing_half>{HALF})?",
    re.I,
)


def number_value(text: str) -> float:
    """The value of a `NUMBER` match: "12" -> 12, "1.5" -> 1.5, "twenty-five" -> 25, "Seven" -> 7."""
    text = text.strip().lower()
    if re.fullmatch(r"[\d.]+", text):
        return float(text)
    return float(sum(WORD_VALUES[word] for word in re.split(r"[- ]+", text)))


def _amount_value(text: str) -> float:
    text = " ".join(text.lower().split())
    if text in ("a", "an"):
        return 1.0
    if text.startswith("half"):
        return 0.5
    if "quarter" in text:
        return 0.75 if text.startswith("three") else 0.25
    return number_value(text)


def quantity_seconds(text: str) -> float:
    """Seconds in a `QUANTITY` match: "a minute and a half" -> 90, "1 hour 2 minutes" -> 3720, "2m30s" -> 150."""
    total = 0.0
    for part in _PAIR_PARTS.finditer(text):
        unit = SECONDS_PER[part["unit"].strip().lower()[0]]
        halves = 0.5 if part["half"] or part["trailing_half"] else 0.0
        total += (_amount_value(part["amount"]) + halves) * unit
    return total


def clock_seconds(text: str) -> float:
    """Seconds in a `CLOCK` match: "12:30" -> 750, "1:02:03" -> 3723."""
    total = 0.0
    for field in text.split(":"):
        total = total * 60 + float(field)
    return total
