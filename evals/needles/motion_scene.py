"""One motion-set video: the empty room, with visits cut from the real footage spliced in at random
seconds and of random lengths, some of them played backwards, and a camera that
pans, tilts and zooms over the room now and then.

Every frame is the room seen through the camera's window (a crop of the footage, scaled to the
output size): at rest it holds still; during a camera move it slides or shrinks at a constant rate,
holds there, and after a still stretch moves back to rest, so every visitor is seen from the rest
view, where their whole way across the room is in the frame. Visits and camera moves never overlap, and each is apart from
the next by a random stretch of still room, so every truth is exact by construction:

- visit: a person is in view from `start` to `end` (the source visit's own entry and exit, with a
  random stretch of its middle cut out, so visits last different lengths);
  every source visit comes in at the bottom left or bottom centre (its centre at 0.33-0.53 of
  the frame's width), goes to the table and leaves at the right edge (0.95-0.98), measured as the
  visits were, so a visit crosses the room to the right (`motion` "right");
- visit-back: a visit played backwards: in at the right edge, out at the bottom left, crossing
  to the left (`motion` "left");
- camera: one of CAMERA_MOVES from `start` to `end`; every move away from rest is followed, after
  a still stretch, by the move back.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from evals.needles.motion_media import FPS, HEIGHT, LEAD, VISITS, WIDTH, Footage

REST_SCALE = 0.6  # the camera's window at rest: this share of the footage's width and height
PAN = 0.2  # a pan or tilt moves the window this share of the footage's width (height): fast enough to tell from drift
ZOOM = 1.3  # a zoom in shrinks the window by this factor, a zoom out grows it back
MIN_VISIT = 6.0  # seconds: the shortest visit kept
CAMERA_MOVES = ("pan left", "pan right", "tilt up", "tilt down", "zoom in", "zoom out")
PERSON = ("visit", "visit-back")


@dataclass(frozen=True)
class MotionEvent:
    """Something that happens: a person in view (PERSON kinds) or the camera moving, from start to end (s)."""

    id: str
    kind: str  # "visit", "visit-back" or "camera"
    start: float
    end: float
    source: tuple[float, ...] = ()  # the footage's stretches it is cut from, in seconds: (a, b) or (a, b, c, d)
    motion: str = ""  # a camera move (CAMERA_MOVES), or the way a visitor crosses the room ("right", "left")
    clip: tuple[float, float] = (0.0, 0.0)  # where its clip lies in the video (a cut begins or ends with empty room)

    @property
    def person(self) -> bool:
        return self.kind in PERSON


@dataclass(frozen=True)
class MotionScenario:
    """A motion-set video's script: its length and its events, in time order."""

    seed: int
    duration: float
    events: tuple[MotionEvent, ...]

    @property
    def people(self) -> list[MotionEvent]:
        return [e for e in self.events if e.person]

    @property
    def camera(self) -> list[MotionEvent]:
        return [e for e in self.events if not e.person]

    def to_dict(self) -> dict:
        return {"seed": self.seed, "duration": self.duration, "events": [asdict(e) for e in self.events]}

    @classmethod
    def from_dict(cls, data: dict) -> MotionScenario:
        events = tuple(MotionEvent(**{**e, "source": tuple(e["source"]), "clip": tuple(e["clip"])}) for e in data["events"])
        return cls(int(data["seed"]), float(data["duration"]), events)


def compose(seed: int, minutes: float, visits: int, backs: int, moves: int) -> MotionScenario:
    """A script of `visits` visits, `backs` visits played backwards and `moves` camera moves, in a
    seeded random order, at random seconds, each after a random stretch of still room; about `minutes` long."""
    rng = random.Random(f"motion:{seed}")
    kinds = ["visit"] * visits + ["visit-back"] * backs + ["camera"] * moves
    rng.shuffle(kinds)
    kinds = [k for kind in kinds for k in ((kind, "camera-back") if kind == "camera" else (kind,))]
    plans = [_plan(kind, rng) for kind in kinds]
    busy = sum(plan[1] for plan in plans)
    free = max(20.0 * (len(plans) + 1), minutes * 60 - busy)
    cuts = sorted(rng.uniform(0, free) for _ in plans)
    gaps = [b - a for a, b in zip([0.0, *cuts], cuts)]
    gaps = [max(12.0, g) for g in gaps]  # a still stretch between any two events, never too short to ask about
    events, t, window = [], 0.0, _Window()
    for n, ((kind, length, source, person), gap) in enumerate(zip(plans, gaps)):
        t = math.ceil((t + gap) * FPS - 1e-6) / FPS + rng.choice((0.0, 0.2, 0.4, 0.6, 0.8))  # off the 1 fps grid
        if kind.startswith("camera"):
            span = (round(t, 2), round(t + length, 2))
            move = window.next_move(rng) if kind == "camera" else window.back()
            events.append(MotionEvent(f"e{n}", "camera", *span, (), move, span))
        else:
            direction = {"visit": "right", "visit-back": "left"}[kind]
            clip = (round(t, 2), round(t + length, 2))
            events.append(MotionEvent(f"e{n}", kind, round(t + person[0], 2), round(t + person[1], 2), source, direction, clip))
        t += length
    tail = max(20.0, minutes * 60 - t)
    return MotionScenario(seed, round(t + tail, 1), tuple(events))


