"""A question read into what a policy needs to answer it from the timeline: its kind, target, modality, times.

Deterministic and table-driven (`app.questions.tables`). The steps, each on what the
previous ones left: quotations set aside; time expressions read into one window and
taken out; the kind's own words ("how many times") found and taken out; a relation to
another event ("right after 'X' is said") split off, so what is asked and the event it
hangs on get their own target and modality; ordinals ("first", "last", "second") read.

Precedence when a question fits several kinds (the first that fits wins):
count > duration > when > order > exists > yes_no > right_after, right_before, after,
before, during > at_time > said, shown > choice > open. A lower kind's reading is not
lost: "when is X first said after Y, in the last 5 minutes?" is "when" with `nth` 1, a
`reference` (after Y) and a `window`. Any string parses; what the tables do not
recognise is "open" (or "choice" with options), with the question's content words as
its target.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.questions import tables
from app.questions.amounts import QUANTITY, quantity_seconds
from app.questions.options import OptionMeaning, absent_option, read_option
from app.questions.quotes import PLACEHOLDERS, mask_quotes, quotes_in
from app.questions.times import TimeWindow, blank, combine, find_windows

Modality = Literal["speech", "text", "any"]
MAX_CHARS = 2000  # a longer "question" is read up to here: the patterns stay fast on any input

_WORD = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*")
_CLAUSE_END = re.compile(r"[,;?!]|\.(?!\d)")
# Where a leading clause with no comma ends: "after the bell rings | does the train leave?"
_NEXT_CLAUSE = re.compile(
    r"[,;?!]|\b(?:does|do|did|is|are|was|were|will|can|has|have)\s+(?=(?:the|a|an|he|she|they|it|someone|anyone|we|you|i|this"
    r"|that|there)\b|[\ue000-\uf8ff])",
    re.I,
)
_VERB_LAST = re.compile(r"\b(?:does|do|did|will|would|can|could)\b[^?]*?\b(last)\W*$", re.I)
_ALTERNATIVES = re.compile(r"(?:[,:]|\bbetween\b)\s*(?P<a>[^,:?]+?)\s+or\s+(?P<b>[^,:?]+?)\W*$", re.I)


def _compile(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


_KIND_CUES = tuple((kind, _compile(p)) for kind, p in tables.KIND_CUES)
_ORDINALS = tuple((nth, _compile(p)) for nth, p in tables.ORDINALS)
_BARE_ORDER = tuple((nth, _compile(p)) for nth, p in tables.BARE_ORDER)
_TOPIC_LEAD, _TOPIC_NOT = _compile(tables.TOPIC_LEAD), _compile(tables.TOPIC_NOT)
_RELATIONS = tuple((relation, _compile(p), strict) for relation, p, strict in tables.RELATION_CUES)
_OFFSET = re.compile(rf"{QUANTITY}(?=\s*$)", re.I)  # "5 minutes | after X"
_OFFSET_SIGN = {"after": 1.0, "before": -1.0}
_CLOSER = {relation: (closer, _compile(p)) for relation, (closer, p) in tables.CLOSER.items()}
_ORDER_FRAME, _SEQUENCE, _POLAR, _EXISTENCE, _CONTENT_FRAME = map(
    _compile, (tables.ORDER_FRAME, tables.SEQUENCE, tables.POLAR, tables.EXISTENCE, tables.CONTENT_FRAME)
)
_SPEECH_STRONG, _SPEECH_WEAK, _TEXT_STRONG, _TEXT_WEAK = map(
    _compile, (tables.SPEECH_STRONG, tables.SPEECH_WEAK, tables.TEXT_STRONG, tables.TEXT_WEAK)
)


@dataclass(frozen=True)
class Reference:
    """The event a relational question hangs on: the X of "right after X", "while X is said"."""

    relation: str  # one of tables.RELATIONS
    target: str  # what to search for to find X ("" for "the narrator speaks": any speech)
    quoted: bool
    modality: Modality
    nth: int | None = None  # "right after the first notice": 1
    offset: float = 0.0  # seconds from X: 300 for "5 minutes after X", -10 for "10 seconds before X"


@dataclass(frozen=True)
class TemporalQuestion:
    """A question as the policy answers it. `target` "" means anything of `modality`."""

    question: str
    kind: str  # one of tables.KINDS
    target: str = ""  # quoted text when quoted, else the content words beyond the question's frame
    quoted: bool = False
    modality: Modality = "any"  # what is asked about: speech, on-screen text, or either
    nth: int | None = None  # which occurrence: 1 first, -1 last, 2 second...
    window: TimeWindow | None = None  # the part of the video the question names
    reference: Reference | None = None  # for relational questions (and any other kind restricted by one)
    candidates: tuple[str, ...] = ()  # what an order question compares: the options' queries, or its quotations
    options: tuple[OptionMeaning, ...] = ()

    @property
    def absent_option(self) -> int | None:
        """The option that says the thing asked about is not in the video, if any."""
        return absent_option(self.options)

    def span(self, duration: float | None = None) -> tuple[float, float] | None:
        """The question's window in seconds (see `TimeWindow.resolve`); None when it names no time or cannot be placed."""
        return self.window.resolve(duration) if self.window else None


