"""The planner of the needle videos: events at random seconds, never on a segment edge, related pairs as promised."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from evals.needles.plan import AFTER_GAP, ALIGN_GUARD, DURING_MARGIN, SEGMENT, Pairing, Placed, Shown, Spoken, plan
from perception.errors import ConfigError

GAP = 12.0


def _inputs(seed: int, speakers: int, notices: int, longest: float):
    rng = random.Random(seed)
    spoken = [Spoken(f"s{i}", round(rng.uniform(2.0, 8.0), 2)) for i in range(speakers)]
    shown = [Shown(f"n{i}", tuple(round(rng.uniform(2.0, longest), 1) for _ in range(rng.randint(1, 4)))) for i in range(notices)]
    pairs = min(speakers, notices) // 2 * 2
    pairings = [
        Pairing(spoken[i].subject, shown[i].subject, rng.randrange(len(shown[i].showings)), "after" if i % 2 else "during")
        for i in range(pairs)
    ]
    return spoken, shown, pairings


def _edge_distance(t: float) -> float:
    rest = t % SEGMENT
    return min(rest, SEGMENT - rest)


def _check(events: tuple[Placed, ...], related, spoken, shown, duration: float) -> None:
    by_id = {e.id: e for e in events}
    assert len(by_id) == len(events) == len(spoken) + sum(len(n.showings) for n in shown)
    assert [e.start for e in events] == sorted(e.start for e in events)
    for event in events:
        assert 0 < event.start < event.end <= duration
        assert _edge_distance(event.start) >= ALIGN_GUARD - 1e-9 and _edge_distance(event.end) >= ALIGN_GUARD - 1e-9
        assert abs(event.start * 20 - round(event.start * 20)) < 1e-6  # multiples of 0.05 s: sample-exact audio
    for subject in {e.subject for e in events if e.kind == "text"}:
        ids = [e.id for e in events if e.subject == subject]
        assert ids == [f"{subject}.{k}" for k in range(1, len(ids) + 1)]  # showings numbered in time order
    tied = set()
    for pair in related:
        said, showing = by_id[pair.speech], by_id[pair.showing]
        tied |= {(said.id, showing.id), (showing.id, said.id)}
        if pair.relation == "after":
            assert AFTER_GAP[0] - 0.06 <= showing.start - said.end <= AFTER_GAP[1] + 0.06
        else:
            assert DURING_MARGIN[0] - 0.06 <= said.start - showing.start <= DURING_MARGIN[1] + 0.06
            assert DURING_MARGIN[0] - 0.06 <= showing.end - said.end <= DURING_MARGIN[1] + 0.06
    for earlier, later in itertools.pairwise(events):
        if (earlier.id, later.id) not in tied and not any(
            (earlier.id, x.id) in tied and (x.id, later.id) in tied for x in events
        ):
            assert later.start - earlier.end >= GAP - 1e-6, (earlier, later)
    utterances = [e for e in events if e.kind == "speech"]
    crossing = [e for e in utterances if int(e.start // SEGMENT) != int(e.end // SEGMENT)]
    assert len(crossing) >= round(len(utterances) / 2)


@given(
    seed=st.integers(0, 10**6),
    speakers=st.integers(1, 8),
    notices=st.integers(1, 8),
    longest=st.floats(3.0, 90.0),
)
@example(seed=7, speakers=7, notices=7, longest=11.5)  # nudged clear of an edge, a short utterance once lost its crossing
def test_plans_keep_every_promise(seed: int, speakers: int, notices: int, longest: float) -> None:
    spoken, shown, pairings = _inputs(seed, speakers, notices, longest)
    duration = 3600.0
    events, related = plan(duration, spoken, shown, pairings, random.Random(seed), GAP)
    _check(events, related, spoken, shown, duration)
    assert len(related) == len(pairings)
    assert plan(duration, spoken, shown, pairings, random.Random(seed), GAP) == (events, related)


def test_starts_fall_anywhere_in_a_segment() -> None:
    spoken, shown, pairings = _inputs(3, 8, 8, 60.0)
    events, _ = plan(2700.0, spoken, shown, pairings, random.Random(3), GAP)
    offsets = [e.start % SEGMENT for e in events]
    assert min(offsets) < 3 and max(offsets) > 7 and len({round(o) for o in offsets}) >= 6


def test_a_video_too_short_is_refused_with_the_length_it_needs() -> None:
    spoken, shown, pairings = _inputs(1, 6, 6, 60.0)
    with pytest.raises(ConfigError, match=r"need a video of at least \d+ s"):
        plan(120.0, spoken, shown, pairings, random.Random(1), GAP)


def test_inconsistent_pairings_are_refused() -> None:
    spoken, shown, _ = _inputs(2, 2, 2, 10.0)
    with pytest.raises(ConfigError, match="not planned"):
        plan(600.0, spoken, shown, [Pairing("s9", "n0", 0, "after")], random.Random(0), GAP)
    with pytest.raises(ConfigError, match="'after' or 'during'"):
        plan(600.0, spoken, shown, [Pairing("s0", "n0", 0, "before")], random.Random(0), GAP)
    with pytest.raises(ConfigError, match="at most one pairing"):
        plan(600.0, spoken, shown, [Pairing("s0", "n0", 0, "after"), Pairing("s0", "n1", 0, "during")], random.Random(0), GAP)
