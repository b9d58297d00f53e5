"""Video in: probe a file, sample frames at a rate in bounded batches with exact timestamps,
fetch frames by time, and extract 16 kHz mono audio in chunks.

Times are seconds from where a player starts (the container's start time), one clock for
frames and audio. A frame's index is its position in the video stream in display order,
counting frames that fail to decode, so indices stay true on damaged files.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from perception import _pyav
from perception._decord import DecordFrames, DecordUnusable

log = logging.getLogger(__name__)

BACKENDS = ("auto", "decord", "pyav")
AUTO_BACKEND = "pyav"
"""What backend="auto" uses. Sampling at 1 fps, PyAV (decode every frame, convert only the
sampled ones, seek when a whole GOP can be skipped) was as fast as decord's get_batch or
faster: 2 min of 720p30 H.264 took 3.9 s against 6.0 s at full size, 2.9 s against 3.1 s at
max_side=448; 139 s of 768x432 took 0.6 s against 1.1-1.9 s (two shared cores, best of 3).
PyAV also counts frames that fail to decode, where decord repeats a neighbour."""
MAX_SAMPLE_FPS = 1000.0
GRID_BLOCK = 4096  # sample times handled at once: bounds memory whatever the rate and length


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str
    video_streams: int
    audio_streams: int
    audio_codec: str | None
    size_bytes: int

    @property
    def has_audio(self) -> bool:
        return self.audio_streams > 0


@dataclass(frozen=True)
class FrameBatch:
    frames: np.ndarray  # (N, H, W, 3) uint8 RGB
    times: np.ndarray  # (N,) float64 seconds: the decoded frame's presentation time
    indices: np.ndarray  # (N,) int64 index of the frame in the source stream

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class AudioChunk:
    start: float  # seconds of the first sample
    samples: np.ndarray  # float32 mono


def probe(path: str | Path) -> VideoInfo:
    """What a video holds, from its metadata; frames are indexed only when metadata is missing
    or absurd. Frame counts the container does not store are estimated from duration × fps
    (`VideoReader.info` always has the exact count). Decodes one frame to prove it can."""
    path = Path(path)
    with _pyav.open_container(path) as container:
        stream = _pyav.video_stream(container, path)
        said = _pyav.claims(container, stream)
        if said.fps and said.duration and said.frame_count:
            size = _pyav.first_frame_size(container, stream, path.name)
            return _info(path, container, stream, _Timing(said.fps, said.duration, said.frame_count), size)
        scan = _pyav.scan(container, stream, said.fps, path.name)
        return _info(path, container, stream, _indexed(said, scan.table), (scan.width, scan.height))


class VideoReader:
    """Frames of one video by time, in bounded batches.

    `backend`: "decord" or "pyav", or "auto" for AUTO_BACKEND. decord is used only while it
    opens the file, counts the same frames as the packet index, the file's timestamps are
    sound, and it decodes every batch; otherwise (or when it is absent) the reader falls back
    to PyAV, and `backend` says which is in use.
    `max_side` scales frames down (never up) so the longer side is at most that many pixels.
    `threads` is how many threads PyAV's decoder runs, 0 for FFmpeg's choice (about one per core):
    a caller whose other threads keep the cores busy passes 1, as ingest does. Threads spread one
    frame's work, but cost more in all (on the 60-min bench needle, 8.3-8.9 CPU s on one thread
    against 11.2-12.1 s on FFmpeg's), and the pixels are the same.
    """

    def __init__(self, path: str | Path, backend: str = "auto", max_side: int | None = None, threads: int = 0):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if max_side is not None and max_side < 1:
            raise ValueError(f"max_side must be a positive number of pixels, not {max_side}")
        if threads < 0:
            raise ValueError(f"threads must be 0 (FFmpeg's choice) or more, not {threads}")
        self.path = Path(path)
        with _pyav.open_container(self.path) as container:
            stream = _pyav.video_stream(container, self.path)
            said = _pyav.claims(container, stream)
            scan = _pyav.scan(container, stream, said.fps, self.path.name)
            self.info = _info(self.path, container, stream, _indexed(said, scan.table), (scan.width, scan.height))
        self._scan, self._table, self._threads = scan, scan.table, threads
        self._scaled = _pyav.output_size(scan.width, scan.height, max_side)
        self._size = self._scaled or (scan.width, scan.height)
        self._pyav = _pyav.PyAVFrames(self.path, scan, self._size, threads)
        self._decord: DecordFrames | None = None
        if backend == "decord" or (backend == "auto" and AUTO_BACKEND == "decord"):
            try:
                self._decord = DecordFrames(self.path, len(self._table), self._scaled, scan.exact)
            except DecordUnusable as error:
                log.info("%s: %s; decoding with PyAV", self.path.name, error)
        self.backend = "decord" if self._decord else "pyav"

    @property
    def seeks(self) -> bool:
        """Whether the file's timestamps let the reader seek; without, every read counts frames from the start."""
        return self._scan.exact

    def twin(self) -> VideoReader:
        """A second reader of the same file with this one's backend, size and frame index (no second scan),
        for decoding another part of it at the same time; close it as its own."""
        twin = copy.copy(self)
        twin._pyav = _pyav.PyAVFrames(self.path, self._scan, self._size, self._threads)
        if self._decord is not None:
            twin._decord = DecordFrames(self.path, len(self._table), self._scaled, self._scan.exact)
        return twin

    @property
    def skipped(self) -> int:
        """Frames that failed to decode so far (PyAV sees these; decord repeats a neighbour)."""
        return len(self._pyav.failed)

    def sample(
        self, fps: float = 1.0, batch_size: int = 32, start: float = 0.0, end: float | None = None
    ) -> Iterator[FrameBatch]:
        """For each time k/fps in [start, end), the nearest frame, each frame once, in batches of
        at most `batch_size`. The grid counts from time 0, so sampling [a, b) then [b, c) gives
        the frames of [a, c). Frames that fail to decode are left out and counted in `skipped`."""
        if not (0 < fps <= MAX_SAMPLE_FPS):
            raise ValueError(f"fps must be in (0, {MAX_SAMPLE_FPS:g}], not {fps}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if not start >= 0 or (end is not None and not end >= start):
            raise ValueError(f"need 0 <= start <= end, got start={start}, end={end}")
        stop = self._table.end if end is None else min(end, self._table.end)
        pending: list[int] = []
        for slots in self._grid_slots(fps, start, stop):
            pending.extend(slots.tolist())
            while len(pending) >= batch_size:
                batch, pending = self._batch(pending[:batch_size]), pending[batch_size:]
                if len(batch):
                    yield batch
        if pending and len(batch := self._batch(pending)):
            yield batch

    def frames_at(self, times: Sequence[float] | np.ndarray) -> FrameBatch:
        """The nearest frame to each time, in the order asked (repeats kept); a time whose frame
        fails to decode is left out, so read `indices` to match frames to times."""
        wanted = np.asarray(times, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(wanted)):
            raise ValueError("times must be finite numbers of seconds")
        slots = self._table.nearest(wanted)
        got = dict(self._read(np.unique(slots).tolist())) if len(slots) else {}
        found = np.array([s for s in slots.tolist() if s in got], dtype=np.int64)
        return self._frame_batch(found, [got[s] for s in found.tolist()])

    def close(self) -> None:
        self._pyav.close()
        if self._decord is not None:
            self._decord.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _grid_slots(self, fps: float, start: float, stop: float) -> Iterator[np.ndarray]:
        """New distinct slots nearest to the grid times k/fps in [start, stop), block by block."""
        k = math.ceil(start * fps)
        if (k - 1) / fps >= start:  # ceil of a product that rounded up
            k -= 1
        last = -1
        while k / fps < stop:
            times = np.arange(k, k + GRID_BLOCK) / fps
            slots = np.unique(self._table.nearest(times[times < stop]))
            slots = slots[slots > last]
            if len(slots):
                last = int(slots[-1])
                yield slots
            k += GRID_BLOCK

    def _batch(self, slots: list[int]) -> FrameBatch:
        got = self._read(slots)
        return self._frame_batch(np.array([s for s, _ in got], dtype=np.int64), [f for _, f in got])

    def _frame_batch(self, indices: np.ndarray, frames: list[np.ndarray]) -> FrameBatch:
        width, height = self._size
        pixels = np.stack(frames) if frames else np.zeros((0, height, width, 3), dtype=np.uint8)
        return FrameBatch(pixels, self._table.times[indices], indices)

    def _read(self, slots: list[int]) -> list[tuple[int, np.ndarray]]:
        if self._decord is not None:
            try:
                return self._decord.read(slots)
            except DecordUnusable as error:
                log.warning("%s: %s; decoding the rest with PyAV", self.path.name, error)
                self._decord.close()
                self._decord, self.backend = None, "pyav"
        return self._pyav.read(slots)


def iter_audio(
    path: str | Path,
    sample_rate: int = 16000,
    chunk_seconds: float = 30.0,
    start: float = 0.0,
    end: float | None = None,
) -> Iterator[AudioChunk]:
    """The first audio stream as float32 mono chunks of `chunk_seconds` (the last shorter),
    from `start` to `end`; nothing at all when the file has no audio."""
    if sample_rate < 1 or not chunk_seconds > 0:
        raise ValueError(f"need sample_rate >= 1 and chunk_seconds > 0, got {sample_rate}, {chunk_seconds}")
    if not start >= 0 or (end is not None and not end >= start):
        raise ValueError(f"need 0 <= start <= end, got start={start}, end={end}")
    chunk = max(1, round(chunk_seconds * sample_rate))
    for begin, samples in _pyav.iter_audio_samples(Path(path), sample_rate, chunk, start, end):
        yield AudioChunk(begin, samples)


def read_audio(path: str | Path, start: float = 0.0, end: float | None = None, sample_rate: int = 16000) -> np.ndarray:
    """The audio between `start` and `end` as one float32 mono array (empty without audio)."""
    parts = [chunk.samples for chunk in iter_audio(path, sample_rate, 60.0, start, end)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class _Timing:
    """Rate, duration and frame count, every one known: what a VideoInfo states (claims may lack any)."""

    fps: float
    duration: float
    frame_count: int


def _indexed(said: _pyav.Claims, table: _pyav.FrameTable) -> _Timing:
    """Count and duration from the frame index; the claimed rate where the index bears it out
    (it is the rounder number), else the index's own."""
    measured = len(table) / table.end
    fps = said.fps if said.fps and abs(said.fps - measured) <= 0.05 * measured else measured
    return _Timing(fps, table.end, len(table))


def _info(
    path: Path,
    container: av.container.InputContainer,
    stream: av.VideoStream,
    facts: _Timing,
    size: tuple[int, int],
) -> VideoInfo:
    audio = _pyav.audio_streams(container)
    return VideoInfo(
        path=path,
        duration=float(facts.duration),
        fps=float(facts.fps),
        frame_count=int(facts.frame_count),
        width=size[0],
        height=size[1],
        codec=stream.codec_context.name,
        video_streams=len(_pyav.real_video_streams(container)),
        audio_streams=len(audio),
        audio_codec=audio[0].codec_context.name if audio else None,
        size_bytes=path.stat().st_size,
    )
