"""The questions of one needle video, with their truths, phrased the way people and long-video benchmarks ask.

Thirteen types (bucket `type`), most in both formats (bucket `format`): multiple choice
scored by the letter, and free-form scored by content (`evals.grading`). Each type has
several phrasings, drawn at random. Truths come from the scenario alone:

- when: the span of a showing or utterance (also the first or last of a repeated notice);
- count, duration: how many times a notice is shown; how long one showing stays up;
- first_last: which notice is shown first or last, or what is said first;
- right_after, while: the notice that appears right after, or is up while, a quoted sentence;
- at_time, code_at: the notice or code on screen at "12:34" or "the 15-minute mark";
- said_about, lookup: what an announcement says about its topic; the slot of a notice,
  code or announcement ("Which gate is closed?");
- order: which of two comes first, including pairs whose second thing never happens;
- absent_choice: multiple choice whose right option says the video does not mention it;
- exists: yes/no, half of them about near misses that never happen.

Multiple-choice distractors are near misses (another slot value, a code one character
off) or other things from the same video, and the "does not mention it" option is also
offered where it is wrong, so always choosing it does not pay.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from evals.datasets.base import LETTERS, Item
from evals.grading import Absent, Count, Duration, Mention, Span, Truth, YesNo
from evals.needles.scenario import Event, Scenario, Subject
from perception.timefmt import format_span, format_time

ABSENT_OPTIONS = (
    "The video does not mention it",
    "It is not mentioned in the video",
    "None of the above",
    "The video does not say",
)
NEVER_OPTIONS = (
    "One of them never happens in the video",
    "Only one of them is in the video",
    "Neither: one of them never happens",
)
AT_TIME_MARGIN = 3.0  # an asked moment is this far inside its showing, so 1 fps sampling cannot miss it
TYPES = (
    "when", "count", "duration", "first_last", "right_after", "while", "at_time",
    "code_at", "said_about", "order", "absent_choice", "exists", "lookup",
)  # fmt: skip


def questions(scenario: Scenario, video: Path, per_type: int, prefix: str) -> list[Item]:
    """Up to `per_type` questions of each type about one video, ids starting with `prefix`."""
    rng = random.Random(f"questions:{scenario.split}:{scenario.seed}")
    return numbered_drafts(_Asker(scenario, video, rng), TYPES, rng, per_type, prefix, _balanced)


def numbered_drafts(
    asker: object, types: Sequence[str], rng: random.Random, per_type: int, prefix: str, choose: Callable[[list, int], list]
) -> list[Item]:
    """Each type's drafts (`asker._<type>()`) shuffled, up to `per_type` of them chosen, as items `<prefix>-<type>-NN`."""
    items: list[Item] = []
    for name in types:
        drafts = list(getattr(asker, f"_{name}")())
        rng.shuffle(drafts)
        items += [draft(f"{prefix}-{name}-{n + 1:02d}") for n, draft in enumerate(choose(drafts, per_type))]
    return items


Draft = Callable[[str], Item]


def _balanced(drafts: list[tuple[str, Draft]], count: int) -> list[Draft]:
    """`count` drafts alternating between the formats on offer, so a type keeps both."""
    by_format: dict[str, list[Draft]] = {}
    for fmt, draft in drafts:
        by_format.setdefault(fmt, []).append(draft)
    chosen: list[Draft] = []
    while len(chosen) < count and any(by_format.values()):
        for queue in by_format.values():
            if queue and len(chosen) < count:
                chosen.append(queue.pop(0))
    return chosen


