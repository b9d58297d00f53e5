"""The observations motion analysis hands to memory: activity, camera motion, stillness.

Each record has a modality, start, end, a sentence a person reads (`text`) and structured
`data` (JSON-safe, with everything needed to rebuild the record by `from_data`), which is what
an event timeline stores. Positions are shares of the frame (0-1); distances and speeds are in
frame widths, so figures mean the same at any resolution.

Runs cross span boundaries. A record knows whether it reaches its span's first pair
(`open_start`) or last pair (`open_end`), and the sampled times it covers (`bounds`), so the
caller can tell deterministically that a run in the next span continues it (`continues`) and
combine the two (`joined`). The activity figures are sums, so a joined run reads as if it had
been seen in one piece, less the one step of its path across the boundary (`chain` does this
for a whole video, span by span).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np

from perception.motion.colour import colour_name
from perception.timefmt import format_span

LEG_SHARE = 0.2  # a path simplified to within this share of its extent: smaller turns are wobbles
SLOW, FAST = 0.05, 0.2  # frame widths per second: below SLOW is slow, above FAST is fast
MIN_TRAVEL = 0.05  # frame widths: a net displacement smaller than this has no direction
STRAIGHTNESS = 0.4  # net displacement over the length of its legs below which the region moves about
MIN_GROWTH = math.log(1.25)  # size change that counts as toward or away from the camera
SPEED_TREND = 1.5  # ratio of late to early speed that counts as speeding up (or its inverse)
TOUCH = 1e-6  # seconds: sampled times are equal when closer than this
TRACK_ENDS = 20  # track points kept at each end of a long run: where it comes in and goes out
MAJOR = 0.1  # share of the run's peak a region needs to place the mover (fades and flicker are smaller)
MIN_CROSS = 0.05  # frame widths between where a mover comes in and goes out for it to cross the frame


@dataclass(frozen=True)
class Run:
    """Where a run sits in its span, for joining across spans."""

    start: float
    end: float
    bounds: tuple[float, float]  # first and last sampled time the run covers
    open_start: bool  # it reaches its span's first pair: it may continue an earlier run
    open_end: bool  # it reaches its span's last pair: a later span may continue it

    modality: ClassVar[str] = ""

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def data(self) -> dict[str, Any]:
        """JSON-safe fields plus the words people search by; `from_data` rebuilds the record."""
        out = asdict(self)
        out["bounds"] = list(self.bounds)
        return out | self.words()

    def words(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_data(cls, data: dict[str, Any]):
        names = {f.name for f in fields(cls)}
        return cls(**{k: _tuples(v) for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Stillness(Run):
    """Nothing moved in the scene beyond the noise floor (the camera may still move)."""

    modality: ClassVar[str] = "stillness"

    @property
    def text(self) -> str:
        return f"no activity, {format_span(self.start, self.end)}"


CAMERA_MOTIONS = ("pan left", "pan right", "tilt up", "tilt down", "zoom in", "zoom out", "shake")


@dataclass(frozen=True)
class CameraMotion(Run):
    """The camera moved: `motion` is one of CAMERA_MOTIONS; `rate` its mean speed in frame
    widths per second (for a zoom, the speed of the frame's edge)."""

    motion: str = ""
    pairs: int = 0
    rate_sum: float = 0.0

    modality: ClassVar[str] = "camera"

    @property
    def rate(self) -> float:
        return self.rate_sum / self.pairs if self.pairs else 0.0

    def words(self) -> dict[str, Any]:
        return {"rate": round(self.rate, 4)}

    @property
    def text(self) -> str:
        verb = {"shake": "the camera shakes"}.get(self.motion, f"the camera {self.motion.replace(' ', 's ', 1)}")
        return f"{verb} ({self.rate:.2f} frame widths/s), {format_span(self.start, self.end)}"


@dataclass(frozen=True)
class Activity(Run):
    """Something moved. Sums over the run's active pairs, so joined runs add up."""

    pairs: int = 0
    share_sum: float = 0.0  # share of the frame that moved, summed over pairs
    share_peak: float = 0.0
    x_sum: float = 0.0  # region centres, summed over pairs (frame shares)
    y_sum: float = 0.0
    size_sum: float = 0.0  # region sizes (frame widths), summed
    first_at: tuple[float, float] = (0.0, 0.0)  # region centre in the first and last active pair
    last_at: tuple[float, float] = (0.0, 0.0)
    entered: tuple[str, ...] = ()  # frame edges the region touched when the run began
    exited: tuple[str, ...] = ()  # ... and when it ended
    dx: float = 0.0  # net travel in the scene (camera motion taken out), frame widths
    dy: float = 0.0
    path: float = 0.0  # length travelled, frame widths
    travel_time: float = 0.0  # seconds between the first and last region centre
    growth: float = 0.0  # log of the region's size change (its extent across its travel), summed over steps
    legs: tuple[tuple[str, float], ...] = ()  # the path as straight legs: (direction, frame widths), in order
    early_speed: float = 0.0  # frame widths per second over the run's first steps
    late_speed: float = 0.0  # ... and its last steps
    colour_excess: tuple[float, ...] = ()  # pixels per PALETTE name beyond the surroundings
    peak_time: float = 0.0  # the sampled frame where the moving region was largest (a frame that shows it)
    # (time, x, y, share) per active pair, x at the side edge that cuts the region off if one does; see `trimmed`
    track: tuple[tuple[float, float, float, float], ...] = ()
    stays: bool = False  # what moved stood still and was still there when its span ended (not gone: a pause)

    modality: ClassVar[str] = "activity"

    @property
    def share(self) -> float:
        """How much of the frame moves, on average over the run."""
        return self.share_sum / self.pairs if self.pairs else 0.0

    @property
    def where(self) -> str:
        return place(self.x_sum / self.pairs, self.y_sum / self.pairs) if self.pairs else "centre"

    @property
    def speed(self) -> float:
        """Mean speed of the region's centre, frame widths per second."""
        return self.path / self.travel_time if self.travel_time > 0 else 0.0

    @property
    def speed_word(self) -> str:
        return "slow" if self.speed < SLOW else "fast" if self.speed > FAST else "moderate"

    @property
    def speed_trend(self) -> str | None:
        """ "speeds up" or "slows down" when the run's late speed differs enough from its early one."""
        if self.early_speed <= 0 or self.late_speed <= 0:
            return None
        ratio = self.late_speed / self.early_speed
        return "speeds up" if ratio >= SPEED_TREND else "slows down" if ratio <= 1 / SPEED_TREND else None

    @property
    def direction(self) -> str | None:
        """up, down, left or right: the net travel in the scene; None when it moves about in place."""
        travel = math.hypot(self.dx, self.dy)
        course = sum(length for _, length in self.legs)  # the path without its wobbles
        if travel < max(MIN_TRAVEL, STRAIGHTNESS * course):
            return None
        return heading(self.dx, self.dy)

    @property
    def entry(self) -> tuple[float, float, float] | None:
        """(time, x, y) where the mover is first seen whole: the first of its track's regions of at least
        MAJOR of the peak, so a fade or shadow before it does not place it."""
        major = self._major()
        return major[0][:3] if major else None

    @property
    def exit(self) -> tuple[float, float, float] | None:
        """(time, x, y) where the mover is last seen whole (see `entry`)."""
        major = self._major()
        return major[-1][:3] if major else None

    @property
    def crossing(self) -> str | None:
        return crossing(self.entry, self.exit)

    def _major(self) -> list[tuple[float, float, float, float]]:
        peak = max((p[3] for p in self.track), default=0.0)
        return [p for p in self.track if p[3] >= MAJOR * peak]

    @property
    def depth(self) -> str | None:
        """ "toward" or "away" (the camera), from the region's own growth; None when its size holds."""
        if abs(self.growth) < MIN_GROWTH:
            return None
        return "toward" if self.growth > 0 else "away"

    @property
    def colour(self) -> str | None:
        return colour_name_of(self.colour_excess)

    @property
    def text(self) -> str:
        colour = self.colour
        what = f"a {colour} region" if colour else "a region"
        what += f" ({round(100 * self.share)}% of the frame)" if self.share >= 0.005 else " (under 1% of the frame)"
        legs = [leg for leg, _ in self.legs]
        motion = f"moves {', then '.join(legs)}" if legs else "moves about"
        if self.depth:
            motion += " toward the camera" if self.depth == "toward" else " away from the camera"
        start, end = place(*self.first_at), place(*self.last_at)
        where = f"in the {start}" if start == end else f"from the {start} to the {end}"
        parts = [f"{what} {motion} {where}, {self.speed_word} ({self.speed:.2f} frame widths/s)"]
        if self.speed_trend:
            parts.append(self.speed_trend)
        if self.entered and not self.open_start:
            parts.append(f"entering at the {_edges(self.entered)}")
        if self.exited and not self.open_end:
            parts.append(f"leaving at the {_edges(self.exited)}")
        if self.entry and self.exit and not self.open_end:
            came, went = place(*self.entry[1:]), place(*self.exit[1:])
            crossing = f"crossing to the {self.crossing}" if self.crossing else "not crossing"
            parts.append(f"seen first in the {came} and last in the {went} ({crossing})")
        return ", ".join([*parts, format_span(self.start, self.end)])

    def words(self) -> dict[str, Any]:
        x, y = (self.x_sum / self.pairs, self.y_sum / self.pairs) if self.pairs else (0.5, 0.5)
        return {
            "where": self.where,
            "column": column(x),
            "row": row(y),
            "share": round(self.share, 4),
            "direction": self.direction,
            "depth": self.depth,
            "speed": round(self.speed, 4),
            "speed_word": self.speed_word,
            "speed_trend": self.speed_trend,
            "colour": self.colour,
            "crossing": self.crossing,
            "entry": list(self.entry) if self.entry else None,
            "exit": list(self.exit) if self.exit else None,
        }


Observation = Activity | CameraMotion | Stillness


def column(x: float) -> str:
    """ "left", "centre" or "right": the third of the frame's width `x` (0-1) falls in."""
    return "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"


def row(y: float) -> str:
    """ "top", "middle" or "bottom": the third of the frame's height `y` (0-1) falls in."""
    return "top" if y < 1 / 3 else "bottom" if y > 2 / 3 else "middle"


def place(x: float, y: float) -> str:
    """Thirds of the frame in words: "centre", "left", "top right", "bottom"."""
    words = [w for w in (row(y), column(x)) if w not in ("middle", "centre")]
    return " ".join(words) or "centre"


def _tuples(value: Any) -> Any:
    """JSON's lists back to the tuples the records hold."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def crossing(entry: Sequence[float] | None, exit_: Sequence[float] | None) -> str | None:
    """ "left" or "right": the way from where a mover came in to where it went out ((time, x, y) each), if
    at least MIN_CROSS frame widths; None for one who leaves on the side they came in at, or stays."""
    if entry is None or exit_ is None or abs(exit_[1] - entry[1]) < MIN_CROSS:
        return None
    return "right" if exit_[1] > entry[1] else "left"


def heading(dx: float, dy: float) -> str:
    """The main axis of a displacement in words (y grows downward)."""
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def colour_name_of(excess: tuple[float, ...]) -> str | None:
    return colour_name(np.asarray(excess)) if excess else None


def _edges(edges: tuple[str, ...]) -> str:
    return " and ".join(edges)


def join_legs(legs: Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """Consecutive legs in one direction as one."""
    out: list[tuple[str, float]] = []
    for word, length in legs:
        if out and out[-1][0] == word:
            out[-1] = (word, out[-1][1] + length)
        else:
            out.append((word, length))
    return tuple(out)


def trimmed(track: Sequence[tuple[float, float, float, float]]) -> tuple[tuple[float, float, float, float], ...]:
    """A run's track as kept: whole when short, else its first and last TRACK_ENDS points (where it
    comes in and goes out), so a record stays small on a run of any length. Trimming the joined
    tracks of two spans keeps what trimming the whole run's would."""
    points = tuple(tuple(p) for p in track)
    return points if len(points) <= 2 * TRACK_ENDS else points[:TRACK_ENDS] + points[-TRACK_ENDS:]  # type: ignore[return-value]


