"""Free-form answers scored by what they say: the code, the count, the duration within a tolerance, the words.

A person reading "3 times, at 4:12, 17:40 and 33:05" takes the count from its head, and
"GATE B7 CLOSED (12:05-12:50); before it, PLATFORM 4 DELAYED" as naming the gate. So a
truth is checked against the reply the same way: what the reply names first among the
right answer and its rivals (near-miss codes, the other notices of the video) decides,
and the extra words a useful answer carries (times, evidence) neither help nor hurt.
Numbers are read as digits ("nine" is 9), codes whether or not their hyphen survived.

Truths are frozen values that round-trip through JSON (`truth_to_dict` / `truth_from_dict`),
so a report can be re-scored from results.jsonl alone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from typing import Any

from perception.errors import LongshotError

SPAN_IOU = 0.3  # a "when" answer counts when it overlaps the truth this much (LVBench/Charades report R@0.3 and R@0.5)
WINDOW_SLACK = 3  # extra reply words allowed between the words of a phrase ("Gate B7 is now closed")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
_ABSENT = re.compile(
    r"\b(?:not\s+(?:found|shown|mentioned|said|seen|heard|stated|present|visible|displayed|there|in\s+(?:the|this)\s+video)"
    r"|never|no\s+(?:mention|such|notice|record|evidence)|does\s*n[o']t|did\s*n[o']t|is\s*n[o']t|are\s*n[o']t"
    r"|none\s+of|nothing)\b"
)
_CLOCK = r"\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?"
_CLOCK_SPAN = re.compile(rf"({_CLOCK})\s*(?:-|–|—|to|until|and)\s*({_CLOCK})")
_AMOUNT = re.compile(
    r"\b(?P<n>\d+(?:\.\d+)?|an?|half\s+an?)\s*(?P<unit>hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b"
    r"(?P<half>\s+and\s+a\s+half)?"
)
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


class TruthError(LongshotError):
    """A stored truth cannot be read back (an unknown kind or missing fields)."""


@dataclass(frozen=True)
class Mention:
    """The reply names one of `accept` (a phrase, its words in order give or take a few) before any of `rivals`."""

    accept: tuple[str, ...]
    rivals: tuple[str, ...] = ()


@dataclass(frozen=True)
class Count:
    """The number of times something happens: the reply's first count ("3 times", "twice", "4")."""

    value: int


@dataclass(frozen=True)
class Duration:
    """How long something lasts: the reply's first duration ("about 45 seconds", "1 min 30 s", or a span's length)."""

    seconds: float
    tolerance: float


@dataclass(frozen=True)
class YesNo:
    """A yes/no question: the reply's first "yes", "no", or statement that the thing is absent."""

    value: bool


@dataclass(frozen=True)
class Absent:
    """The thing asked about never happens: the reply must say so ("not found", "never shown")."""


@dataclass(frozen=True)
class Span:
    """A "when" question: the predicted span (or the first span written in the reply) overlaps this one enough."""

    start: float
    end: float
    min_iou: float = SPAN_IOU


Truth = Mention | Count | Duration | YesNo | Absent | Span
_KINDS: dict[str, type] = {
    "mention": Mention,
    "count": Count,
    "duration": Duration,
    "yesno": YesNo,
    "absent": Absent,
    "span": Span,
}


def grade(truth: Truth, text: str, span: tuple[float, float] | None = None) -> bool:
    """Whether a free-form reply (and the span it gave, if any) is right by content."""
    words = tokens(text)
    if isinstance(truth, Mention):
        return _names_first(words, truth.accept, truth.rivals)
    if isinstance(truth, Count):
        return first_count(text) == truth.value
    if isinstance(truth, Duration):
        found = first_duration(text)
        return found is not None and abs(found - truth.seconds) <= truth.tolerance
    if isinstance(truth, YesNo):
        return first_polarity(text) is truth.value
    if isinstance(truth, Absent):
        return says_absent(text)
    predicted = span if span is not None else first_span(text)
    return predicted is not None and span_iou(predicted, (truth.start, truth.end)) >= truth.min_iou


def truth_to_dict(truth: Truth) -> dict[str, Any]:
    kind = next(name for name, cls in _KINDS.items() if isinstance(truth, cls))
    return {"kind": kind, **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(truth).items()}}


def truth_from_dict(data: dict[str, Any]) -> Truth:
    cls = _KINDS.get(str(data.get("kind")))
    if cls is None:
        raise TruthError(f"unknown truth kind {data.get('kind')!r}; known: {', '.join(_KINDS)}")
    try:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    except TypeError as err:
        raise TruthError(f"truth {data!r} does not fit {cls.__name__}: {err}") from None


