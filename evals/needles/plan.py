"""Where the needles go: every utterance and every showing of a notice, at random seconds, never on a segment edge.

The planner works on lengths only (how long each utterance lasts, how long each showing of
a notice stays up) and two relations the questions need:

- "after": a notice appears 0.8-4 s after an utterance ends, with nothing in between;
- "during": a notice is up from 1.5-6 s before an utterance starts until 1.5-6 s after it ends.

Each related pair, and every other utterance or showing, is a block. Blocks go in a seeded
random order, apart by at least `gap` seconds plus a random share of the spare time, so
related events are unambiguous and the rest are unrelated. Then two nudges, both forward:
half the utterances are delayed so a base-segment edge (every 10 s) falls inside them,
and no start or end lies within ALIGN_GUARD of an edge, so no event is aligned to the
segments an ingest cuts. Times are multiples of 0.05 s (sample-exact audio at 16 kHz).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from perception.errors import ConfigError

SEGMENT = 10.0  # the ingest's base segment
ALIGN_GUARD = 0.3  # no event edge this close to a segment edge
STEP = 0.05  # times are multiples of this
AFTER_GAP = (0.8, 4.0)  # utterance end to notice start, for "right after"
DURING_MARGIN = (1.5, 6.0)  # notice up this long before and after the utterance, for "while"
CROSS_SHARE = 0.5  # of utterances made to cross a segment edge
NUDGE = 0.35
MAX_NUDGES = 8
CROSSING_TRIES = 20  # draws of a crossing utterance's edge point before the planner gives up (a bug)


@dataclass(frozen=True)
class Spoken:
    """An utterance to place: whose it is and how long it lasts."""

    subject: str
    seconds: float


@dataclass(frozen=True)
class Shown:
    """A notice to place: how long each of its showings stays up."""

    subject: str
    showings: tuple[float, ...]


@dataclass(frozen=True)
class Pairing:
    """A notice showing tied to an utterance: `relation` is "after" or "during"; `showing` indexes the notice's showings."""

    speech: str
    notice: str
    showing: int
    relation: str


@dataclass(frozen=True)
class Placed:
    """An event in the video: `id` is the subject for an utterance, `subject.k` for its k-th showing in time (from 1)."""

    id: str
    subject: str
    kind: str  # "speech" | "text"
    start: float
    end: float


@dataclass(frozen=True)
class Related:
    """A placed pairing: the utterance's id, the id of the showing tied to it, and how ("after" or "during")."""

    speech: str
    showing: str
    relation: str


@dataclass
class _Block:
    events: list[tuple[str, str, str, float, float]]  # id, subject, kind, offset from block start, length
    crosses: bool = False

    @property
    def length(self) -> float:
        return max(offset + length for *_, offset, length in self.events)


def plan(
    duration: float,
    spoken: Sequence[Spoken],
    shown: Sequence[Shown],
    pairings: Sequence[Pairing],
    rng: random.Random,
    gap: float,
) -> tuple[tuple[Placed, ...], tuple[Related, ...]]:
    """Place every utterance and showing in a video of `duration` seconds.

    The events come back in time order, a notice's showings numbered in time order, with the
    pairings as placed.
    """
    _check(spoken, shown, pairings)
    blocks = _blocks(spoken, shown, pairings, rng)
    rng.shuffle(blocks)
    # What the crossing delays and the edge nudges may add: a delay is under one segment, and
    # a block's edges (at most four) rule out under 2.4 s of every 10 s, so eight nudges clear them.
    reserve = sum(SEGMENT for b in blocks if b.crosses) + len(blocks) * MAX_NUDGES * NUDGE
    spare = duration - 2 * gap - sum(b.length for b in blocks) - (len(blocks) - 1) * gap - reserve
    if spare < 0:
        need = duration - spare
        raise ConfigError(
            f"the needles need a video of at least {math.ceil(need)} s ({need / 60:.1f} minutes), got {duration:g} s"
        )
    weights = [rng.random() + 0.05 for _ in range(len(blocks) + 1)]
    extras = [spare * w / sum(weights) for w in weights]
    placed: list[Placed] = []
    cursor = gap + extras[0]
    for block, extra in zip(blocks, extras[1:]):
        start = _start(block, _snap(cursor), rng)
        placed += [
            Placed(i, subject, kind, _snap(start + offset), _snap(start + offset + length))
            for i, subject, kind, offset, length in block.events
        ]
        cursor = start + block.length + gap + extra
    if cursor - extras[-1] > duration:  # the reserve makes this impossible; a planner bug must not pass silently
        raise AssertionError(f"planned past the end: {cursor - extras[-1]:.2f} > {duration}")
    return _numbered(placed, pairings)


def _numbered(placed: list[Placed], pairings: Sequence[Pairing]) -> tuple[tuple[Placed, ...], tuple[Related, ...]]:
    """Showings renumbered in time order, and the pairings translated to the new ids."""
    placed = sorted(placed, key=lambda p: (p.start, p.id))
    renamed: dict[str, str] = {}
    seen: dict[str, int] = {}
    for event in placed:
        if event.kind == "text":
            seen[event.subject] = seen.get(event.subject, 0) + 1
            renamed[event.id] = f"{event.subject}.{seen[event.subject]}"
    events = tuple(Placed(renamed.get(p.id, p.id), p.subject, p.kind, p.start, p.end) for p in placed)
    related = tuple(Related(p.speech, renamed[f"{p.notice}.{p.showing + 1}"], p.relation) for p in pairings)
    return events, related


