"""Time expressions in questions and options, read into windows of the video.

A bound is kept as `fraction` of the duration plus `seconds` ("in the last 5 minutes"
starts at 1.0 x duration - 300 s), so a question parses before anyone knows how long its
video is, and resolves once the duration is known. The table is tried in order and each
expression's words are taken out before the next pattern looks, so "between 5:00 and
7:30" is one range, not two moments, and "after the 20 minute mark" is a window, not an
event to look for.

Readings a person might argue with, fixed here so that they are the same everywhere:
"at 12:30", "at minute 7", "at the 15-minute mark" and "ten minutes in" are moments (a
window of no length); "around"/"about" a moment reaches AROUND either side of it, and so
does "right after"/"right before" a moment, on its side; "at the beginning" and "near the
end" are the first and last tenth of the video, "halfway through" the tenth around the
middle; "the middle" counts only as "the middle of the video" (a question about an image
means the middle of the picture); "before 0:10" or "the first minute" of a 30 s video is
cut to the video.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.questions.amounts import CLOCK, NUMBER, QUANTITY, clock_seconds, number_value, quantity_seconds

AROUND = 30.0  # seconds either side of "around 7:00", and after "right after 7:00"
OPENING = 0.1  # "at the beginning", "near the end": this share of the video at either end
MIDDLE = 0.05  # "halfway through": this share either side of the middle


@dataclass(frozen=True)
class Mark:
    """A moment: `fraction` of the video's duration plus `seconds`."""

    seconds: float = 0.0
    fraction: float = 0.0

    def at(self, duration: float | None) -> float | None:
        """Seconds from the start; None when it depends on a duration not known yet."""
        if self.fraction == 0.0:
            return self.seconds
        if duration is None:
            return None
        return self.fraction * duration + self.seconds

    def shifted(self, seconds: float) -> Mark:
        return Mark(self.seconds + seconds, self.fraction)


START, END = Mark(), Mark(fraction=1.0)


@dataclass(frozen=True)
class TimeWindow:
    """A stretch of the video a question or option names, and the words that named it."""

    start: Mark
    end: Mark
    phrase: str = ""

    @property
    def relative(self) -> bool:
        """Whether it cannot be placed before the video's duration is known ("near the end", "in the last 5 minutes").

        "After 20:00" can: it runs to the end, whatever that is.
        """
        return self.start.fraction != 0.0 or (self.end.fraction != 0.0 and self.end != END)

    @property
    def moment(self) -> bool:
        return self.start == self.end

    def resolve(self, duration: float | None = None) -> tuple[float, float] | None:
        """(start, end) in seconds, cut to the video when its duration is given.

        The end of the video is `math.inf` while the duration is unknown. None when a bound
        needs a duration that is not given, or when the window lies wholly past the end.
        """
        start = self.start.at(duration)
        end = math.inf if self.end == END and duration is None else self.end.at(duration)
        if start is None or end is None:
            return None
        start = max(0.0, start)
        if duration is not None:
            if start > duration:
                return None
            end = min(end, duration)
        return round(start, 3), round(max(start, end), 3)

    def within(self, other: TimeWindow) -> TimeWindow:
        """The part of this window inside `other` ("after minute 5 ... before minute 10").

        Bounds on the same scale keep the tighter one; otherwise the one that says more than
        "the start" or "the end" wins.
        """
        start, end = _tighter(self.start, other.start, START, max), _tighter(self.end, other.end, END, min)
        return TimeWindow(start, end, f"{self.phrase}; {other.phrase}")


def _tighter(a: Mark, b: Mark, default: Mark, pick: Callable[[float, float], float]) -> Mark:
    if a == default:
        return b
    if b == default or a.fraction != b.fraction:
        return a
    return Mark(pick(a.seconds, b.seconds), a.fraction)


# --- the table ------------------------------------------------------------------------------