# --- reading a reply ----------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case without accents, number words as digits ("twenty one" -> "21"), hyphens in codes dropped ("K7-RM4" -> "k7rm4").

    Accents go because OCR sometimes adds one ("CLÓSES"); a hyphen between two numbers stays,
    so "12:05-12:50" is still two times.
    """
    text = re.sub(r"[‐–—]", "-", text.lower().replace("’", "'"))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"(?<=[a-z])-(?=[a-z0-9])|(?<=[0-9])-(?=[a-z])", "", text)
    words = re.findall(r"[a-z0-9]+(?:\.\d+)?|[^a-z0-9\s]", text)
    out: list[str] = []
    for word in words:
        value = _UNITS.get(word)
        if value is not None and out and out[-1].isdigit() and out[-2:-1] != [":"] and _was_tens(out[-1]) and value < 10:
            out[-1] = str(int(out[-1]) + value)
        else:
            out.append(str(value) if value is not None else word)
    return " ".join(out)


def _was_tens(word: str) -> bool:
    return word.isdigit() and int(word) in {_UNITS[t] for t in _TENS}


def tokens(text: str) -> list[str]:
    """The words and numbers of a text, normalised; punctuation dropped."""
    return [w for w in normalise(text).split() if re.fullmatch(r"[a-z0-9.]+", w)]


def _phrase_at(words: list[str], phrase: list[str]) -> int | None:
    """Where the earliest window of the reply holding every word of `phrase` starts.

    A word also matches two or three neighbouring reply words run together, so "K7 RM4"
    read off a screen matches the code "K7-RM4".
    """
    if not phrase:
        return None
    joined = [{w, *("".join(words[i : i + n]) for n in (2, 3) if i + n <= len(words))} for i, w in enumerate(words)]
    size = len(phrase) + WINDOW_SLACK
    for start in range(len(words)):
        window = set().union(*joined[start : start + size])
        if phrase[0] in joined[start] and all(word in window for word in phrase):
            return start
    return None


def _names_first(words: list[str], accept: tuple[str, ...], rivals: tuple[str, ...]) -> bool:
    def earliest(phrases: tuple[str, ...]) -> int | None:
        found = [at for p in phrases if (at := _phrase_at(words, tokens(p))) is not None]
        return min(found) if found else None

    right, wrong = earliest(accept), earliest(rivals)
    return right is not None and (wrong is None or right < wrong)


def first_count(text: str) -> int | None:
    """The count a reply leads with: "3 times", "twice", "once", else its first whole number that is not a time."""
    flat = normalise(text)
    flat = re.sub(r"\bonce\b", "1 times", flat)
    flat = re.sub(r"\btwice\b", "2 times", flat)
    flat = re.sub(r"\bthrice\b", "3 times", flat)
    flat = re.sub(r"\b\d{1,2}(?: : \d{2}){1,2}(?:\.\d+)?\b", " ", flat)  # clock times, as normalised ("4 : 12")
    timed = re.search(r"\b(\d+) (?:separate |different |distinct )?(?:times?|occurrences?|showings?|appearances?)\b", flat)
    if timed:
        return int(timed.group(1))
    for match in re.finditer(r"(?<![\d.])(\d+)(?![\d.])( (?:seconds?|secs?|minutes?|mins?|hours?|s|m))?", flat):
        if not match.group(2):
            return int(match.group(1))
    return None


def first_duration(text: str) -> float | None:
    """Seconds in the reply's first duration: an amount with units (summing "1 minute 30 seconds"), else a span's length."""
    flat = normalise(text).replace(" . ", ". ")
    flat = re.sub(r"\bhalf a minute\b", "30 seconds", flat)
    amounts = list(_AMOUNT.finditer(flat))
    if amounts:
        total, end = 0.0, None
        for match in amounts:
            if end is not None and not re.fullmatch(r"\s*(?:and|,)?\s*", flat[end : match.start()]):
                break
            n = match.group("n")
            value = 0.5 if n.startswith("half") else 1.0 if n in ("a", "an") else float(n)
            unit = _UNIT_SECONDS[match.group("unit")[0]]
            total += (value + (0.5 if match.group("half") else 0)) * unit
            end = match.end()
        return total
    span = first_span(text)
    return span[1] - span[0] if span is not None else None


def first_polarity(text: str) -> bool | None:
    """True for a reply that first says yes, False for one that first says no or that the thing is absent."""
    flat = normalise(text)
    yes = re.search(r"\b(?:yes|yeah|yep)\b", flat)
    no = re.search(r"\bno\b", flat)
    absent = _ABSENT.search(flat)
    found = [(m.start(), value) for m, value in ((yes, True), (no, False), (absent, False)) if m]
    return min(found)[1] if found else None


def says_absent(text: str) -> bool:
    return _ABSENT.search(normalise(text)) is not None or first_polarity(text) is False


def first_span(text: str) -> tuple[float, float] | None:
    """The first "M:SS-M:SS" (or "from M:SS to M:SS") written in a reply, in seconds."""
    match = _CLOCK_SPAN.search(text)
    if not match:
        return None
    start, end = (_clock(g) for g in match.groups())
    return (start, end) if start <= end else None


def _clock(text: str) -> float:
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def span_iou(predicted: tuple[float, float], gold: tuple[float, float]) -> float:
    """Temporal intersection over union of two (start, end) spans."""
    (ps, pe), (gs, ge) = sorted(predicted), sorted(gold)
    inter = max(0.0, min(pe, ge) - max(ps, gs))
    union = max(pe, ge) - min(ps, gs)
    if union <= 0:
        return 1.0 if (ps, pe) == (gs, ge) else 0.0
    return inter / union
