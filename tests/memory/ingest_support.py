"""What the ingest tests share: damaged media made on the spot, a video of real footage with
speech and text at known times, and an ingest child process. (A snapshot of a video's whole
memory, to compare runs by, is `memory.audit.snapshot`.)"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from perception.video import VideoReader, read_audio
from tests.synth import draw_text, index_frame, tone

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LIBRIVOX = "audio/librivox"


# -- media --------------------------------------------------------------------------------


def write_video(path: Path, frames: Iterator[np.ndarray], fps: int, audio: np.ndarray | None = None, rate: int = 16000) -> Path:
    """H.264 (+ AAC mono) MP4 of RGB frames, all of one size."""
    with av.open(str(path), "w") as container:
        stream = None
        for i, frame in enumerate(frames):
            if stream is None:
                stream = container.add_stream("libx264", rate=fps)
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "g": str(2 * fps)}
                sound = container.add_stream("aac", rate=rate) if audio is not None else None
                if sound is not None:
                    sound.layout = "mono"
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            video_frame.pts, video_frame.time_base = i, Fraction(1, fps)
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
        if audio is not None:
            _mux_audio(container, sound, audio, rate)
    return path


def _mux_audio(container, stream, samples: np.ndarray, rate: int) -> None:
    samples = np.clip(samples, -1, 1).astype(np.float32)
    for start in range(0, len(samples), 1024):
        part = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="flt", layout="mono")
        part.sample_rate, part.pts, part.time_base = rate, start, Fraction(1, rate)
        container.mux(stream.encode(part))
    container.mux(stream.encode())


def librivox(media: Path, clip: str) -> tuple[np.ndarray, str]:
    """A LibriVox reading (float32 mono 16 kHz) and its transcript."""
    folder = media / LIBRIVOX
    for line in (folder / "transcription.txt").read_text().splitlines():
        text, _, name = line.rpartition("(")
        if name.strip(" )") == clip:
            transcript = text.replace("<s>", "").replace("</s>", "").strip()
            return read_audio(folder / f"{clip}.wav", 0.0), transcript
    raise KeyError(clip)


def footage_with_needles(
    path: Path, media: Path, seconds: int, speech: tuple[float, np.ndarray], notice: tuple[float, float, str], fps: int = 5
) -> Path:
    """Real footage (one-by-one-person-detection.mp4 looped), a speech clip mixed into silence at
    its time, and a notice drawn on the frames of its span."""
    said_at, clip = speech
    shown_from, shown_until, text = notice
    audio = np.zeros(seconds * 16000, np.float32)
    at = round(said_at * 16000)
    audio[at : at + clip.size] = clip[: audio.size - at]

    def frames() -> Iterator[np.ndarray]:
        produced = 0
        while produced < seconds * fps:
            with VideoReader(media / "video" / "one-by-one-person-detection.mp4", max_side=480) as reader:
                for batch in reader.sample(fps=fps, batch_size=64):
                    for frame in batch.frames:
                        t = produced / fps
                        yield draw_text(frame, text) if shown_from <= t < shown_until else frame
                        produced += 1
                        if produced == seconds * fps:
                            return

    return write_video(path, frames(), fps, audio)


def corrupt_mjpeg(path: Path, seconds: int = 20, fps: int = 5, bad: range = range(40, 50)) -> Path:
    """An MJPEG video whose frames `bad` are random bytes: a decoder fails on exactly those."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuvj420p"
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(index_frame(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                if i in bad:
                    packet = _garbage_like(packet, stream, rng)
                container.mux(packet)
        container.mux(stream.encode())
    return path


def undecodable_audio(path: Path, seconds: int = 10, fps: int = 5) -> Path:
    """A video with an MP3 audio stream whose every packet is random bytes."""
    rng = np.random.default_rng(1)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream("mp3", rate=16000)
        audio.layout = "mono"
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(index_frame(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        samples = tone(seconds)
        for start in range(0, len(samples), 1152):
            part = av.AudioFrame.from_ndarray(samples[None, start : start + 1152], format="flt", layout="mono")
            part.sample_rate, part.pts, part.time_base = 16000, start, Fraction(1, 16000)
            for packet in audio.encode(part):
                container.mux(_garbage_like(packet, audio, rng))
        audio.encode()
    return path


def _garbage_like(packet: av.Packet, stream, rng: np.random.Generator) -> av.Packet:
    garbage = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
    garbage.pts, garbage.dts, garbage.time_base, garbage.stream = packet.pts, packet.dts, packet.time_base, stream
    return garbage


# -- a full disk ----------------------------------------------------------------------------


@contextmanager
def full_disk(monkeypatch, armed: list[bool]) -> Iterator[list[int]]:
    """While `armed[0]` is true, fsync of any regular file fails with ENOSPC, as it does on a
    full disk (written pages cannot be flushed); yields a list counting the failures."""
    real = os.fsync
    failures: list[int] = []

    def fsync(fd: int) -> None:
        if armed[0] and stat.S_ISREG(os.fstat(fd).st_mode):
            failures.append(fd)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    yield failures
    monkeypatch.setattr(os, "fsync", real)


# -- a child process that ingests --------------------------------------------------------------


def start_ingest(home: Path, video: Path, overrides: dict[str, Any]) -> subprocess.Popen:
    """`Longshot(home, **overrides).ingest(video)` in a fresh Python; it prints the result as JSON."""
    code = (
        "import json, sys\n"
        "from app import Longshot\n"
        "home, video, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])\n"
        "result = Longshot(home=home, **overrides).ingest(video)\n"
        "print(json.dumps({'already_done': result.already_done, 'resumed_from': result.resumed_from,"
        " 'video': result.video.id, 'status': result.video.status}))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(home), str(video), json.dumps(overrides)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen, timeout: float = 600) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


# -- comparing memories ------------------------------------------------------------------------


def words(text: str) -> str:
    """Lower-case words only, for comparing transcripts."""
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def segment_holding(segments: Sequence, t: float):
    return next(s for s in segments if s.start <= t < s.end)
