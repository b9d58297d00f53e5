"""One needle video's script: what is said and shown, when, how it looks and sounds, and what it never mentions.

`compose` draws everything from one seeded RNG: which facts of the split the video uses
(and so which it never mentions), their slot values, codes and their near misses, how many
times each notice is shown (1-4) and for how long (2 s up to `Sizes.longest`, log-uniform),
which utterances are tied to a notice ("right after", "while"), the voice of each
announcement, and where and how big each showing is drawn. `evals.needles.plan` places
them in time. The result is a `Scenario`, which is all the manifest holds and all the
questions are asked from.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ImageFont

from evals.needles.content import POOLS, READINGS, Fact, make_code, near_miss_codes
from evals.needles.media import SAMPLE_RATE, librivox, synthesise
from evals.needles.plan import Pairing, Related, Shown, Spoken, plan
from evals.needles.render import BOX_BORDER, HEIGHT, WIDTH, Look
from perception.errors import ConfigError

# Fonts PP-OCR reads word for word at the working resolution. Not Liberation Mono (its "DOOR"
# read as "D0OR" on every frame) nor Liberation Serif (outlined, its narrow spaces were lost:
# "ROOMCODEF4-WE3").
FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)
STYLES = (  # text colour, box colour ("" draws an outlined text with no box)
    ("black", "white"),
    ("white", "black@0.8"),
    ("yellow", "0x1a2a6c"),
    ("white", "0x8b0000"),
    ("black", "0xffd700"),
    ("white", ""),
)
FONT_SIZES = (16, 40)
OUTLINED_SMALLEST = 22  # text with no box over busy footage needs more pixels (18 px white on a passer-by lost its digit)
EDGE = 6  # pixels kept clear of the frame's edge
VOICES = (("en-us", 145),)  # espeak-ng voice and words per minute: tiny.en hears every announcement word for word
SHOWING_COUNTS = (1, 1, 2, 2, 3, 4)  # drawn per notice: "notices that repeat (2-4 showings)", and some that do not
SHORTEST = 2.0


@dataclass(frozen=True)
class Sizes:
    """How much one video holds."""

    codes: int  # code notices ("SERVER ROOM CODE K7-RM4")
    notices: int  # other notices
    announcements: int  # espeak-ng sentences
    readings: int  # LibriVox readings
    after: int  # utterances followed right after by a notice
    during: int  # utterances spoken while a notice is up
    longest: float  # the longest a showing may last, in seconds
    gap: float  # least seconds between unrelated events


@dataclass(frozen=True)
class Subject:
    """Something the video says or shows, with all a question needs to ask about it.

    `kind` is "code", "notice", "announcement" or "reading"; `value` is the slot's value (the
    code itself for a code notice); `rivals` are near misses of it never shown or said.
    """

    id: str
    kind: str
    text: str
    value: str = ""
    rivals: tuple[str, ...] = ()
    fact: Fact | None = None
    label: str = ""  # code notices: what the code opens ("SERVER ROOM")
    quote: str = ""  # speech: the words questions quote
    decoy: str = ""  # speech: the quote with one word changed, never said

    @property
    def spoken(self) -> bool:
        return self.kind in ("announcement", "reading")


@dataclass(frozen=True)
class Event:
    """One utterance or one showing, at its true start and end (seconds)."""

    id: str
    subject: str
    kind: str  # "speech" | "text"
    start: float
    end: float
    text: str
    look: Look | None = None
    voice: str = ""  # speech: "espeak-ng:<voice>:<rate>" or "librivox:<clip>"


@dataclass(frozen=True)
class Scenario:
    """A whole needle video's script; `absent` are things of its split it never says or shows."""

    duration: float
    split: str
    seed: int
    subjects: tuple[Subject, ...]
    events: tuple[Event, ...]
    related: tuple[Related, ...]
    absent: tuple[Subject, ...]

    def subject(self, subject_id: str) -> Subject:
        return next(s for s in (*self.subjects, *self.absent) if s.id == subject_id)

    def occurrences(self, subject_id: str) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.subject == subject_id)

    def event(self, event_id: str) -> Event:
        return next(e for e in self.events if e.id == event_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scenario:
        def subject(d: Mapping[str, Any]) -> Subject:
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in (d["fact"] or {}).items()}
            fact = Fact(**fields) if fields else None
            return Subject(**{**d, "rivals": tuple(d["rivals"]), "fact": fact})

        def event(d: Mapping[str, Any]) -> Event:
            return Event(**{**d, "look": Look(**d["look"]) if d["look"] else None})

        return cls(
            duration=float(data["duration"]),
            split=data["split"],
            seed=int(data["seed"]),
            subjects=tuple(subject(d) for d in data["subjects"]),
            events=tuple(event(d) for d in data["events"]),
            related=tuple(Related(**d) for d in data["related"]),
            absent=tuple(subject(d) for d in data["absent"]),
        )


