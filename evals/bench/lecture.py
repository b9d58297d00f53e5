"""A lecture for `bench ingest`: real footage under continuous real speech whose every word is known.

Lectures, meetings and podcasts are mostly speech, so speech recognition, not OCR, sets their
ingest speed. The three LibriVox readings of the shared media (`audio/librivox`, with exact
transcripts) are read back to back, a short pause after each, over and over to the asked
length, over a loop of real footage. The words said are the reference: the transcript an
ingest keeps (the speech of its base segments, in time order) is scored against it by word
error rate, so a faster speech setting is shown to hear as well, or not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.bench.common import CACHE_DIR, make_long_video
from evals.needles.media import SAMPLE_RATE, Reading, librivox
from perception.errors import MediaError

FOOTAGE = "video/one-by-one-person-detection.mp4"
PAUSE_S = 0.4  # between two readings, as between a speaker's sentences


@dataclass(frozen=True)
class Lecture:
    video: Path
    duration: float
    reference: str  # every word said, in order


def build_lecture(minutes: float, media: Path, out: Path | None = None) -> Lecture:
    """The lecture video of `minutes` and its reference transcript, built once under `out` and then reused."""
    seconds = round(minutes * 60)
    out = out or CACHE_DIR / f"lecture-{minutes:g}min"
    video, transcript = out / "lecture.mp4", out / "lecture.txt"
    if video.is_file() and transcript.is_file():
        return Lecture(video, float(seconds), transcript.read_text(encoding="utf-8"))
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MediaError("building the lecture needs the ffmpeg program; install it (apt-get install ffmpeg)")
    out.mkdir(parents=True, exist_ok=True)
    audio, said = _readings(librivox(media), seconds)
    footage = make_long_video(media / FOOTAGE, seconds)
    partial = out / f".lecture.{os.getpid()}"
    try:
        _write_wav(partial.with_suffix(".wav"), audio)
        command = [ffmpeg, "-y", "-loglevel", "error", "-i", str(footage), "-i", str(partial.with_suffix(".wav"))]
        command += ["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "48k", "-t", str(seconds)]
        subprocess.run([*command, "-f", "mp4", str(partial.with_suffix(".mp4"))], check=True, capture_output=True)
        partial.with_suffix(".mp4").replace(video)
        transcript.write_text(" ".join(said), encoding="utf-8")
    except subprocess.CalledProcessError as err:
        raise MediaError(f"ffmpeg could not build the lecture: {err.stderr.decode(errors='replace')[-500:]}") from err
    finally:
        partial.with_suffix(".wav").unlink(missing_ok=True)
        partial.with_suffix(".mp4").unlink(missing_ok=True)
    return Lecture(video, float(seconds), " ".join(said))


def _readings(clips: Sequence[Reading], seconds: int) -> tuple[np.ndarray, list[str]]:
    """The clips in turn, each whole and then a pause, while they fit in `seconds`; silence after; the words said."""
    readings = [(clip.samples.astype(np.float32) / 32768, clip.transcript) for clip in clips]
    if not readings or not all(len(samples) for samples, _ in readings):
        raise MediaError("the LibriVox clips hold no audio")
    pause = np.zeros(round(PAUSE_S * SAMPLE_RATE), np.float32)
    track = np.zeros(seconds * SAMPLE_RATE, np.float32)
    at, turn = 0, 0
    said: list[str] = []
    while True:
        samples, text = readings[turn % len(readings)]
        if at + len(samples) > len(track):
            return track, said
        track[at : at + len(samples)] = samples
        at += len(samples) + len(pause)
        said.append(text)
        turn += 1


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