def continues(earlier: Observation, later: Observation) -> bool:
    """Whether `later` (from the next span) carries on the same run as `earlier`."""
    if type(earlier) is not type(later) or not (earlier.open_end and later.open_start):
        return False
    if isinstance(earlier, CameraMotion) and isinstance(later, CameraMotion) and earlier.motion != later.motion:
        return False
    return abs(later.bounds[0] - earlier.bounds[1]) <= TOUCH


def joined(earlier: Observation, later: Observation) -> Observation:
    """One record for a run seen in two spans (check `continues` first)."""
    if not continues(earlier, later):
        raise ValueError("these runs do not continue one another")
    ends: dict[str, Any] = {
        "end": later.end,
        "bounds": (earlier.bounds[0], later.bounds[1]),
        "open_end": later.open_end,
    }
    if isinstance(earlier, CameraMotion) and isinstance(later, CameraMotion):
        return replace(earlier, **ends, pairs=earlier.pairs + later.pairs, rate_sum=earlier.rate_sum + later.rate_sum)
    if isinstance(earlier, Activity) and isinstance(later, Activity):
        return replace(
            earlier,
            **ends,
            pairs=earlier.pairs + later.pairs,
            share_sum=earlier.share_sum + later.share_sum,
            share_peak=max(earlier.share_peak, later.share_peak),
            peak_time=later.peak_time if later.share_peak > earlier.share_peak else earlier.peak_time,
            track=trimmed(earlier.track + later.track),
            stays=later.stays,
            x_sum=earlier.x_sum + later.x_sum,
            y_sum=earlier.y_sum + later.y_sum,
            size_sum=earlier.size_sum + later.size_sum,
            last_at=later.last_at,
            exited=later.exited,
            dx=earlier.dx + later.dx,
            dy=earlier.dy + later.dy,
            path=earlier.path + later.path,
            travel_time=earlier.travel_time + later.travel_time,
            growth=earlier.growth + later.growth,
            legs=join_legs(earlier.legs + later.legs),
            early_speed=earlier.early_speed or later.early_speed,
            late_speed=later.late_speed or earlier.late_speed,
            colour_excess=tuple(a + b for a, b in zip(earlier.colour_excess, later.colour_excess)),
        )
    return replace(earlier, **ends)


def chain(so_far: Sequence[Observation], span: Sequence[Observation]) -> list[Observation]:
    """`so_far` followed by a later span's observations, each run that continues an earlier one
    joined to it: the whole video's observations, span by span."""
    out = list(so_far)
    for observation in span:
        earlier = next((i for i in range(len(out) - 1, -1, -1) if continues(out[i], observation)), None)
        if earlier is None:
            out.append(observation)
        else:
            out[earlier] = joined(out[earlier], observation)
    return sorted(out, key=lambda o: (o.start, o.modality))
