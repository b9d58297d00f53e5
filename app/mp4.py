"""Writing H.264 + AAC MP4 files that every browser plays: the sample video and the clips around moments."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AUDIO_BLOCK = 1024  # samples per AAC frame


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: int,
    size: tuple[int, int],
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    keyframe_seconds: float = 10.0,
    crf: int = 26,
    preset: str = "veryfast",
    bitexact: bool = False,
) -> None:
    """Frames (RGB, `size` = (width, height), both even) at `fps`, with mono float32 `audio` laid under
    them as they go; `bitexact` makes the same inputs give the same bytes."""
    options = {"fflags": "+bitexact"} if bitexact else {"movflags": "+faststart"}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        keyframes = str(max(1, round(fps * keyframe_seconds)))
        video.options = {"preset": preset, "crf": str(crf), "g": keyframes, "threads": "1"}
        sound = None
        if audio is not None and len(audio):
            sound = container.add_stream("aac", rate=sample_rate)
            sound.layout = "mono"
        written = 0
        for i, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
            while sound is not None and audio is not None and written < min(len(audio), (i + 1) * sample_rate // fps):
                part = audio[written : written + AUDIO_BLOCK]
                chunk = av.AudioFrame.from_ndarray(
                    np.pad(part, (0, AUDIO_BLOCK - len(part)))[None, :].astype(np.float32), format="flt", layout="mono"
                )
                chunk.sample_rate, chunk.pts, chunk.time_base = sample_rate, written, Fraction(1, sample_rate)
                container.mux(sound.encode(chunk))
                written += AUDIO_BLOCK
        container.mux(video.encode())
        if sound is not None:
            container.mux(sound.encode())