def _plan(kind: str, rng: random.Random) -> tuple[str, float, tuple[float, ...], tuple[float, float]]:
    """(kind, seconds it takes in the video, the footage's stretches it is cut from, when the person is in
    view within it); stretches fall on the set's frame grid, so the truths are exact."""
    if kind.startswith("camera"):
        return kind, rng.choice((3.0, 3.5, 4.0)), (), (0.0, 0.0)
    enter, leave = rng.choice(VISITS)
    kept = rng.uniform(MIN_VISIT, leave - enter)
    head = _grid(rng.uniform(min(3.0, kept / 2), kept - min(3.0, kept / 2)))
    a, b, c, d = (_grid(v) for v in (enter - LEAD, enter + head, leave - (kept - head), leave + LEAD))
    length = (b - a) + (d - c)
    if kind == "visit":
        return kind, round(length, 1), (a, b, c, d), (enter - a, length - (d - leave))
    return kind, round(length, 1), (a, b, c, d), (d - leave, length - (enter - a))  # played backwards


def _grid(seconds: float) -> float:
    return round(seconds * FPS) / FPS


class _Window:
    """The camera's window over the footage: centre (share of width, height) and scale; moves keep it inside."""

    def __init__(self):
        self.x, self.y, self.scale = 0.5, 0.5, REST_SCALE

    def next_move(self, rng: random.Random) -> str:
        possible = [m for m in CAMERA_MOVES if self._after(m) is not None]
        move = rng.choice(possible)
        self.x, self.y, self.scale = self._after(move)  # type: ignore[misc]
        return move

    def back(self) -> str:
        """The move that brings the window back to rest."""
        move = next(m for m in CAMERA_MOVES if (after := self._after(m)) is not None and _at_rest(after))
        self.x, self.y, self.scale = self._after(move)  # type: ignore[misc]
        return move

    def _after(self, move: str) -> tuple[float, float, float] | None:
        x, y, scale = self.x, self.y, self.scale
        dx = {"pan left": -PAN, "pan right": PAN}.get(move, 0.0)
        dy = {"tilt up": -PAN, "tilt down": PAN}.get(move, 0.0)
        scale *= {"zoom in": 1 / ZOOM, "zoom out": ZOOM}.get(move, 1.0)
        x, y = x + dx, y + dy
        inside = scale <= REST_SCALE + 1e-6 and all(scale / 2 <= c <= 1 - scale / 2 for c in (x, y))
        return (x, y, scale) if inside else None


def _at_rest(window: tuple[float, float, float]) -> bool:
    return all(abs(a - b) < 1e-6 for a, b in zip(window, (0.5, 0.5, REST_SCALE)))


def frames(scenario: MotionScenario, room: Footage) -> Iterator[np.ndarray]:
    """The video's frames at FPS, in order."""
    count = round(scenario.duration * FPS)
    window = (0.5, 0.5, REST_SCALE)
    still = room.still(count, phase=scenario.seed)
    events = list(scenario.events)
    i = 0
    while i < count:
        t = i / FPS
        event = next((e for e in events if e.clip[0] <= t + 1e-6 < e.clip[1]), None)
        if event is None:
            yield _through(next(still), window)
            i += 1
            continue
        clip = list(_clip(event, room, window))
        fade = round(LEAD * FPS) if event.person else 0
        for k, frame in enumerate(clip):
            room_now = next(still, None)  # the still room keeps its own time
            if i + k >= count:
                break
            # The empty room of the cut's first and last second fades in from, and out to, the still room,
            # so that the footage's slow drift in exposure between the two moments is no sudden change.
            share = min(1.0, (k + 1) / (fade + 1), (len(clip) - k) / (fade + 1)) if fade else 1.0
            if share < 1.0 and room_now is not None:
                frame = cv2.addWeighted(frame, share, _through(room_now, window), 1 - share, 0)
            yield frame
        if event.kind == "camera":
            window = _moved(window, event.motion, 1.0)
        i += len(clip)


def _clip(event: MotionEvent, room: Footage, window: tuple[float, float, float]) -> Iterator[np.ndarray]:
    if event.kind == "camera":
        steps = round((event.end - event.start) * FPS)
        rest = room.still(steps, phase=int(event.start * FPS))
        for k, frame in enumerate(rest):
            yield _through(frame, _moved(window, event.motion, (k + 1) / steps))
        return
    a, b, *more = event.source
    cut = room.between(a, b)
    if more:
        cut = np.concatenate([cut, room.between(*more)])
    if event.kind == "visit-back":
        cut = cut[::-1]
    for frame in cut:
        yield _through(frame, window)


def _moved(window: tuple[float, float, float], move: str, done: float) -> tuple[float, float, float]:
    x, y, scale = window
    x += done * {"pan left": -PAN, "pan right": PAN}.get(move, 0.0)
    y += done * {"tilt up": -PAN, "tilt down": PAN}.get(move, 0.0)
    scale *= {"zoom in": 1 / ZOOM, "zoom out": ZOOM}.get(move, 1.0) ** done
    return x, y, scale


def _through(frame: np.ndarray, window: tuple[float, float, float]) -> np.ndarray:
    """The part of `frame` the camera's window holds, scaled to the output size."""
    x, y, scale = window
    zoom = 1 / scale
    matrix = np.array([[zoom, 0, WIDTH / 2 - zoom * x * WIDTH], [0, zoom, HEIGHT / 2 - zoom * y * HEIGHT]], np.float64)
    return cv2.warpAffine(frame, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
