"""Pairs to runs: consecutive pairs that moved become one activity, pauses up to `max_pause`
seconds inside it included; the rest is stillness; the camera's motion forms runs of its own.

A run's start and end are the middles of its first and last moving pairs: the change happened
somewhere between the two frames of a pair, so the middle is off by at most half the sampling
interval. A cut ends every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from perception.motion.pairs import PairMotion, Region
from perception.motion.records import (
    LEG_SHARE,
    MIN_TRAVEL,
    Activity,
    CameraMotion,
    Observation,
    Stillness,
    heading,
    join_legs,
    trimmed,
)

SHAKE_STRAIGHTNESS = 0.5  # a stretch of camera motion whose net shift is below this share of its path shakes
SHAKE_PAIRS = 3
MAX_LEGS = 3
EVERY_EDGE = frozenset({"left", "right", "top", "bottom"})


@dataclass(frozen=True)
class Grouping:
    """How pairs become runs; sizes of the frame at working resolution."""

    width: int
    height: int
    max_pause: float
    min_camera_speed: float


Bridge = Callable[[int, int, int], bool]


def group(
    pairs: Sequence[PairMotion], grouping: Grouping, from_previous: bool, bridge: Bridge | None = None
) -> list[Observation]:
    """The runs of a span's consecutive pairs, in time order (activity before camera at a tie).

    `from_previous`: the first pair starts at the previous span's last frame; without it, a run
    reaching the first pair starts at that pair's start (it was already going). `bridge(first,
    last, next)` says whether a longer pause between an activity's pairs `first`..`last` and
    the next moving pair still belongs to that activity (something stood still and stayed); with
    `next` past the last pair, whether it stayed to the span's end (`Activity.stays`)."""
    if not pairs:
        return []
    stretches = _activity_stretches(pairs, grouping.max_pause, bridge)
    found: list[Observation] = []
    for first, last in stretches:
        stays = last < len(pairs) - 1 and bridge is not None and bridge(first, last, len(pairs))
        found.append(_activity(pairs, first, last, grouping, from_previous, stays))
    found.extend(_stillness(pairs, stretches))
    found.extend(_camera(pairs, grouping, from_previous))
    order = {Activity: 0, Stillness: 1, CameraMotion: 2}
    return sorted(found, key=lambda o: (o.start, order[type(o)]))


def without_camera_edges(pairs: Sequence[PairMotion], grouping: Grouping) -> tuple[PairMotion, ...]:
    """The pairs, with what changed in a pair the camera started or stopped moving in taken as the camera's.

    Such a pair holds only part of the move, too little to fit as camera motion, so the whole view
    differs: a change touching every edge of the frame, right beside a pair the camera moved in. A
    mover comes in from a side; it does not touch all four at once just as the camera stops."""
    moving = [_camera_label(p, grouping.width, grouping.min_camera_speed) is not None for p in pairs]
    settled = []
    for i, pair in enumerate(pairs):
        beside = (i > 0 and moving[i - 1]) or (i + 1 < len(pairs) and moving[i + 1])
        if beside and not moving[i] and pair.region is not None and set(pair.region.edges) >= EVERY_EDGE:
            pair = replace(pair, region=None)
        settled.append(pair)
    return tuple(settled)


def _mid(pair: PairMotion) -> float:
    return (pair.start + pair.end) / 2


def _start(pairs: Sequence[PairMotion], first: int, from_previous: bool) -> float:
    return pairs[0].start if first == 0 and not from_previous else _mid(pairs[first])


def _place(pairs: Sequence[PairMotion], first: int, last: int) -> dict:
    return {
        "bounds": (pairs[first].start, pairs[last].end),
        "open_start": first == 0,
        "open_end": last == len(pairs) - 1,
    }


def _activity_stretches(pairs: Sequence[PairMotion], max_pause: float, bridge: Bridge | None) -> list[tuple[int, int]]:
    """(first, last) pair indices of each activity run."""
    stretches: list[list[int]] = []
    for i, pair in enumerate(pairs):
        if not pair.active:
            continue
        if stretches and not _cut_between(pairs, stretches[-1][1], i):
            first, last = stretches[-1]
            if pair.start - pairs[last].end <= max_pause or (bridge is not None and bridge(first, last, i)):
                stretches[-1][1] = i
                continue
        stretches.append([i, i])
    return [(a, b) for a, b in stretches]


def _cut_between(pairs: Sequence[PairMotion], a: int, b: int) -> bool:
    return any(p.cut for p in pairs[a + 1 : b])


def _activity(
    pairs: Sequence[PairMotion], first: int, last: int, grouping: Grouping, from_previous: bool, stays: bool
) -> Activity:
    aspect = grouping.height / grouping.width
    shift = _camera_shift(pairs, grouping.width)
    moving = [i for i in range(first, last + 1) if pairs[i].active]
    regions = [r for i in moving if (r := pairs[i].region) is not None]
    positions = np.array([(r.x - shift[i][0], r.y * aspect - shift[i][1]) for i, r in zip(moving, regions)])
    steps = np.diff(positions, axis=0)
    lengths = np.hypot(steps[:, 0], steps[:, 1])
    times = np.diff([_mid(pairs[i]) for i in moving])
    third = max(1, len(steps) // 3)
    colour = np.sum([r.colour for r in regions], axis=0)
    mids = [_mid(pairs[i]) for i in moving if pairs[i].region is not None]
    peak = int(np.argmax([r.share for r in regions]))
    return Activity(
        start=_start(pairs, first, from_previous),
        end=_mid(pairs[last]),
        **_place(pairs, first, last),
        pairs=len(regions),
        share_sum=sum(r.share for r in regions),
        share_peak=max(r.share for r in regions),
        x_sum=sum(r.x for r in regions),
        y_sum=sum(r.y for r in regions),
        size_sum=sum(r.size for r in regions),
        first_at=(regions[0].x, regions[0].y),
        last_at=(regions[-1].x, regions[-1].y),
        entered=regions[0].edges,
        exited=regions[-1].edges,
        dx=float(steps[:, 0].sum()),
        dy=float(steps[:, 1].sum()),
        path=float(lengths.sum()),
        travel_time=float(times.sum()),
        growth=_growth(regions, steps),
        legs=_legs(positions),
        early_speed=_speed(lengths[:third], times[:third]),
        late_speed=_speed(lengths[-third:], times[-third:]),
        colour_excess=tuple(float(c) for c in colour),
        peak_time=_peak_frame(pairs, moving[peak], last),
        stays=stays,
        track=_track(mids, regions),
    )


def _track(times: Sequence[float], regions: Sequence[Region]) -> tuple[tuple[float, float, float, float], ...]:
    """Where the mover was at each active pair: (time, x, y, share). A region that reaches both side edges is
    left out: a change across the whole width (light, exposure) places nothing."""
    return trimmed(
        [(t, round(_across(r), 4), round(r.y, 4), round(r.share, 4)) for t, r in zip(times, regions) if not _spans_width(r)]
    )


def _spans_width(region: Region) -> bool:
    return {"left", "right"} <= set(region.edges)


def _across(region: Region) -> float:
    """Where a mover is across the frame (0-1): at the side edge that cuts its region off, when one does (it is
    coming in from beyond that edge or going out past it, and its centre says only how much of it shows yet);
    else its centre."""
    sides = {"left", "right"} & set(region.edges)
    if len(sides) == 1:
        return 0.0 if "left" in sides else 1.0
    return region.x


def _peak_frame(pairs: Sequence[PairMotion], at: int, last: int) -> float:
    """The sampled frame that shows the region of pair `at` (the largest): the pair's later frame, or its
    earlier one when the run ends with it (what moved is gone from the later)."""
    return pairs[at].end if at < last else pairs[at].start


def _growth(regions: Sequence[Region], steps: np.ndarray) -> float:
    """Log of how much the region grew, summed over steps between pairs where the frame's edge
    does not cut it off. Each step compares the region's extent across its travel (height when
    it moves sideways, width when it moves up or down): the extent along the travel also grows
    with speed, since a pair's region covers both of the object's positions."""
    total = 0.0
    for (dx, dy), before, after in zip(steps, regions, regions[1:]):
        if before.edges or after.edges:
            continue
        axis = 1 if abs(dx) >= abs(dy) else 0  # y across sideways travel, x across vertical travel
        total += math.log(_extent(after, axis) / _extent(before, axis))
    return total


def _extent(region: Region, axis: int) -> float:
    return max(region.box[axis + 2] - region.box[axis], 1e-6)


def _legs(positions: np.ndarray) -> tuple[tuple[str, float], ...]:
    """The path as at most MAX_LEGS straight legs, (heading, frame widths) in order: the
    polyline simplified (Douglas-Peucker) to within LEG_SHARE of its extent, so wobbles do not
    count, and only its longest legs kept."""
    if len(positions) < 2:
        return ()
    extent = float(np.hypot(*np.ptp(positions, axis=0)))
    if extent < MIN_TRAVEL:
        return ()
    corners = cv2.approxPolyDP(positions.astype(np.float32).reshape(-1, 1, 2), LEG_SHARE * extent, closed=False).reshape(-1, 2)
    legs = join_legs([(heading(dx, dy), float(np.hypot(dx, dy))) for dx, dy in np.diff(corners, axis=0) if np.hypot(dx, dy) > 0])
    longest = sorted(range(len(legs)), key=lambda i: -legs[i][1])[:MAX_LEGS]
    return join_legs([(legs[i][0], round(legs[i][1], 4)) for i in sorted(longest)])


def _speed(lengths: np.ndarray, times: np.ndarray) -> float:
    return float(lengths.sum() / times.sum()) if len(times) and times.sum() > 0 else 0.0


def _camera_shift(pairs: Sequence[PairMotion], width: int) -> list[tuple[float, float]]:
    """The content's shift by the camera up to each pair's end, in frame widths."""
    x = y = 0.0
    out = []
    for pair in pairs:
        if pair.camera is not None:
            x, y = x + pair.camera.dx / width, y + pair.camera.dy / width
        out.append((x, y))
    return out


def _stillness(pairs: Sequence[PairMotion], stretches: list[tuple[int, int]]) -> list[Stillness]:
    inside = np.zeros(len(pairs), bool)
    for first, last in stretches:
        inside[first : last + 1] = True
    found = []
    i = 0
    while i < len(pairs):
        if not pairs[i].still or inside[i]:
            i += 1
            continue
        first = i
        while i + 1 < len(pairs) and pairs[i + 1].still and not inside[i + 1]:
            i += 1
        start = _mid(pairs[first - 1]) if first > 0 and pairs[first - 1].active else pairs[first].start
        end = _mid(pairs[i + 1]) if i + 1 < len(pairs) and pairs[i + 1].active else pairs[i].end
        found.append(Stillness(start=start, end=end, **_place(pairs, first, i)))
        i += 1
    return found


_LABELS = {("pan", 1): "pan right", ("pan", -1): "pan left", ("tilt", 1): "tilt up", ("tilt", -1): "tilt down"}
_LABELS |= {("zoom", 1): "zoom in", ("zoom", -1): "zoom out"}


def _camera_label(pair: PairMotion, width: int, min_speed: float) -> tuple[str, float] | None:
    """The pair's camera motion in words and its rate (frame widths per second), if fast enough."""
    step = pair.camera
    dt = pair.end - pair.start
    if step is None or dt <= 0:
        return None
    rates = {
        "pan": -step.dx / width / dt,  # content moving left: the camera turns right
        "tilt": step.dy / width / dt,  # content moving down: the camera turns up
        "zoom": math.log(step.scale) / 2 / dt,  # the frame's edge moves by half the scale change
    }
    kind, rate = max(rates.items(), key=lambda kv: abs(kv[1]))
    if abs(rate) < min_speed:
        return None
    return _LABELS[(kind, 1 if rate > 0 else -1)], abs(rate)


def _camera(pairs: Sequence[PairMotion], grouping: Grouping, from_previous: bool) -> list[CameraMotion]:
    """Camera runs: stretches of moving-camera pairs (one slower pair inside does not break a
    stretch, so a shake stays one), each a shake or runs by label."""
    labels = [_camera_label(p, grouping.width, grouping.min_camera_speed) for p in pairs]
    stretches: list[list[int]] = []
    for i, label in enumerate(labels):
        if label is None:
            continue
        if stretches and i - stretches[-1][-1] <= 2 and not _cut_between(pairs, stretches[-1][-1], i):
            stretches[-1].append(i)
        else:
            stretches.append([i])
    found = []
    for stretch in stretches:
        found.extend(_camera_runs(pairs, labels, stretch, from_previous))
    return found


def _camera_runs(pairs, labels, stretch: list[int], from_previous: bool) -> list[CameraMotion]:
    """One stretch of moving-camera pairs: a shake when it goes back and forth, else runs of one
    label over consecutive pairs."""
    shifts = np.array([(pairs[i].camera.dx, pairs[i].camera.dy) for i in stretch])
    net, path = float(np.hypot(*shifts.sum(axis=0))), float(np.hypot(shifts[:, 0], shifts[:, 1]).sum())
    translating = all(labels[i][0].split()[0] in ("pan", "tilt") for i in stretch)
    if len(stretch) >= SHAKE_PAIRS and translating and net < SHAKE_STRAIGHTNESS * path:
        pieces = [(stretch, "shake")]
    else:
        pieces = []
        for i in stretch:
            if pieces and pieces[-1][1] == labels[i][0] and pieces[-1][0][-1] == i - 1:
                pieces[-1][0].append(i)
            else:
                pieces.append(([i], labels[i][0]))
    return [
        CameraMotion(
            start=_start(pairs, members[0], from_previous),
            end=_mid(pairs[members[-1]]),
            **_place(pairs, members[0], members[-1]),
            motion=motion,
            pairs=len(members),
            rate_sum=sum(labels[i][1] for i in members),
        )
        for members, motion in pieces
    ]
