"""Small media the tests make themselves: frames that encode their own index, text, tones.

A frame's index is written as a row of black and white blocks big enough to survive
H.264 and JPEG, so a test can check timestamps and order exactly by reading it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

CODE_BITS = 14
BLOCK = 16


def index_frame(index: int, size: tuple[int, int] = (320, 240), text: str | None = None) -> np.ndarray:
    """An RGB frame whose top row of blocks spells `index` in binary, with optional text."""
    width, height = size
    hue = (index * 37) % 200
    frame = np.full((height, width, 3), (40 + hue // 2, 60, 200 - hue), dtype=np.uint8)
    for bit in range(CODE_BITS):
        value = 255 if (index >> bit) & 1 else 0
        x = bit * BLOCK
        frame[0:BLOCK, x : x + BLOCK] = value
    if text:
        frame = draw_text(frame, text)
    return frame


def read_index(frame: np.ndarray) -> int:
    """Read back the index `index_frame` wrote, from a frame of the same or a scaled size."""
    width = frame.shape[1]
    scale = width / 320
    block = BLOCK * scale
    gray = frame.mean(axis=2)
    index = 0
    for bit in range(CODE_BITS):
        y0, y1 = int(block * 0.25), max(int(block * 0.75), int(block * 0.25) + 1)
        x0, x1 = int(bit * block + block * 0.25), max(int(bit * block + block * 0.75), int(bit * block + block * 0.25) + 1)
        if gray[y0:y1, x0:x1].mean() > 128:
            index |= 1 << bit
    return index


def draw_text(frame: np.ndarray, text: str, size: int = 28) -> np.ndarray:
    """Black text on a white band across the middle: easy for OCR, like a notice on screen."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = max(4, (image.width - (right - left)) // 2)
    y = (image.height - (bottom - top)) // 2
    draw.rectangle((0, y - 10, image.width, y + (bottom - top) + 14), fill=(255, 255, 255))
    draw.text((x, y - top), text, fill=(0, 0, 0), font=font)
    return np.asarray(image)


def tone(seconds: float, freq: float = 440.0, sample_rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_video(
    path: str | Path,
    seconds: float,
    fps: int = 10,
    size: tuple[int, int] = (320, 240),
    texts: Sequence[tuple[float, float, str]] = (),
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> Path:
    """Write an H.264 MP4 of index frames; `texts` are (start, end, text) notices; `audio` mono float32."""
    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(fps * 2)}
        audio_stream = None
        if audio is not None:
            audio_stream = container.add_stream("aac", rate=sample_rate)
            audio_stream.layout = "mono"
        for i in range(round(seconds * fps)):
            t = i / fps
            text = next((s for start, end, s in texts if start <= t < end), None)
            video_frame = av.VideoFrame.from_ndarray(index_frame(i, size, text), format="rgb24")
            video_frame.pts = i
            video_frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
        if audio_stream is not None:
            chunk = 1024
            samples = np.clip(audio, -1, 1).astype(np.float32)
            for start in range(0, len(samples), chunk):
                part = samples[start : start + chunk]
                audio_frame = av.AudioFrame.from_ndarray(part[None, :], format="flt", layout="mono")
                audio_frame.sample_rate = sample_rate
                audio_frame.pts = start
                audio_frame.time_base = Fraction(1, sample_rate)
                container.mux(audio_stream.encode(audio_frame))
            container.mux(audio_stream.encode())
    return path
