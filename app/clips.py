"""Short clips around moments, so any library video plays in a browser however it was ingested.

A clip is cut from the video's own file when it is still there and still the same video (its
content hash is the video's id), re-encoded as H.264 + AAC MP4 that every browser plays (AVI
and other containers included); when the file is gone or changed, it is made from the frames
the library stored (a slideshow at the sampling rate, no sound), so even a video whose file was
deleted plays. Clips are cached under `<home>/clips/<video id>/`, named by their span, written
to a temporary name and renamed into place, and the oldest are deleted past `max_bytes`.

The app serves clips by video id and time: the path comes from the catalogue's id and the
clip's own span, never from a request.
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.mp4 import write_mp4
from memory.store import VideoRecord, check_id, content_hash
from perception.errors import LongshotError, UnreadableVideoError
from perception.video import VideoReader, read_audio

CLIPS = "clips"
CLIP_SECONDS = 40.0
LEAD_SECONDS = 5.0  # a clip starts this long before the moment, on a SNAP_SECONDS boundary (so nearby moments share it)
SNAP_SECONDS = 20.0
CLIP_FPS = 10
CLIP_MAX_SIDE = 480  # with CLIP_FPS and x264 ultrafast: 40 s of a 768x576 AVI cut in 3 s on 2 busy cores (load 15)
SAMPLE_RATE = 16000
MAX_CLIP_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Clip:
    """A playable file covering [start, end] of a video; `from_frames` when made from stored frames."""

    path: Path
    video: str
    start: float
    end: float
    from_frames: bool

    def offset(self, moment: float) -> float:
        """Where `moment` of the video falls in the clip."""
        return min(max(moment - self.start, 0.0), self.end - self.start)


def clip_span(moment: float, duration: float) -> tuple[float, float]:
    """The span of the clip around `moment`: CLIP_SECONDS (or the whole video, if shorter) from a
    SNAP_SECONDS boundary shortly before it, pulled back inside the video near its end."""
    duration = max(duration, 0.0)
    start = max(0.0, math.floor((min(moment, duration) - LEAD_SECONDS) / SNAP_SECONDS) * SNAP_SECONDS)
    end = min(duration, start + CLIP_SECONDS)
    return max(0.0, end - CLIP_SECONDS), end


class Clips:
    """The clip cache of one library home."""

    def __init__(self, home: Path, max_bytes: int = MAX_CLIP_BYTES):
        self.folder = Path(home).expanduser().resolve() / CLIPS
        self.max_bytes = max_bytes
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def around(self, record: VideoRecord, moment: float, frames: Any) -> Clip:
        """The clip holding `moment` of a video, made now or found in the cache; `frames()` gives the
        video's frame store, asked for only when the file cannot be used."""
        start, end = clip_span(moment, record.committed_until if record.status != "ready" else record.duration)
        folder = self.folder / check_id(record.id)
        for from_frames in (False, True):
            path = folder / f"{start:07.0f}-{end:07.0f}{'-frames' if from_frames else ''}.mp4"
            if path.is_file():
                os.utime(path)
                return Clip(path, record.id, start, end, from_frames)
        with self._lock_for(folder / f"{start:.0f}"):
            source = _same_video(record)
            path = folder / f"{start:07.0f}-{end:07.0f}{'' if source else '-frames'}.mp4"
            if not path.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                _write_atomic(
                    path,
                    lambda target: _cut(source, start, end, target) if source else _from_frames(frames(), start, end, target),
                )
                self._prune()
        return Clip(path, record.id, start, end, source is None)

    def discard(self, video: str) -> None:
        """Delete a video's clips (when it is forgotten)."""
        shutil.rmtree(self.folder / check_id(video), ignore_errors=True)

    def _lock_for(self, key: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _prune(self) -> None:
        """Delete the least recently played clips until the cache fits `max_bytes`."""
        files = sorted(self.folder.rglob("*.mp4"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for oldest in files[:-1]:
            if total <= self.max_bytes:
                break
            total -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)


def _same_video(record: VideoRecord) -> Path | None:
    """The video's file when it is there and still holds the same video, else None."""
    path = Path(record.path)
    try:
        return path if path.is_file() and content_hash(path) == record.id else None
    except LongshotError:
        return None


def _even(pixels: np.ndarray) -> np.ndarray:
    height, width = pixels.shape[:2]
    return pixels[: height - height % 2, : width - width % 2]


def _cut(source: Path, start: float, end: float, target: Path) -> None:
    with VideoReader(source, max_side=CLIP_MAX_SIDE) as reader:
        fps = max(1, min(CLIP_FPS, round(reader.info.fps)))
        audio = read_audio(source, start, end, SAMPLE_RATE) if reader.info.has_audio else None
        frames = (_even(frame) for batch in reader.sample(fps, batch_size=8, start=start, end=end) for frame in batch.frames)
        _encode(frames, fps, audio, target)  # streamed: a clip's frames are never all in memory


def _from_frames(store: Any, start: float, end: float, target: Path) -> None:
    pixels, times, _ = store.window(start, end)
    if len(times) > 1:
        step = float(np.median(np.diff(times)))
        fps = max(1, round(1 / step)) if step > 0 else 1
    else:
        fps = 1
    _encode((_even(frame) for frame in pixels), fps, None, target)


def _encode(frames: Iterator[np.ndarray], fps: int, audio: np.ndarray | None, target: Path) -> None:
    first = next(frames, None)
    if first is None:
        raise UnreadableVideoError("no frames of that moment could be read to make a clip")
    height, width = first.shape[:2]
    write_mp4(
        target,
        itertools.chain([first], frames),
        fps,
        (width, height),
        audio,
        SAMPLE_RATE,
        keyframe_seconds=2.0,
        crf=28,
        preset="ultrafast",
    )


def _write_atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".mp4")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