_VIDEO = r"(?:video|clip|film|movie|recording|footage)"
# A moment that says it is one: "12:30", "the 15-minute mark", "minute 7", "ten minutes in".
_MARKED = (
    rf"(?:(?:the\s+)?(?:{CLOCK}|{QUANTITY})\s+mark\b|{CLOCK}|minute\s+{NUMBER}"
    rf"|{QUANTITY}\s+in(?:to\s+the\s+{_VIDEO})?\b)"
)
_MOMENT = rf"(?:{_MARKED}|{QUANTITY})"  # after a word that says a time follows ("after", "before", "around")
_NEAR = r"(?:right|just|immediately|directly|shortly|soon)\s+"
_FIRST_SPAN = rf"(?P<span>{QUANTITY}|(?:half[\s-])?(?:minute|hour)\b)"
_OF_VIDEO = rf"(?:\s+of\s+the\s+{_VIDEO})?"
# "the end" only as the video's: not "the end of the announcement" nor "the middle of the screen".
_NOT_OF_OTHER = rf"(?!\s+of\s+(?!the\s+{_VIDEO}\b))"
_PARTS = {"half": 2, "third": 3, "quarter": 4}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1, "final": -1}


def moment_seconds(text: str) -> float:
    """Seconds from the start at a `_MOMENT` match."""
    clock = re.search(CLOCK, text)
    if clock:
        return clock_seconds(clock.group())
    minute = re.search(rf"minute\s+({NUMBER})", text, re.I)
    if minute:
        return number_value(minute.group(1)) * 60
    return quantity_seconds(text)


def _span_seconds(text: str) -> float:
    return quantity_seconds(text) or quantity_seconds(f"a {text}")


def _range(m: re.Match) -> tuple[Mark, Mark]:
    a, b = sorted((moment_seconds(m["a"]), moment_seconds(m["b"])))
    return Mark(a), Mark(b)


def _unit_range(m: re.Match) -> tuple[Mark, Mark]:
    """ "between 5 and 10 minutes", "from minute 5 to 10": the unit said once, before or after the numbers."""
    unit = quantity_seconds(f"1 {m['pre'] or m['post']}")
    a, b = sorted((number_value(m["n1"]) * unit, number_value(m["n2"]) * unit))
    return Mark(a), Mark(b)


def _after(m: re.Match) -> tuple[Mark, Mark]:
    at = Mark(moment_seconds(m["a"]))
    return at, (at.shifted(AROUND) if m["near"] else END)


def _before(m: re.Match) -> tuple[Mark, Mark]:
    at = Mark(moment_seconds(m["a"]))
    return (at.shifted(-AROUND) if m["near"] else START), at


def _around(m: re.Match) -> tuple[Mark, Mark]:
    at = Mark(moment_seconds(m["a"]))
    return at.shifted(-AROUND), at.shifted(AROUND)


def _moment(m: re.Match) -> tuple[Mark, Mark]:
    at = Mark(moment_seconds(m["a"]))
    return at, at


def _part(m: re.Match) -> tuple[Mark, Mark]:
    size = 1.0 / _PARTS[m["part"].lower()]
    index = _ORDINALS[m["which"].lower()]
    first = 1.0 - size if index < 0 else (index - 1) * size
    return Mark(fraction=first), Mark(fraction=min(1.0, first + size))


def _fractions(start: float, end: float) -> Callable[[re.Match], tuple[Mark, Mark]]:
    return lambda _m: (Mark(fraction=start), Mark(fraction=end))


