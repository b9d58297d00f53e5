"""Reading motion off the timeline: visits, camera moves, and what is going on at a moment.

The motion analyser (perception.motion) reports runs of change; people ask about visitors.
One visitor can leave more than one run (a pause while they stand still, a turn at the edge
of the frame; a stand-still across the end of an ingest span, after which the next motion starts where they
stood), and small changes (a shadow, a reflection, a camera's drift) leave runs too.
So a visit here is the activity of at least PERSON_SHARE of the frame (the share that makes a fact), its runs less than
SAME_VISIT seconds apart taken as one; a camera move is a camera run, its pieces of the same
move joined. Items are timeline occurrences (or evidence made of them): anything with
`modality`, `start`, `end` and the record's `data`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from memory.extract import VISIT_SHARE as PERSON_SHARE  # the share of the frame a visitor's activity covers at least
from perception.motion.records import crossing

SAME_VISIT = 3.0  # seconds between two runs of one visitor at most, unless the visitor stayed (below)
SAME_PLACE = 0.25  # frame shares from where a visitor stood still to where the next motion begins, for it to be theirs
SAME_MOVE = 1.0  # seconds between two pieces of one camera move at most


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
    def entry(self) -> tuple[float, float, float] | None:
        """(time, x, y) where the visitor is first seen whole (perception.motion's Activity.entry)."""
        return next((tuple(e) for r in self.runs if (e := r.get("entry"))), None)

    @property
    def exit(self) -> tuple[float, float, float] | None:
        """(time, x, y) where the visitor is last seen whole."""
        return next((tuple(e) for r in reversed(self.runs) if (e := r.get("exit"))), None)

    @property
    def crossing(self) -> str | None:
        """ "right" or "left": the way from where the visitor came in to where they went out."""
        return crossing(self.entry, self.exit)


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
        if found and _same_visitor(found[-1], run):
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


def _same_visitor(visit: Sequence[Timed], run: Timed) -> bool:
    """Whether `run` carries on `visit`: it starts within SAME_VISIT seconds, or the visitor stood still and
    was still there at the end of their span (`stays`) and `run` starts where they stood."""
    if run.start - max(r.end for r in visit) <= SAME_VISIT:
        return True
    last, data = visit[-1].data or {}, run.data or {}
    stood, moves = last.get("exit"), data.get("entry")
    if not (last.get("stays") and stood and moves):
        return False
    return math.dist(stood[1:], moves[1:]) <= SAME_PLACE


def _share(data: Mapping[str, Any] | None) -> float:
    return float((data or {}).get("share", 0.0))