def compose(duration: float, split: str, seed: int, sizes: Sizes, media: Path) -> tuple[Scenario, dict[str, np.ndarray]]:
    """The script of one video and the audio of each utterance (int16 mono at 16 kHz), by subject id."""
    rng = random.Random(f"needles:{split}:{seed}")
    pool = POOLS[split]
    subjects, absent = _notices(pool.notices, sizes.notices, rng)
    codes, absent_codes = _codes(pool.code_labels, sizes.codes, rng)
    spoken, absent_said, audio, voices = _announcements(pool.announcements, sizes.announcements, rng)
    readings = librivox(media, tuple(READINGS)[: sizes.readings])
    for i, reading in enumerate(readings, 1):
        phrase, decoy, *_ = READINGS[reading.clip]
        spoken.append(Subject(f"r{i}", "reading", reading.transcript, quote=phrase, decoy=decoy))
        audio[f"r{i}"], voices[f"r{i}"] = reading.samples, f"librivox:{reading.clip}"
    shown = [Shown(s.id, _showings(rng, sizes.longest)) for s in (*codes, *subjects)]
    pairings = _pairings(spoken, subjects, shown, sizes, rng)
    lengths = [Spoken(s.id, len(audio[s.id]) / SAMPLE_RATE) for s in spoken]
    placed, related = plan(duration, lengths, shown, pairings, rng, sizes.gap)
    everything = {s.id: s for s in (*codes, *subjects, *spoken)}
    events = tuple(
        Event(
            p.id,
            p.subject,
            p.kind,
            p.start,
            p.end,
            everything[p.subject].text,
            look=_look(everything[p.subject].text, rng) if p.kind == "text" else None,
            voice=voices.get(p.subject, ""),
        )
        for p in placed
    )
    scenario = Scenario(
        duration=float(duration),
        split=split,
        seed=seed,
        subjects=tuple(everything.values()),
        events=events,
        related=related,
        absent=(*absent, *absent_codes, *absent_said),
    )
    return scenario, audio


def _notices(facts: tuple[Fact, ...], count: int, rng: random.Random) -> tuple[list[Subject], list[Subject]]:
    chosen = rng.sample(range(len(facts)), len(facts))
    made = []
    for n, index in enumerate(chosen):
        fact = facts[index]
        value = rng.choice(fact.values)
        rivals = tuple(v for v in fact.values if v != value)
        made.append(Subject(f"n{n + 1}", "notice", fact.text(value), value, rivals, fact))
    return made[:count], [_absent(s, "xn") for s in made[count:]]


def _codes(labels: tuple[str, ...], count: int, rng: random.Random) -> tuple[list[Subject], list[Subject]]:
    """Code notices; every other code is a near miss of the one before, so codes on screen differ by one character."""
    chosen = rng.sample(labels, count + 1)
    codes: list[str] = []
    for i in range(count + 1):
        code = near_miss_codes(codes[-1], rng, 1)[0] if i % 2 and codes else make_code(rng)
        codes.append(code)
    made = []
    for i, (label, code) in enumerate(zip(chosen, codes), 1):
        rivals = tuple(dict.fromkeys((*near_miss_codes(code, rng, 3), *(c for c in codes if c != code))))
        made.append(Subject(f"c{i}", "code", f"{label} CODE {code}", code, rivals, label=label))
    return made[:count], [_absent(s, "xc") for s in made[count:]]


def _announcements(
    facts: tuple[Fact, ...], count: int, rng: random.Random
) -> tuple[list[Subject], list[Subject], dict[str, np.ndarray], dict[str, str]]:
    chosen = rng.sample(range(len(facts)), len(facts))
    made, audio, voices = [], {}, {}
    for n, index in enumerate(chosen):
        fact = facts[index]
        value = rng.choice(fact.values)
        rivals = tuple(v for v in fact.values if v != value)
        made.append(
            Subject(f"a{n + 1}", "announcement", fact.text(value), value, rivals, fact, quote=fact.quote, decoy=fact.decoy)
        )
    said, never = made[:count], made[count:]
    for subject in said:
        voice, rate = rng.choice(VOICES)
        audio[subject.id] = synthesise(subject.text, voice, rate)
        voices[subject.id] = f"espeak-ng:{voice}:{rate}"
    return said, [_absent(s, "xa") for s in never], audio, voices


def _absent(subject: Subject, prefix: str) -> Subject:
    return replace(subject, id=prefix + subject.id[1:])


def _showings(rng: random.Random, longest: float) -> tuple[float, ...]:
    count = rng.choice(SHOWING_COUNTS)
    return tuple(round(math.exp(rng.uniform(math.log(SHORTEST), math.log(longest))), 1) for _ in range(count))


def _pairings(
    spoken: list[Subject], notices: list[Subject], shown: list[Shown], sizes: Sizes, rng: random.Random
) -> list[Pairing]:
    """Tie `after` + `during` utterances to showings of distinct plain notices."""
    count = sizes.after + sizes.during
    if count > min(len(spoken), len(notices)):
        raise ConfigError(f"{count} related pairs need as many utterances and notices, got {len(spoken)} and {len(notices)}")
    speakers = rng.sample([s.id for s in spoken], count)
    partners = rng.sample([n.id for n in notices], count)
    showings = {s.subject: len(s.showings) for s in shown}
    relations = ["after"] * sizes.after + ["during"] * sizes.during
    return [
        Pairing(speech, notice, rng.randrange(showings[notice]), relation)
        for speech, notice, relation in zip(speakers, partners, relations)
    ]


def _look(text: str, rng: random.Random) -> Look:
    """A random font, size, colour and place for one showing, the whole box inside the frame."""
    font = rng.choice(FONTS)
    color, box = rng.choice(STYLES)
    size = rng.randint(*FONT_SIZES) if box else rng.randint(OUTLINED_SMALLEST, FONT_SIZES[1])
    while True:
        left, top, right, bottom = ImageFont.truetype(font, size).getbbox(text)
        width, height = int(right - left) + 2 * BOX_BORDER, int(bottom - top) + 2 * BOX_BORDER
        if width <= WIDTH - 2 * EDGE or size <= FONT_SIZES[0]:
            break
        size -= 1
    x = rng.randint(EDGE + BOX_BORDER, max(EDGE + BOX_BORDER, WIDTH - EDGE - width + BOX_BORDER))
    y = rng.randint(EDGE + BOX_BORDER, max(EDGE + BOX_BORDER, HEIGHT - EDGE - height + BOX_BORDER))
    return Look(font, size, x, y, color, box)
