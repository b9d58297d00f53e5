"""Encoding a needle video with ffmpeg: footage looped to length, notices drawn when they are up, speech mixed in.

Two ffmpeg runs: the footage clips, scaled and cropped to one size and rate, back to back
into a short reel; then the reel looped to the video's length with every notice drawn by
its own `drawtext` filter, enabled only between its start and end, and the audio track
(silence with each utterance at its start, sample-exact) muxed in. Notice texts go through
files with expansion off, so no character needs filter-graph escaping. x264 `ultrafast`
and AAC are deterministic, so a seed always gives the same bytes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.needles.media import SAMPLE_RATE
from perception.errors import MediaError

WIDTH, HEIGHT = 640, 360
OUTLINE = 2  # pixels of black outline round a notice drawn without a box
BOX_BORDER = 8


@dataclass(frozen=True)
class Look:
    """How a notice is drawn: font file, size and top-left corner in pixels, text and box colour ("" for no box)."""

    font: str
    size: int
    x: int
    y: int
    color: str = "black"
    box: str = "white"


@dataclass(frozen=True)
class Drawn:
    """A text on screen from `start` to `end` seconds."""

    text: str
    start: float
    end: float
    look: Look


@dataclass(frozen=True)
class Said:
    """Audio (int16 mono at SAMPLE_RATE) starting at `start` seconds."""

    start: float
    samples: np.ndarray


def render(video: Path, footage: Sequence[Path], duration: float, fps: int, drawn: Sequence[Drawn], said: Sequence[Said]) -> None:
    """Encode the video at `video` (written in a scratch folder beside it, then moved into place)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MediaError("building a needle video needs the ffmpeg program; install it (apt-get install ffmpeg)")
    for font in {d.look.font for d in drawn}:
        if not Path(font).is_file():
            raise MediaError(f"the notice font {font} is missing; install fonts-dejavu-core and fonts-liberation")
    video.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".building-", dir=video.parent) as scratch:
        work = Path(scratch)
        _run(ffmpeg, _reel_command(footage, duration, fps), work)
        write_track(work / "audio.wav", duration, said)
        filters = [_drawtext(d, i, work) for i, d in enumerate(drawn)]
        (work / "graph.txt").write_text(f"[0:v]{','.join(filters) or 'null'}[v]", encoding="utf-8")
        _run(ffmpeg, _final_command(duration, fps), work)
        (work / "out.mp4").replace(video)


def write_track(path: Path, duration: float, said: Sequence[Said]) -> None:
    """A WAV of silence `duration` seconds long with each piece of audio at its start."""
    track = np.zeros(round(duration * SAMPLE_RATE), dtype=np.int16)
    for piece in said:
        at = round(piece.start * SAMPLE_RATE)
        if at < 0 or at + len(piece.samples) > len(track):
            raise MediaError(f"audio at {piece.start:.2f} s runs past the end of a {duration:g} s video")
        track[at : at + len(piece.samples)] = piece.samples
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(track.tobytes())


def _reel_command(footage: Sequence[Path], duration: float, fps: int) -> list[str]:
    """The footage clips at one size and rate, back to back, cut at `duration` (looped later if shorter)."""
    if not footage:
        raise MediaError("a needle video needs at least one footage clip")
    inputs = [arg for path in footage for arg in ("-i", str(path))]
    fit = f"fps={fps},scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,crop={WIDTH}:{HEIGHT},setsar=1,format=yuv420p"
    chains = ";".join(f"[{i}:v]{fit}[v{i}]" for i in range(len(footage)))
    joined = "".join(f"[v{i}]" for i in range(len(footage)))
    graph = f"{chains};{joined}concat=n={len(footage)}:v=1:a=0[v]"
    return [*inputs, "-filter_complex", graph, "-map", "[v]", "-t", f"{duration:g}", "-an", *_video_codec(fps), "reel.mp4"]


def _final_command(duration: float, fps: int) -> list[str]:
    return [
        "-stream_loop", "-1", "-i", "reel.mp4", "-i", "audio.wav",
        "-filter_complex_script", "graph.txt", "-map", "[v]", "-map", "1:a", "-t", f"{duration:g}",
        *_video_codec(fps), "-c:a", "aac", "-b:a", "48k", "-map_metadata", "-1", "-fflags", "+bitexact",
        "-movflags", "+faststart", "out.mp4",
    ]  # fmt: skip


def _video_codec(fps: int) -> list[str]:
    # ultrafast keeps an hour's build to about a minute on two cores; a keyframe every 5 s lets readers seek cheaply.
    # At crf 28 the first frame of a notice came out blurred enough for OCR to drop a lone letter ("WING D").
    return ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-g", str(5 * fps), "-pix_fmt", "yuv420p"]


def _drawtext(drawn: Drawn, index: int, work: Path) -> str:
    name = f"notice-{index}.txt"
    (work / name).write_text(drawn.text, encoding="utf-8")
    look = drawn.look
    frame = f":box=1:boxcolor={look.box}:boxborderw={BOX_BORDER}" if look.box else f":borderw={OUTLINE}:bordercolor=black"
    return (
        f"drawtext=fontfile={look.font}:textfile={name}:expansion=none:fontsize={look.size}"
        f":fontcolor={look.color}{frame}:x={look.x}:y={look.y}"
        f":enable='between(t,{drawn.start:.3f},{drawn.end:.3f})'"
    )


def _run(ffmpeg: str, args: list[str], cwd: Path) -> None:
    result = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = result.stderr.strip()[-800:] or f"exit status {result.returncode}"
        raise MediaError(f"ffmpeg could not build the needle video: {tail}")
