"""Paths that go back and forth: someone walks in from one side, stops (at a table) for a random
while, and walks out by either side. The record keeps where they came in and went out, so a
question can ask about either, or about the crossing as a whole; and when the region was largest."""

from __future__ import annotations

import numpy as np
import pytest

from perception.motion import Activity
from perception.motion.records import TRACK_ENDS, trimmed
from tests.motion_media import COLOURS, Mover, scene, texture
from tests.perception.test_motion import SIZE, activities, in_spans

WALK = 0.12  # frame widths per second


def walk_in_stop_walk_out(came: str, went: str, seed: int, sway: float = 0.02) -> tuple[list[Mover], float, float]:
    """A person-sized shape that walks in at the `came` edge to a random spot, stands there (swaying by
    `sway` frame widths, or stock still) for a random 5-40 s, and walks out at the `went` edge; it starts
    at a random second."""
    rng = np.random.default_rng(seed)
    colour = list(COLOURS.values())[int(rng.integers(len(COLOURS)))]
    spot = (float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.4, 0.6)))
    edge = {"left": -0.05, "right": 1.05}
    since = float(rng.uniform(8, 30))
    walk_in = abs(spot[0] - edge[came]) / WALK
    stay = float(rng.uniform(5, 40))
    walk_out = abs(edge[went] - spot[0]) / WALK
    inward = ((spot[0] - edge[came]) / walk_in, 0.0)
    outward = ((edge[went] - spot[0]) / walk_out, 0.0)
    at_stop, leaving = since + walk_in, since + walk_in + stay
    movers = [
        Mover(colour, (edge[came], spot[1]), inward, radius=0.1, since=since, until=at_stop),
        Mover(colour, spot, radius=0.1, since=at_stop, until=leaving, wander=sway),
        Mover(colour, spot, outward, radius=0.1, since=leaving, until=leaving + walk_out),
    ]
    return movers, since, leaving + walk_out


@pytest.mark.parametrize(
    ("came", "went", "seed", "sway"),
    [
        ("left", "right", 1, 0.02),
        ("left", "left", 2, 0.02),
        ("right", "left", 3, 0.02),
        ("right", "right", 4, 0.02),
        ("left", "right", 5, 0.0),
        ("right", "left", 6, 0.0),
        ("left", "left", 7, 0.0),
    ],
)
def test_entry_exit_and_crossing_of_a_back_and_forth_path(came, went, seed, sway):
    movers, start, end = walk_in_stop_walk_out(came, went, seed, sway)
    times = np.arange(0.0, end + 12)
    frames = scene(texture(*SIZE, seed=seed), movers, times, noise=3.0, seed=seed)

    runs = [r for r in activities(in_spans(frames, times, 30.0)) if r.share_peak >= 0.01]

    assert runs, "the visit was not seen"
    first, last = runs[0], runs[-1]
    assert first.entry is not None and last.exit is not None
    assert first.entry[1] < 0.5 if came == "left" else first.entry[1] > 0.5
    assert last.exit[1] < 0.5 if went == "left" else last.exit[1] > 0.5
    crossing = None if came == went else "right" if came == "left" else "left"
    if len(runs) == 1:
        assert first.crossing == crossing
        assert first.data["crossing"] == crossing
        assert first.start <= first.peak_time <= first.end
    assert abs(first.start - start) <= 1.0 and abs(last.end - end) <= 1.5


def test_the_track_keeps_its_ends_when_joined_span_by_span():
    points = [(float(t), t / 100, 0.5, 0.1 + (t % 7) / 10) for t in range(100)]
    whole = trimmed(points)
    assert len(whole) == 2 * TRACK_ENDS
    assert whole[0] == points[0] and whole[-1] == points[-1]
    pieces: tuple = ()
    for at in range(0, 100, 13):
        pieces = trimmed(pieces + tuple(points[at : at + 13]))
    assert pieces == whole


def test_a_fade_before_the_mover_does_not_place_it():
    # A faint change at the right (1% of the frame) before someone of 20% comes in at the left and
    # leaves at the right: the crossing is to the right, from where the person was first seen whole.
    track = ((10.0, 0.9, 0.5, 0.01), (11.0, 0.2, 0.6, 0.2), (12.0, 0.5, 0.5, 0.3), (13.0, 0.8, 0.5, 0.2), (14.0, 0.1, 0.5, 0.005))
    record = Activity(start=10, end=14, bounds=(9.5, 14.5), open_start=False, open_end=False, track=track)
    assert record.entry == (11.0, 0.2, 0.6) and record.exit == (13.0, 0.8, 0.5)
    assert record.crossing == "right"
    assert "seen first in the left and last in the right (crossing to the right)" in record.text
    assert Activity.from_data(record.data).track == track


def test_one_who_comes_in_at_the_right_edge_and_leaves_at_the_bottom_crosses_to_the_left():
    # In from the right edge to x = 0.62, a stop, then out at the bottom a little left of there: the centres of
    # first and last sight are close, but the first sight is cut off by the right edge, where the visitor came from.
    colour = COLOURS["purple"]
    movers = [
        Mover(colour, (1.08, 0.45), (-0.2, 0.0), radius=0.1, since=20.3, until=22.6),
        Mover(colour, (0.62, 0.45), radius=0.1, since=22.6, until=31.4, wander=0.02),
        Mover(colour, (0.62, 0.45), (-0.02, 0.15), radius=0.1, since=31.4, until=35.0),
    ]
    times = np.arange(0.0, 48.0)
    frames = scene(texture(*SIZE, seed=41), movers, times, noise=3.0, seed=41)

    (run,) = [r for r in activities(in_spans(frames, times, 30.0)) if r.share_peak >= 0.01]

    assert run.entry is not None and run.entry[1] == 1.0  # at the right edge
    assert run.exit is not None and 0.4 < run.exit[1] < 0.7
    assert run.crossing == "left"