def _check(spoken: Sequence[Spoken], shown: Sequence[Shown], pairings: Sequence[Pairing]) -> None:
    subjects = [s.subject for s in spoken] + [s.subject for s in shown]
    if len(set(subjects)) != len(subjects):
        raise ConfigError(f"subjects must be distinct, got {subjects}")
    if any(s.seconds <= 0 for s in spoken) or any(not n.showings or min(n.showings) <= 0 for n in shown):
        raise ConfigError("every utterance and showing must last longer than 0 s")
    notices = {n.subject: n for n in shown}
    speakers = {s.subject for s in spoken}
    used: set[tuple[str, int]] = set()
    for pairing in pairings:
        notice = notices.get(pairing.notice)
        if pairing.speech not in speakers or notice is None or not 0 <= pairing.showing < len(notice.showings):
            raise ConfigError(f"{pairing} names an utterance or showing that is not planned")
        if pairing.relation not in ("after", "during"):
            raise ConfigError(f"a pairing is 'after' or 'during', got {pairing.relation!r}")
        if (pairing.notice, pairing.showing) in used or sum(p.speech == pairing.speech for p in pairings) > 1:
            raise ConfigError(f"{pairing}: each utterance and each showing takes part in at most one pairing")
        used.add((pairing.notice, pairing.showing))


def _blocks(spoken: Sequence[Spoken], shown: Sequence[Shown], pairings: Sequence[Pairing], rng: random.Random) -> list[_Block]:
    paired = {(p.notice, p.showing): p for p in pairings}
    by_speech = {p.speech: p for p in pairings}
    speech_seconds = {s.subject: s.seconds for s in spoken}
    crossing = set(rng.sample([s.subject for s in spoken], round(CROSS_SHARE * len(spoken))))
    blocks = [
        _Block([(s.subject, s.subject, "speech", 0.0, s.seconds)], crosses=s.subject in crossing)
        for s in spoken
        if s.subject not in by_speech
    ]
    for notice in shown:
        for k, seconds in enumerate(notice.showings):
            showing = (f"{notice.subject}.{k + 1}", notice.subject, "text")
            pairing = paired.get((notice.subject, k))
            if pairing is None:
                blocks.append(_Block([(*showing, 0.0, seconds)]))
                continue
            said = speech_seconds[pairing.speech]
            utterance = (pairing.speech, pairing.speech, "speech")
            if pairing.relation == "after":
                pause = _snap(rng.uniform(*AFTER_GAP))
                events = [(*utterance, 0.0, said), (*showing, _snap(said + pause), seconds)]
            else:
                before, after = _snap(rng.uniform(*DURING_MARGIN)), _snap(rng.uniform(*DURING_MARGIN))
                events = [(*showing, 0.0, _snap(before + said + after)), (*utterance, before, said)]
            blocks.append(_Block(events, crosses=pairing.speech in crossing))
    return blocks


def _start(block: _Block, earliest: float, rng: random.Random) -> float:
    """Where a block starts, from `earliest`: every edge clear of the segment edges, and a crossing
    block's utterance still across one (nudging a short utterance clear can carry it off its edge,
    so the crossing point is drawn again). Each try stays within the reserve plan() keeps."""
    for _ in range(CROSSING_TRIES):
        start = _snap(earliest + _crossing_delay(block, earliest, rng)) if block.crosses else earliest
        while _aligned(block, start):
            start = _snap(start + NUDGE)
        if not block.crosses or _utterance_crosses(block, start):
            return start
    raise AssertionError(f"no start from {earliest:.2f} puts the utterance of {block.events[0][1]} across a segment edge")


def _utterance_crosses(block: _Block, start: float) -> bool:
    _, _, _, offset, said = next(e for e in block.events if e[2] == "speech")
    return int(_snap(start + offset) // SEGMENT) != int(_snap(start + offset + said) // SEGMENT)


def _crossing_delay(block: _Block, start: float, rng: random.Random) -> float:
    """How far to delay a block so that a segment edge falls 30-70% of the way into its utterance."""
    _, _, _, offset, said = next(e for e in block.events if e[2] == "speech")
    at = start + offset + rng.uniform(0.3, 0.7) * said
    return math.ceil(at / SEGMENT) * SEGMENT - at


def _aligned(block: _Block, start: float) -> bool:
    for *_, offset, length in block.events:
        for edge in (start + offset, start + offset + length):
            if near_segment_edge(_snap(edge)):
                return True
    return False


def near_segment_edge(t: float) -> bool:
    """Whether `t` is within ALIGN_GUARD of a multiple of SEGMENT."""
    rest = t % SEGMENT
    return min(rest, SEGMENT - rest) < ALIGN_GUARD


def _snap(t: float) -> float:
    return round(round(t / STEP) * STEP, 2)
