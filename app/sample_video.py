"""The sample video: a day at a station, made on this machine, the same bytes every time.

Five 30 s scenes, each with a title, a ticking clock, a moving marker and a notice drawn on the
frames for a few seconds; announcements spoken by espeak-ng when it is installed (silence
otherwise). `longshot demo`, the soak benchmark and the tests all make it here, and ask the
questions below about it: the notices and announcements hold their answers.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.mp4 import write_mp4

SAMPLE_NAME = "harbour_station.mp4"
SIZE = (640, 360)
FPS = 5
SAMPLE_RATE = 16000
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class Scene:
    start: float
    end: float
    title: str
    colour: tuple[int, int, int]
    notice: str
    notice_at: tuple[float, float]


@dataclass(frozen=True)
class Announcement:
    at: float
    text: str


SCENES = (
    Scene(0, 30, "Harbour Station - departures", (30, 41, 82), "EXPRESS TO NORTHGATE: PLATFORM 4", (11, 19)),
    Scene(30, 60, "Lost property desk", (15, 94, 97), "FOUND: RED UMBRELLA AT GATE 12", (41, 49)),
    Scene(60, 90, "Station cafe", (97, 58, 28), "SOUP OF THE DAY: TOMATO AND BASIL", (71, 79)),
    Scene(90, 120, "Maintenance", (55, 60, 68), "LIFT B OUT OF SERVICE UNTIL FRIDAY", (101, 109)),
    Scene(120, 150, "Security", (110, 28, 36), "DO NOT LEAVE BAGS UNATTENDED", (131, 139)),
)
ANNOUNCEMENTS = (
    Announcement(2, "Attention please. The express train to Northgate departs from platform four."),
    Announcement(62, "The cafe closes at six o'clock this evening."),
    Announcement(122, "Please keep your luggage with you at all times."),
)
SAMPLE_QUESTIONS = (
    "Which platform does the express to Northgate leave from?",
    "What was found at gate 12?",
)
SPOKEN_QUESTION = "What should you keep with you at all times?"
SILENT_QUESTION = "Until when is lift B out of service?"
FOOTAGE_QUESTIONS = ("What is said at the start?", "What text appears on screen?", "What happens at the end?")


def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size) if path.is_file() else ImageFont.load_default(size)


def scene_backdrop(scene: Scene) -> Image.Image:
    """The still part of a scene: a vertical gradient, a title bar and a platform line."""
    width, height = SIZE
    top = np.array(scene.colour, dtype=np.float32)
    ramp = np.linspace(1.0, 0.55, height, dtype=np.float32)[:, None, None]
    pixels = np.broadcast_to(top * ramp, (height, width, 3)).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 44), fill=(12, 14, 20))
    draw.text((16, 10), scene.title, font=_font(20), fill=(235, 238, 245))
    draw.line((0, height - 40, width, height - 40), fill=(230, 200, 60), width=4)
    return image


def render_frame(scene: Scene, backdrop: Image.Image, t: float) -> np.ndarray:
    """One frame: the scene's backdrop, a ticking clock, a moving marker, and the notice when it is up."""
    image = backdrop.copy()
    draw = ImageDraw.Draw(image)
    width, height = SIZE
    clock = 9 * 3600 + 14 * 60 + int(t)
    draw.text(
        (width - 112, 12),
        f"{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}",
        font=_font(18, bold=False),
        fill=(235, 238, 245),
    )
    x = int((t - scene.start) / (scene.end - scene.start) * (width - 40))
    draw.rectangle((x, height - 34, x + 40, height - 18), fill=(230, 200, 60))
    if scene.notice_at[0] <= t < scene.notice_at[1]:
        font = _font(26)
        box = draw.textbbox((0, 0), scene.notice, font=font)
        w, h = box[2] - box[0], box[3] - box[1]
        left, top = (width - w) // 2, (height - h) // 2
        draw.rectangle((left - 18, top - 16, left + w + 18, top + h + 22), fill=(250, 250, 250))
        draw.text((left, top), scene.notice, font=font, fill=(10, 10, 10))
    return np.asarray(image)


def speak(text: str, folder: Path) -> np.ndarray | None:
    """`text` spoken by espeak-ng at 16 kHz mono float32, or None when espeak-ng is not installed."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    out = folder / "speech.wav"
    subprocess.run([espeak, "-s", "150", "-w", str(out), text], check=True, capture_output=True, timeout=60)
    with wave.open(str(out)) as handle:
        rate, raw = handle.getframerate(), handle.readframes(handle.getnframes())
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    target = np.arange(0, len(samples) / rate, 1 / SAMPLE_RATE)
    return np.interp(target, np.arange(len(samples)) / rate, samples).astype(np.float32)


def soundtrack(seconds: float, announcements: Sequence[Announcement], folder: Path) -> np.ndarray | None:
    """Silence with the announcements placed at their times; None without a speech synthesiser."""
    track = np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)
    for item in announcements:
        voice = speak(item.text, folder)
        if voice is None:
            return None
        start = int(item.at * SAMPLE_RATE)
        part = voice[: max(0, len(track) - start)]
        track[start : start + len(part)] += 0.8 * part
    return track


def make_sample(
    folder: str | Path, scenes: Sequence[Scene] = SCENES, announcements: Sequence[Announcement] = ANNOUNCEMENTS
) -> tuple[Path, bool]:
    """Write the sample video (H.264 + AAC MP4) into `folder`; its path and whether it speaks.

    The same inputs give the same bytes, so the library recognises the sample on a second run.
    """
    folder = Path(folder)
    path = folder / SAMPLE_NAME
    seconds = scenes[-1].end
    audio = soundtrack(seconds, announcements, folder)
    frames = (
        render_frame(scene, backdrop, i / FPS)
        for scene, backdrop in ((scene, scene_backdrop(scene)) for scene in scenes)
        for i in range(round(scene.start * FPS), round(scene.end * FPS))
    )
    write_mp4(path, frames, FPS, SIZE, audio, SAMPLE_RATE, bitexact=True)
    return path, audio is not None