_FIRST_SPAN_WORDS = r"\b(?:(?:in|during|within|over|across|for)\s+)?the\s+"
WINDOW_PATTERNS: tuple[tuple[str, str, Callable[[re.Match], tuple[Mark, Mark]]], ...] = (
    (
        "range",
        rf"\b(?:between|from)\s+(?:the\s+)?(?P<a>{_MOMENT})\s+(?:and|to|till|until|through|-)\s+(?:the\s+)?(?P<b>{_MOMENT})",
        _range,
    ),
    (
        "range of one unit",
        rf"\b(?:between|from)\s+(?:(?P<pre>minutes?|seconds?|hours?)\s+)?(?P<n1>{NUMBER})\s+(?:and|to|-)\s+(?P<n2>{NUMBER})"
        rf"(?:\s+(?P<post>minutes?|seconds?|hours?))?\b(?(pre)|(?(post)|(?!)))",
        _unit_range,
    ),
    ("clock range", rf"(?P<a>{CLOCK})\s*[-–—]\s*(?P<b>{CLOCK})", _range),
    (
        "first span",
        rf"{_FIRST_SPAN_WORDS}(?:first|opening|initial|beginning)\s+{_FIRST_SPAN}{_OF_VIDEO}",
        lambda m: (START, Mark(_span_seconds(m["span"]))),
    ),
    (
        "last span",
        rf"{_FIRST_SPAN_WORDS}(?:last|final|closing|ending)\s+{_FIRST_SPAN}{_OF_VIDEO}",
        lambda m: (END.shifted(-_span_seconds(m["span"])), END),
    ),
    (
        "part",
        rf"{_FIRST_SPAN_WORDS}(?P<which>first|second|third|fourth|last|final)\s+(?P<part>half|third|quarter)\b{_OF_VIDEO}",
        _part,
    ),
    (
        "after",
        rf"\b(?P<near>{_NEAR})?(?:after|past|beyond|later\s+than|since|from)\s+(?:the\s+)?(?P<a>{_MOMENT})"
        r"(?:\s+on(?:wards?)?\b)?",
        _after,
    ),
    (
        "before",
        rf"\b(?P<near>{_NEAR})?(?:before|until|till|by|prior\s+to|earlier\s+than|up\s+(?:un)?to)\s+(?:the\s+)?(?P<a>{_MOMENT})",
        _before,
    ),
    (
        "around",
        rf"\b(?:(?:at|in)\s+)?(?:around|about|approximately|roughly|near|close\s+to|circa|approx\.?)\s+(?:the\s+)?(?P<a>{_MOMENT})",
        _around,
    ),
    ("moment", rf"\b(?:(?:at|in|on)\s+)?(?:the\s+)?(?<!for )(?P<a>{_MARKED})", _moment),
    ("at an amount", rf"\bat\s+(?P<a>{QUANTITY})", _moment),
    (
        "beginning",
        rf"\b(?:(?:at|in|near|toward|towards|around)\s+)?the\s+(?:very\s+)?(?:beginning|start|opening){_NOT_OF_OTHER}{_OF_VIDEO}"
        rf"|\bearly\s+(?:on\b|in\s+the\s+{_VIDEO})",
        _fractions(0.0, OPENING),
    ),
    (
        "end",
        rf"\b(?:(?:at|near|toward|towards|around|close\s+to)\s+)?the\s+(?:very\s+)?end\b{_NOT_OF_OTHER}{_OF_VIDEO}"
        rf"|\blate\s+in\s+the\s+{_VIDEO}",
        _fractions(1.0 - OPENING, 1.0),
    ),
    (
        "middle",
        rf"\b(?:(?:at|around|near)\s+)?(?:the\s+)?(?:half[\s-]?way|mid[\s-]?way)(?:\s+(?:through|point|mark))?{_OF_VIDEO}"
        rf"|\b(?:(?:in|at|around|near)\s+)?the\s+(?:middle|midpoint|mid-point)\s+of\s+the\s+{_VIDEO}"
        rf"|\b(?:at|around|near)\s+the\s+(?:midpoint|mid-point)\b",
        _fractions(0.5 - MIDDLE, 0.5 + MIDDLE),
    ),
)


_COMPILED = tuple((name, re.compile(pattern, re.I), build) for name, pattern, build in WINDOW_PATTERNS)


@dataclass(frozen=True)
class Found:
    """A time expression found in a text: where, which pattern, and the window it names."""

    start: int
    end: int
    pattern: str
    window: TimeWindow


def find_windows(text: str) -> list[Found]:
    """Every time expression in `text`, in the order they appear; each stretch of words is read once."""
    found: list[Found] = []
    remaining = text
    for name, pattern, build in _COMPILED:
        for m in pattern.finditer(remaining):
            if not m.group().strip():
                continue
            start, end = build(m)
            found.append(Found(m.start(), m.end(), name, TimeWindow(start, end, " ".join(m.group().split()))))
        remaining = blank(remaining, [(f.start, f.end) for f in found])
    return sorted(found, key=lambda f: f.start)


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the given stretches replaced by spaces, so later patterns neither see them nor shift."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def combine(windows: Sequence[TimeWindow]) -> TimeWindow | None:
    """The one window several expressions name together ("after minute 5 ... before minute 10"), or None."""
    if not windows:
        return None
    combined = windows[0]
    for window in windows[1:]:
        combined = combined.within(window)
    return combined


def window_of(text: str) -> TimeWindow | None:
    """The window all time expressions in `text` name together, or None when it names no time."""
    return combine([f.window for f in find_windows(text)])
