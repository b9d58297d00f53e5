"""Reading motion off the timeline: visits, camera moves, and what is going on at a moment.

The motion analyser (perception.motion) reports runs of change; people ask about visitors.
One visitor can leave more than one run (a pause while they stand still, a turn at the edge
of the frame), and small changes (a shadow, a reflection, a camera's drift) leave runs too.
So a visit here is the activity of at least PERSON_SHARE of the frame (the share that makes a fact), its runs less than
SAME_VISIT seconds apart taken as one; a camera move is a camera run, its pieces of the same
move joined. Items are timeline occurrences (or evidence made of them): anything with
`modality`, `start`, `end` and the record's `data`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from memory.extract import VISIT_SHARE as PERSON_SHARE  # the share of the frame a visitor's activity covers at least

SAME_VISIT = 3.0  # seconds between two runs of one visitor at most
SAME_MOVE = 1.0  # seconds between two pieces of one camera move at most
MIN_TRAVEL = 0.05  # frame widths a visitor must cross for a net direction to count
MIN_LEG = 0.15  # frame widths of a leg of a visitor's path that is a walk across, not a sway


class Timed(Protocol):
    @property
    def modality(self) -> str | None: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    @property
    def data(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class Visit:
    """Someone (or something person-sized) in view from `start` to `end`: the runs it is made of."""

    start: float
    end: float
    runs: tuple[Mapping[str, Any], ...]

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def crossing(self) -> str | None:
        """ "right" or "left": the way the visitor crossed the frame. By the side edge it came in at, when
        it came in at one side only; else by its first walk across (the first leg of its path at least
        MIN_LEG frame widths long, left or right); else from where it was first and last seen; None when
        none of these says."""
        entered = set(self.runs[0].get("entered") or ()) & {"left", "right"}
        if len(entered) == 1:
            return "right" if entered == {"left"} else "left"
        for run in self.runs:
            for way, length in run.get("legs") or ():
                if way in ("left", "right") and length >= MIN_LEG:
                    return str(way)
        first, last = self.runs[0].get("first_at"), self.runs[-1].get("last_at")
        if first and last and abs(last[0] - first[0]) >= MIN_TRAVEL:
            return "right" if last[0] > first[0] else "left"
        return None


@dataclass(frozen=True)
class CameraMove:
    start: float
    end: float
    motion: str  # one of perception.motion.CAMERA_MOTIONS


def visits(items: Iterable[Timed]) -> list[Visit]:
    """The visits in `items`, in time order."""
    runs = sorted((i for i in items if i.modality == "activity" and _share(i.data) >= PERSON_SHARE), key=lambda i: i.start)
    found: list[list[Timed]] = []
    for run in runs:
        if found and run.start - max(r.end for r in found[-1]) <= SAME_VISIT:
            found[-1].append(run)
        else:
            found.append([run])
    return [Visit(group[0].start, max(r.end for r in group), tuple(dict(r.data or {}) for r in group)) for group in found]


def camera_moves(items: Iterable[Timed]) -> list[CameraMove]:
    """The camera's moves in `items`, in time order, pieces of one move joined."""
    moves: list[CameraMove] = []
    for item in sorted((i for i in items if i.modality == "camera"), key=lambda i: i.start):
        motion = str((item.data or {}).get("motion", ""))
        if moves and moves[-1].motion == motion and item.start - moves[-1].end <= SAME_MOVE:
            moves[-1] = CameraMove(moves[-1].start, max(moves[-1].end, item.end), motion)
        else:
            moves.append(CameraMove(item.start, item.end, motion))
    return moves


def happening_at(items: Sequence[Timed], time: float, slack: float = 1.0) -> str:
    """ "person" when a visit covers `time` (give or take `slack` seconds), else "camera" when the camera
    moves then, else "still"."""
    if any(v.start - slack <= time <= v.end + slack for v in visits(items)):
        return "person"
    if any(m.start - slack <= time <= m.end + slack for m in camera_moves(items)):
        return "camera"
    return "still"


def nearest(spans: Sequence[Visit | CameraMove], time: float, within: float) -> Visit | CameraMove | None:
    """The span that covers `time`, or else starts or ends nearest to it, no further than `within` seconds."""

    def distance(span: Visit | CameraMove) -> float:
        return 0.0 if span.start <= time <= span.end else min(abs(span.start - time), abs(span.end - time))

    best = min(spans, key=distance, default=None)
    if best is None or not (best.start - within <= time <= best.end + within):
        return None
    return best


def _share(data: Mapping[str, Any] | None) -> float:
    return float((data or {}).get("share", 0.0))
