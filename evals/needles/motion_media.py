"""The real footage the motion set is cut from: a fixed camera over an empty room that six people
visit one at a time (one-by-one-person-detection.mp4), read at the set's size and rate.

The visits' times in the source were measured once, independently of perception.motion: each
5 fps frame against an empty-room reference (46-49.8 s), a person counted as present while
more than 0.4% of the (blurred, 192 px) frame differs by more than 30 grey levels; the six
stretches that gives match the footage seen by eye. `EMPTY` is the longest empty stretch with nothing moving in it at all: played
back and forth it is a still room with the camera's own noise, as long as needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from perception.errors import MediaError
from perception.video import VideoReader

ROOM = "video/one-by-one-person-detection.mp4"
WIDTH, HEIGHT, FPS = 448, 252, 5
VISITS = ((6.0, 20.3), (22.8, 45.2), (50.2, 70.1), (74.6, 87.3), (92.2, 120.5), (123.6, 136.5))  # person in view, s
EMPTY = (0.4, 5.8)
LEAD = 1.0  # seconds of empty room kept before and after a visit cut from the source


@dataclass(frozen=True)
class Footage:
    """The room at the set's rate: every frame of the source at 1/FPS steps, (N, H, W, 3) uint8 RGB."""

    frames: np.ndarray
    times: np.ndarray

    def between(self, start: float, end: float) -> np.ndarray:
        """The frames in [start, end), in order."""
        return self.frames[(self.times >= start - 1e-6) & (self.times < end - 1e-6)]

    def still(self, count: int, phase: int = 0) -> Iterator[np.ndarray]:
        """`count` frames of the empty room, its empty stretch played forth and back (no seam), from `phase`."""
        empty = self.between(*EMPTY)
        cycle = len(empty) * 2 - 2
        for k in range(phase, phase + count):
            at = k % cycle
            yield empty[at if at < len(empty) else cycle - at]


def read_room(media: Path) -> Footage:
    """The room footage at WIDTH x HEIGHT and FPS; a missing file is a MediaError naming it."""
    path = media / ROOM
    if not path.is_file():
        raise MediaError(f"the motion set is cut from {path}, which is missing")
    with VideoReader(path, max_side=WIDTH) as reader:
        parts = list(reader.sample(fps=FPS, batch_size=256))
    frames = np.concatenate([p.frames for p in parts])
    if frames.shape[1:3] != (HEIGHT, WIDTH):
        frames = np.stack([_fit(f) for f in frames])
    return Footage(frames, np.round(np.concatenate([p.times for p in parts]) * FPS) / FPS)


def _fit(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(frame, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def write_frames(path: Path, frames: Iterable[np.ndarray], fps: int = FPS) -> Path:
    """H.264 of RGB frames (an iterable of arrays of one size), written to a temporary name then moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23", "g": str(5 * fps)}
        for i, frame in enumerate(frames):
            if frame.shape != (HEIGHT, WIDTH, 3):
                raise MediaError(f"frame {i} is {frame.shape}, not {(HEIGHT, WIDTH, 3)}")
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            picture.pts, picture.time_base = i, Fraction(1, fps)
            container.mux(stream.encode(picture))
        container.mux(stream.encode())
    partial.replace(path)
    return path


def still_room(path: Path, media: Path, seconds: float) -> Path:
    """A video of the empty room, `seconds` long (made once: an existing file is kept); loop it for longer."""
    if path.exists():
        return path
    room = read_room(media)
    return write_frames(path, room.still(round(seconds * FPS)))