class _Asker:
    """Drafts of every question a scenario supports, type by type; a draft becomes an Item once given its id."""

    def __init__(self, scenario: Scenario, video: Path, rng: random.Random):
        self.s = scenario
        self.video = video
        self.rng = rng
        self.shown = [s for s in scenario.subjects if s.kind in ("notice", "code")]
        self.said = [s for s in scenario.subjects if s.spoken]
        self.texts = tuple(s.text for s in self.shown)

    # --- the types ----------------------------------------------------------------------

    def _when(self) -> Iterator[tuple[str, Draft]]:
        for n, subject in enumerate(self.shown + self.said):
            times = self.s.occurrences(subject.id)
            if subject.spoken:
                ref = self._quote_or_topic(subject)
                asked, event = self._pick(WHEN_SAID if ref.startswith("'") else WHEN_TOPIC).format(s=ref), times[0]
            elif len(times) == 1:
                asked, event = self._pick(WHEN_SHOWN).format(n=self._notice(subject)), times[0]
            elif n % 2:
                asked, event = self._pick(WHEN_FIRST).format(n=self._notice(subject)), times[0]
            else:
                asked, event = self._pick(WHEN_LAST).format(n=self._notice(subject)), times[-1]
            span = (event.start, event.end)
            if n % 3 == 2:
                others = [e for e in self.s.events if e.id != event.id and e.kind == event.kind]
                options = [
                    format_span(*span),
                    *(format_span(e.start, e.end) for e in self.rng.sample(others, min(3, len(others)))),
                ]
                yield "choice", self._choice(asked, options, "when", [event], span=span)
            else:
                yield "free", self._free(asked, Span(*span), "when", [event], span=span)

    def _count(self) -> Iterator[tuple[str, Draft]]:
        for n, subject in enumerate(self.shown):
            times = self.s.occurrences(subject.id)
            asked = self._pick(COUNT).format(n=self._notice(subject))
            if n % 2:
                values = sorted({len(times), *self.rng.sample([v for v in range(1, 6) if v != len(times)], 3)})
                options = [_times(v) for v in values]
                yield "choice", self._choice(asked, options, "count", times, truth=_times(len(times)))
            else:
                yield "free", self._free(asked, Count(len(times)), "count", times)

    def _duration(self) -> Iterator[tuple[str, Draft]]:
        for n, subject in enumerate(self.shown):
            times = self.s.occurrences(subject.id)
            first = times[0]
            template = DURATION if len(times) == 1 else DURATION_FIRST
            asked = self._pick(template).format(n=self._notice(subject))
            seconds = first.end - first.start
            tolerance = max(2.0, 0.2 * seconds)
            if n % 2:
                options = [_about(seconds), *(_about(v) for v in _far_durations(seconds, tolerance, self.rng))]
                yield "choice", self._choice(asked, options, "duration", [first], truth=_about(seconds))
            else:
                yield "free", self._free(asked, Duration(round(seconds, 2), round(tolerance, 2)), "duration", [first])

    def _first_last(self) -> Iterator[tuple[str, Draft]]:
        notices = [s for s in self.shown if s.kind == "notice"]
        for last in (False, True):
            key = (lambda s: -self.s.occurrences(s.id)[-1].start) if last else (lambda s: self.s.occurrences(s.id)[0].start)
            picked = sorted(self.rng.sample(notices, min(4, len(notices))), key=key)
            events = [self.s.occurrences(s.id)[-1 if last else 0] for s in picked]
            asked = self._pick(LAST_OF if last else FIRST_OF)
            yield "choice", self._choice(asked, [s.text for s in picked], "first_last", events)
            ordered = sorted(self.s.events, key=lambda e: e.start)
            event = next(e for e in (reversed(ordered) if last else ordered) if e.kind == "text")
            truth = Mention((event.text,), tuple(t for t in self.texts if t != event.text))
            yield "free", self._free(self._pick(LAST_NOTICE if last else FIRST_NOTICE), truth, "first_last", [event])
        said = sorted(self.said, key=lambda s: self.s.occurrences(s.id)[0].start)
        first = said[0]
        truth = Mention((first.quote,), tuple(s.quote for s in said[1:]))
        yield "free", self._free(self._pick(FIRST_SAID), truth, "first_last", self.s.occurrences(first.id))

    def _right_after(self) -> Iterator[tuple[str, Draft]]:
        yield from self._paired("after", RIGHT_AFTER_QUOTE, RIGHT_AFTER_TOPIC, "right_after")

    def _while(self) -> Iterator[tuple[str, Draft]]:
        yield from self._paired("during", WHILE_QUOTE, WHILE_TOPIC, "while")

    def _at_time(self) -> Iterator[tuple[str, Draft]]:
        for event in self._long_showings("notice"):
            nearest = self._nearest_other(event)
            wrong = [nearest.text, *self.rng.sample([t for t in self.texts if t not in (event.text, nearest.text)], 2)]
            asked = self._moment(event, AT_TIME, AT_MARK)
            yield "choice", self._choice(asked, [event.text, *wrong], "at_time", [event])
            truth = Mention((event.text,), tuple(t for t in self.texts if t != event.text))
            yield "free", self._free(self._moment(event, AT_TIME, AT_MARK), truth, "at_time", [event])

    def _code_at(self) -> Iterator[tuple[str, Draft]]:
        for event in self._long_showings("code"):
            subject = self.s.subject(event.subject)
            asked = self._moment(event, CODE_AT, CODE_AT_MARK)
            yield "choice", self._choice(asked, [subject.value, *subject.rivals[:3]], "code_at", [event])
            truth = Mention((subject.value,), subject.rivals)
            yield "free", self._free(self._moment(event, CODE_AT, CODE_AT_MARK), truth, "code_at", [event])

    def _said_about(self) -> Iterator[tuple[str, Draft]]:
        for n, subject in enumerate(s for s in self.said if s.kind == "announcement"):
            assert subject.fact is not None
            asked = self._pick(SAID_ABOUT).format(t=subject.fact.topic)
            times = self.s.occurrences(subject.id)
            if n % 2:
                claims = [subject.fact.claim.format(v) for v in (subject.value, *subject.rivals[:2])]
                extra = (
                    [self._pick(ABSENT_OPTIONS)] if self.rng.random() < 0.5 else [subject.fact.claim.format(subject.rivals[2])]
                )
                yield "choice", self._choice(asked, [*claims, *extra], "said_about", times)
            else:
                yield "free", self._free(asked, Mention((subject.value,), subject.rivals), "said_about", times)

    def _order(self) -> Iterator[tuple[str, Draft]]:
        single = [s for s in self.shown + self.said if len(self.s.occurrences(s.id)) == 1]
        never = self._never_happens()
        pairs = sorted({tuple(sorted((a.id, b.id))) for a in single for b in single if a.id != b.id})
        for n, ids in enumerate(self.rng.sample(pairs, len(pairs))):
            first, second = sorted((self.s.subject(i) for i in ids), key=lambda s: self.s.occurrences(s.id)[0].start)
            events = [self.s.occurrences(first.id)[0], self.s.occurrences(second.id)[0]]
            a, b = _mention(first), _mention(second)
            missing = n % 3 == 2
            if missing:
                b = self.rng.choice(never)
                events = events[:1]
            pair = [a, b] if self.rng.random() < 0.5 else [b, a]
            if n % 2:
                offered = [*pair, self._pick(NEVER_OPTIONS)]
                asked = self._pick(ORDER_CHOICE)
                yield "choice", self._choice(asked, offered, "order", events, truth=offered[2] if missing else a)
            else:
                asked = self._pick(ORDER_FREE).format(a=pair[0], b=pair[1])
                truth: Truth = Absent() if missing else Mention((_words_of(a),), (_words_of(b),))
                yield "free", self._free(asked, truth, "order", events)

    def _absent_choice(self) -> Iterator[tuple[str, Draft]]:
        for subject in self.s.absent:
            absent = self._pick(ABSENT_OPTIONS)
            if subject.kind == "code":
                present = [s.value for s in self.shown if s.kind == "code"]
                options = [*present[:2], *subject.rivals[: 3 - len(present[:2])], absent]
                asked = self._pick(CODE_LOOKUP).format(label=subject.label.lower())
            elif subject.kind == "announcement" and subject.fact is not None:
                options = [subject.fact.claim.format(v) for v in (subject.value, *subject.rivals[:2])] + [absent]
                asked = self._pick(SAID_ABOUT).format(t=subject.fact.topic)
            elif subject.fact is not None:
                options = [subject.value, *subject.rivals[:2], absent]
                asked = subject.fact.question
            else:
                continue
            yield "choice", self._choice(asked, options, "absent_choice", [], truth=absent, modality=_modality(subject))

    def _exists(self) -> Iterator[tuple[str, Draft]]:
        probes: list[tuple[str, bool, Subject]] = []
        for subject in self.shown:
            probes.append((self._pick(EXISTS_SHOWN).format(t=subject.text), True, subject))
            probes.append((self._pick(EXISTS_SHOWN).format(t=_near_miss(subject)), False, subject))
        for subject in self.said:
            probes.append((self._pick(EXISTS_SAID).format(q=subject.quote), True, subject))
            probes.append((self._pick(EXISTS_SAID).format(q=subject.decoy), False, subject))
        for subject in self.s.absent:
            if subject.kind == "announcement" and subject.fact is not None:
                probes.append((self._pick(EXISTS_TOPIC).format(t=subject.fact.topic), False, subject))
            elif subject.kind == "notice":
                probes.append((self._pick(EXISTS_SHOWN).format(t=subject.text), False, subject))
        for n, (asked, present, subject) in enumerate(probes):
            events = list(self.s.occurrences(subject.id)) if present else []
            if n % 2:
                yield (
                    "choice",
                    self._choice(
                        asked, ["Yes", "No"], "exists", events, truth="Yes" if present else "No", modality=_modality(subject)
                    ),
                )
            else:
                yield "free", self._free(asked, YesNo(present), "exists", events, modality=_modality(subject))

    def _lookup(self) -> Iterator[tuple[str, Draft]]:
        for n, subject in enumerate(self.shown + [s for s in self.said if s.kind == "announcement"]):
            if subject.kind == "code":
                asked = self._pick(CODE_LOOKUP).format(label=subject.label.lower())
            else:
                assert subject.fact is not None
                asked = subject.fact.question
            times = self.s.occurrences(subject.id)
            if n % 2:
                extra = [self._pick(ABSENT_OPTIONS)] if self.rng.random() < 0.5 else list(subject.rivals[2:3])
                yield "choice", self._choice(asked, [subject.value, *subject.rivals[:2], *extra], "lookup", times)
            else:
                yield "free", self._free(asked, Mention((subject.value,), subject.rivals), "lookup", times)

    # --- shared pieces ------------------------------------------------------------------

    def _paired(self, relation: str, by_quote: Sequence[str], by_topic: Sequence[str], kind: str) -> Iterator[tuple[str, Draft]]:
        for n, pair in enumerate(r for r in self.s.related if r.relation == relation):
            said, showing = self.s.subject(pair.speech), self.s.event(pair.showing)
            events = [self.s.occurrences(said.id)[0], showing]
            for fmt in ("free", "choice") if n % 2 else ("choice", "free"):
                ref = self._quote_or_topic(said)
                asked = self._pick(by_quote if ref.startswith("'") else by_topic).format(s=ref)
                if fmt == "choice":
                    others = [t for t in self.texts if t != showing.text]
                    yield "choice", self._choice(asked, [showing.text, *self.rng.sample(others, 3)], kind, events)
                else:
                    truth = Mention((showing.text,), tuple(t for t in self.texts if t != showing.text))
                    yield "free", self._free(asked, truth, kind, events)

    def _long_showings(self, kind: str) -> list[Event]:
        """Showings of notices of `kind` with a whole second at least AT_TIME_MARGIN inside both ends."""
        return [
            e
            for e in self.s.events
            if e.kind == "text"
            and self.s.subject(e.subject).kind == kind
            and math.ceil(e.start + AT_TIME_MARGIN) <= math.floor(e.end - AT_TIME_MARGIN)
        ]

    def _moment(self, event: Event, at_time: Sequence[str], at_mark: Sequence[str]) -> str:
        """A question about a moment inside `event`: a whole-minute mark when one falls inside, else M:SS."""
        low, high = math.ceil(event.start + AT_TIME_MARGIN), math.floor(event.end - AT_TIME_MARGIN)
        marks = [m for m in range(1, high // 60 + 1) if low <= 60 * m <= high]
        if marks and self.rng.random() < 0.6:
            return self._pick(at_mark).format(m=self.rng.choice(marks))
        return self._pick(at_time).format(t=format_time(self.rng.randint(low, high)))

    def _nearest_other(self, event: Event) -> Event:
        others = [e for e in self.s.events if e.kind == "text" and e.text != event.text]
        return min(others, key=lambda e: min(abs(e.start - event.end), abs(event.start - e.end)))

    def _never_happens(self) -> list[str]:
        """Mentions of things this video never shows or says: near misses and the split's unused facts."""
        never = [f"the notice '{_near_miss(s)}'" for s in self.shown]
        never += [f"someone saying '{s.decoy}'" for s in self.said]
        never += [f"the notice '{s.text}'" for s in self.s.absent if s.kind in ("notice", "code")]
        return never

    def _quote_or_topic(self, subject: Subject) -> str:
        if subject.kind == "announcement" and subject.fact is not None and self.rng.random() < 0.4:
            return subject.fact.topic
        return f"'{subject.quote}'"

    def _notice(self, subject: Subject) -> str:
        return self._pick(NOTICE_NAMES).format(t=subject.text)

    def _pick(self, phrasings: Sequence[str]) -> str:
        return self.rng.choice(phrasings)

    def _choice(
        self,
        question: str,
        options: Sequence[str],
        kind: str,
        events: Sequence[Event],
        truth: str | None = None,
        span: tuple[float, float] | None = None,
        modality: str | None = None,
    ) -> Draft:
        """A multiple-choice draft; the truth is `truth`, or else the first option. Options are shuffled."""
        right = options[0] if truth is None else truth
        shuffled = list(dict.fromkeys(options))
        self.rng.shuffle(shuffled)
        return self._draft(
            question,
            kind,
            "choice",
            events,
            modality,
            options=tuple(shuffled),
            answer=LETTERS[shuffled.index(right)],
            answer_span=span,
        )

    def _free(
        self,
        question: str,
        truth: Truth,
        kind: str,
        events: Sequence[Event],
        span: tuple[float, float] | None = None,
        modality: str | None = None,
    ) -> Draft:
        return self._draft(question, kind, "free", events, modality, truth=truth, answer_span=span)

    def _draft(self, question: str, kind: str, fmt: str, events: Sequence[Event], modality: str | None, **fields) -> Draft:
        kinds = {e.kind for e in events}
        modality = modality or (kinds.pop() if len(kinds) == 1 else "mixed")
        buckets = {"type": kind, "format": fmt, "modality": modality}
        extras = {"events": tuple(e.id for e in events)}
        return lambda item_id: Item(id=item_id, question=question, video=self.video, buckets=buckets, extras=extras, **fields)


def _near_miss(subject: Subject) -> str:
    """The text of a notice with its slot changed: never shown."""
    if subject.fact is not None:
        return subject.fact.text(subject.rivals[0])
    return f"{subject.label} CODE {subject.rivals[0]}"


def _mention(subject: Subject) -> str:
    return f"someone saying '{subject.quote}'" if subject.spoken else f"the notice '{subject.text}'"


def _words_of(mention: str) -> str:
    return mention.split("'")[1]


def _modality(subject: Subject) -> str:
    return "speech" if subject.spoken else "text"


def _times(count: int) -> str:
    return {1: "Once", 2: "Twice"}.get(count, f"{count} times")


def _about(seconds: float) -> str:
    if seconds < 90:
        return f"About {round(seconds)} seconds"
    return f"About {seconds / 60:.1f} minutes"


def _far_durations(seconds: float, tolerance: float, rng: random.Random) -> list[float]:
    """Three durations clearly apart from `seconds` and from each other (a multiple-choice question's wrong options)."""
    found: list[float] = []
    for factor in rng.sample((0.25, 0.4, 2.2, 3.5, 5.0), 5):
        value = max(1.0, seconds * factor)
        if all(abs(value - v) > 2 * tolerance for v in (seconds, *found)):
            found.append(value)
    return found[:3]


NOTICE_NAMES = ("the notice '{t}'", "the sign reading '{t}'", "the text '{t}'", "the message '{t}'")
WHEN_SHOWN = (
    "When is {n} shown?",
    "At what time does {n} appear on screen?",
    "When can we see {n}?",
    "Find the moment {n} is displayed.",
)
WHEN_FIRST = ("When is {n} shown for the first time?", "When does {n} first appear?")
WHEN_LAST = ("When is {n} shown for the last time?", "When does {n} appear on screen for the final time?")
WHEN_SAID = ("When does someone say {s}?", "At what point is {s} said?", "When do we hear the words {s}?")
WHEN_TOPIC = ("When does the announcer talk about {s}?", "At what point in the video is {s} mentioned?")
COUNT = (
    "How many times is {n} shown?",
    "How often does {n} appear on screen?",
    "How many separate times does {n} come up in the video?",
    "In how many separate moments is {n} displayed?",
)
DURATION = ("How long is {n} on screen?", "For how many seconds is {n} displayed?", "How long does {n} stay visible?")
DURATION_FIRST = ("How long is {n} shown the first time it appears?", "The first time {n} appears, how long does it stay up?")
FIRST_OF = ("Which of these notices is shown first?", "Which of these appears on screen earliest?")
LAST_OF = ("Which of these notices is the last to appear?", "Which of these is shown on screen last?")
FIRST_NOTICE = ("What is the first notice shown in the video?", "What text appears on screen first?")
LAST_NOTICE = ("What is the last notice shown in the video?", "What is the final message to appear on screen?")
FIRST_SAID = ("What is the first thing said in the video?", "What are the first words we hear?")
RIGHT_AFTER_QUOTE = (
    "What appears on screen right after someone says {s}?",
    "Which notice comes up just after the words {s}?",
    "What is displayed immediately after {s} is said?",
)
RIGHT_AFTER_TOPIC = (
    "Right after the announcement about {s}, what is shown on screen?",
    "What notice appears just after {s} is mentioned?",
)
WHILE_QUOTE = (
    "What is on screen while someone says {s}?",
    "While the words {s} are spoken, what does the screen say?",
    "Which notice is visible when {s} is said?",
)
WHILE_TOPIC = (
    "Which notice is visible while the announcer talks about {s}?",
    "What does the screen show during the announcement about {s}?",
)
AT_TIME = (
    "What notice is on screen at {t}?",
    "What does the text on screen say at {t}?",
    "Which sign is visible at {t} into the video?",
)
AT_MARK = ("What notice is shown at the {m}-minute mark?", "What does the on-screen text say exactly {m} minutes in?")
CODE_AT = ("What code is shown at {t}?", "Which code is on screen at {t}?", "At {t}, what code can be seen?")
CODE_AT_MARK = ("What is the code displayed at the {m}-minute mark?", "Which code is on screen {m} minutes into the video?")
SAID_ABOUT = ("What does the announcer say about {t}?", "What is said about {t}?", "What do we hear about {t}?")
ORDER_CHOICE = ("Which comes first in the video?", "Which of these happens earlier?")
ORDER_FREE = ("Which comes first: {a} or {b}?", "Which happens earlier in the video, {a} or {b}?")
CODE_LOOKUP = ("What is the {label} code?", "What code opens the {label}?", "Which code is given for the {label}?")
EXISTS_SHOWN = (
    "Is the notice '{t}' ever shown?",
    "Does the text '{t}' appear anywhere in the video?",
    "Is there a sign reading '{t}'?",
)
EXISTS_SAID = ("Does anyone say '{q}'?", "Is '{q}' said at any point?", "Do we ever hear the words '{q}'?")
EXISTS_TOPIC = ("Is there any mention of {t}?", "Does the video say anything about {t}?")
