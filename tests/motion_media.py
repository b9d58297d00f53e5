"""Scenes with known motion for the motion tests: textured backgrounds, shapes that move at a
known speed in a known direction, a camera that pans or zooms, sensor noise, and visitors that
come and go at known times. Frames are RGB uint8; times are seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from perception.motion import MotionAnalyser, Observation, chain
from perception.video import VideoReader

COLOURS = {
    "red": (210, 30, 30),
    "green": (40, 170, 60),
    "blue": (40, 70, 210),
    "yellow": (230, 210, 40),
    "purple": (120, 40, 160),
}


def texture(width: int, height: int, seed: int, contrast: float = 50.0) -> np.ndarray:
    """A muted, grey-beige textured scene (blobs at several scales), like a wall and floor."""
    rng = np.random.default_rng(seed)
    field = np.zeros((height, width), np.float32)
    for scale in (64, 24, 8):
        small = rng.normal(0, 1, (max(2, height // scale), max(2, width // scale))).astype(np.float32)
        field += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    field = (field - field.mean()) / (field.std() + 1e-6)
    grey = np.clip(128 + contrast * field / 2, 0, 255)
    tint = np.array([1.0, 0.97, 0.9], np.float32)
    return np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8)


_SPOTS = ((-0.4, -0.5), (0.35, -0.3), (0.0, 0.1), (-0.35, 0.45), (0.4, 0.55), (0.1, -0.75))


@dataclass(frozen=True)
class Mover:
    """An ellipse of one colour with a few lighter and darker spots, at `start` (frame shares) at time `since`, moving at
    `velocity` (frame widths per second, y down), growing by `growth` (factor per second),
    present from `since` to `until`."""

    colour: tuple[int, int, int]
    start: tuple[float, float]
    velocity: tuple[float, float] = (0.0, 0.0)
    radius: float = 0.08  # frame widths
    growth: float = 1.0
    since: float = 0.0
    until: float = float("inf")
    wander: float = 0.0  # frame widths of side-to-side sway (a person never stands quite still)

    def draw(self, frame: np.ndarray, t: float) -> None:
        if not self.since <= t < self.until:
            return
        height, width = frame.shape[:2]
        age = t - self.since
        # Two incommensurate sways, so frames a second apart never catch it in one place.
        sway_x, sway_y = self.wander * np.sin(2 * np.pi * age / 1.7), 0.5 * self.wander * np.cos(2 * np.pi * age / 2.3)
        x = (self.start[0] + self.velocity[0] * age + sway_x) * width
        y = self.start[1] * height + (self.velocity[1] * age + sway_y) * width
        r = self.radius * width * self.growth**age
        axes = (max(1, round(r * 0.7)), max(1, round(r * 1.3)))
        centre = (round(x), round(y))
        cv2.ellipse(frame, centre, axes, 0, 0, 360, self.colour, -1, lineType=cv2.LINE_AA)
        dark = tuple(int(c * 0.55) for c in self.colour)
        light = tuple(min(255, int(c * 1.3) + 30) for c in self.colour)
        for (u, v), shade in zip(_SPOTS, (dark, light) * len(_SPOTS)):  # marks that corners can be tracked by
            spot = (round(x + u * axes[0]), round(y + v * axes[1]))
            cv2.circle(frame, spot, max(1, round(r * 0.16)), shade, -1, lineType=cv2.LINE_AA)


def scene(
    background: np.ndarray,
    movers: Sequence[Mover],
    times: Sequence[float],
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Frames of `movers` over a still `background`, with Gaussian sensor noise of `noise` grey levels."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in times:
        frame = background.copy()
        for mover in movers:
            mover.draw(frame, t)
        frames.append(_noisy(frame, noise, rng))
    return np.stack(frames)


def camera(
    world: np.ndarray,
    size: tuple[int, int],
    times: Sequence[float],
    pan: float = 0.0,
    tilt: float = 0.0,
    zoom: float = 1.0,
    shake: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
    movers: Sequence[Mover] = (),
) -> np.ndarray:
    """Frames of a camera looking at a larger `world`: `pan`/`tilt` in frame widths per second
    (+ is right/up), `zoom` a factor per second, `shake` random jitter in frame widths; `movers`
    move in the world (their positions are shares of the world, speeds in world widths)."""
    width, height = size
    world_h, world_w = world.shape[:2]
    rng = np.random.default_rng(seed)
    frames = []
    for t in times:
        jitter = rng.normal(0, shake, 2) if shake else np.zeros(2)
        cx = world_w / 2 + (pan * t + jitter[0]) * width
        cy = world_h / 2 - (tilt * t + jitter[1]) * width
        s = zoom**t
        matrix = np.array([[s, 0, width / 2 - s * cx], [0, s, height / 2 - s * cy]], np.float64)
        seen = world.copy() if movers else world
        for mover in movers:
            mover.draw(seen, t)
        frame = cv2.warpAffine(seen, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(_noisy(frame, noise, rng))
    return np.stack(frames)


def _noisy(frame: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    if not noise:
        return frame
    return np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)


def write_video(path: str | Path, frames_at: Callable[[float], np.ndarray], seconds: float, fps: int = 10) -> Path:
    """Encode `frames_at(t)` for t = 0, 1/fps, ... as H.264, as a camera's recording would be."""
    path = Path(path)
    first = frames_at(0.0)
    height, width = first.shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(fps * 2)}
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(first if i == 0 else frames_at(i / fps), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def video_motion(
    path: str | Path, max_side: int = 448, span_frames: int = 30, refine: bool = True
) -> tuple[list[Observation], int]:
    """What ingest does with a video: 1 fps frames at `max_side` in spans of `span_frames`, each
    analysed with the previous span's last frame, the extra frames it asks for decoded by time
    (by a second reader, as the first has moved on; `refine=False`, ingest's default, skips them),
    all chained into the whole video's observations. Also returns how many extra frames the spans asked for."""
    analyser = MotionAnalyser()
    found: list[Observation] = []
    asked = 0
    previous = None
    with VideoReader(path, max_side=max_side) as reader, VideoReader(path, max_side=max_side) as extra:
        for batch in reader.sample(fps=1.0, batch_size=span_frames):
            motion = analyser.analyse(batch.frames, batch.times, previous=previous)
            if refine and motion.wanted:
                asked += len(motion.wanted)
                more = extra.frames_at(motion.wanted)
                motion = motion.refined(more.frames, more.times)
            found = chain(found, motion.observations)
            previous = (batch.frames[-1], float(batch.times[-1]))
    return found, asked