def parse_question(question: str, options: Sequence[str] | None = ()) -> TemporalQuestion:
    """Read `question` (and its `options`, if multiple choice) into a `TemporalQuestion`; never raises on any strings."""
    text = " ".join(str(question)[:MAX_CHARS].split())
    masked, quotes = mask_quotes(text)
    meanings = tuple(read_option(str(o)[:MAX_CHARS]) for o in options or ())

    times = find_windows(masked)
    window = combine([f.window for f in times])
    rest = blank(masked, [(f.start, f.end) for f in times])

    kind = None
    for name, pattern in _KIND_CUES:
        cue = pattern.search(rest)
        if cue:
            kind, rest = name, blank(rest, [cue.span()])
            break
    if kind == "duration":
        verb = _VERB_LAST.search(rest)
        rest = blank(rest, [verb.span(1)]) if verb else rest

    relation = _relation(rest)
    asked, referred = (relation[1], relation[2]) if relation else (rest, "")
    nth, asked = _nth(asked)
    candidates = tuple(o.query for o in meanings) or _candidates(asked, quotes)

    if kind is None:
        kind = _kind(asked, nth, relation[0] if relation else None, window, candidates, meanings)
    if kind == "order" and nth is None:
        nth, asked = _nth(asked, _BARE_ORDER)
    target, quoted = ("", False) if kind == "order" and candidates and not options else _target(asked, quotes)
    reference = None
    if relation:
        ref_nth, referred = _nth(referred)
        ref_target, ref_quoted = _target(referred, quotes)
        reference = Reference(relation[0], ref_target, ref_quoted, _modality(referred), ref_nth, relation[3])
    return TemporalQuestion(
        question=text,
        kind=kind,
        target=target,
        quoted=quoted,
        modality=_modality(asked),
        nth=nth,
        window=window,
        reference=reference,
        candidates=candidates if kind == "order" else (),
        options=meanings,
    )


def _kind(
    asked: str,
    nth: int | None,
    relation: str | None,
    window: TimeWindow | None,
    candidates: tuple[str, ...],
    options: tuple[OptionMeaning, ...],
) -> str:
    """The kind of a question with none of the kinds' own words ("how many times", "when")."""
    if (nth is not None and _ORDER_FRAME.search(asked)) or _SEQUENCE.search(asked):
        return "order"
    if len(candidates) >= 2 and any(p.search(asked) for _, p in _BARE_ORDER):
        return "order"
    if _POLAR.search(asked):
        return "exists" if _EXISTENCE.search(asked) else "yes_no"
    if relation:
        return relation
    if window:
        return "at_time"
    if not options and _CONTENT_FRAME.search(asked):
        modality = _modality(asked)
        if modality != "any":
            return "said" if modality == "speech" else "shown"
    return "choice" if options else "open"


def _nth(clause: str, table: tuple[tuple[int, re.Pattern], ...] = _ORDINALS) -> tuple[int | None, str]:
    """The ordinal a clause asks for, and the clause without it; one that is part of the topic's name stays in it."""
    for nth, pattern in table:
        for m in pattern.finditer(clause):
            if not _TOPIC_LEAD.search(clause, 0, m.start()) or _TOPIC_NOT.match(clause, m.end()):
                return nth, blank(clause, [m.span()])
    return None, clause


def _relation(rest: str) -> tuple[str, str, str, float] | None:
    """(relation, asked clause, referred clause, offset) for the first relational cue followed by an event, or None."""
    found = sorted(
        ((m.start(), -m.end(), relation, m, strict) for relation, pattern, strict in _RELATIONS for m in pattern.finditer(rest)),
        key=lambda f: (f[0], f[1]),
    )
    for _, _, relation, cue, strict in found:
        leading = not rest[: cue.start()].strip(" ,;:")
        stop = (_NEXT_CLAUSE if leading else _CLAUSE_END).search(rest, cue.end())
        end = stop.start() if stop else len(rest)
        referred = rest[cue.end() : end]
        asked = rest[end:] if leading else rest[: cue.start()] + " " + rest[end:]
        if not _names_an_event(referred, strict):
            continue
        offset = _OFFSET.search(rest, 0, cue.start()) if relation in _OFFSET_SIGN else None
        if offset:
            asked = blank(asked, [offset.span()])
            return relation, asked, referred, _OFFSET_SIGN[relation] * quantity_seconds(offset.group())
        closer, word = _CLOSER.get(relation, (relation, None))
        return (closer if word and word.search(asked) else relation), asked, referred, 0.0
    return None


def _names_an_event(clause: str, strict: bool) -> bool:
    """Whether a clause after a relational cue says what happens (not "after the other", "while it lasts")."""
    if PLACEHOLDERS.search(clause) or _modality(clause) != "any":
        return True
    return not strict and bool(_content_words(clause))


def _candidates(asked: str, quotes: list[str]) -> tuple[str, ...]:
    """What an order question without options compares: its quotations, or the two sides of "X or Y"."""
    quoted = quotes_in(asked, quotes)
    if len(quoted) >= 2:
        return tuple(quoted)
    sides = _ALTERNATIVES.search(asked)
    if not sides:
        return ()
    found = tuple(_target(sides[name], quotes)[0] for name in ("a", "b"))
    return found if all(found) else ()


def _target(clause: str, quotes: list[str]) -> tuple[str, bool]:
    """The quoted text of a clause if it has any, else its content words."""
    quoted = quotes_in(clause, quotes)
    if quoted:
        return " ".join(quoted), True
    return " ".join(_content_words(clause)), False


def _content_words(clause: str) -> list[str]:
    words = []
    for word in _WORD.findall(clause):
        bare = tables.POSSESSIVE.sub("", word)
        if bare.lower() not in tables.FRAME_WORDS and (len(bare) > 1 or bare.isdigit()):
            words.append(bare)
    return words


def _modality(clause: str) -> Modality:
    """Speech or on-screen text when the clause names one: strong words first, weak ones only if no strong one."""
    for speech_pattern, text_pattern in ((_SPEECH_STRONG, _TEXT_STRONG), (_SPEECH_WEAK, _TEXT_WEAK)):
        speech, text = bool(speech_pattern.search(clause)), bool(text_pattern.search(clause))
        if speech or text:
            return "any" if speech and text else ("speech" if speech else "text")
    return "any"
