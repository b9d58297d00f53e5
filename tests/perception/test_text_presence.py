"""The cheap text-presence test: yes to lines of text of any polarity and size read, no to the changes
a fixed camera mostly sees, and never no where the OCR detector finds text."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from perception.text_presence import CONTRAST, EDGES, ROWS, WINDOW, may_hold_text


def scene(seed: int = 0, size: tuple[int, int] = (448, 252)) -> np.ndarray:
    """A grassy, slightly noisy view with no text."""
    rng = np.random.default_rng(seed)
    frame = np.full((size[1], size[0], 3), (90, 120, 80), np.float64)
    return np.clip(frame + rng.normal(0, 4, frame.shape), 0, 255).astype(np.uint8)


def lettered(frame: np.ndarray, text: str, size: int, ink: tuple[int, int, int], at: tuple[int, int] = (20, 100)) -> np.ndarray:
    image = Image.fromarray(frame)
    ImageDraw.Draw(image).text(at, text, fill=ink, font=ImageFont.load_default(size=size))
    return np.asarray(image)


@pytest.mark.parametrize("size", [14, 20, 28, 40])
@pytest.mark.parametrize("ink", [(0, 0, 0), (255, 255, 255)], ids=["dark", "light"])
def test_a_line_of_text_is_seen_at_the_sizes_read_in_either_polarity(size: int, ink: tuple[int, int, int]):
    assert may_hold_text(lettered(scene(), "PLATFORM 4 DELAYED", size, ink))


def test_one_short_word_is_enough():
    assert may_hold_text(lettered(scene(), "Security", 20, (255, 255, 255), at=(10, 10)))


def test_what_a_fixed_camera_mostly_sees_is_not_text():
    view = scene()
    person = view.copy()
    cv2.ellipse(person, (200, 150), (18, 45), 0, 0, 360, (30, 30, 40), -1)
    car = view.copy()
    cv2.rectangle(car, (100, 120), (260, 180), (180, 30, 30), -1)
    cv2.circle(car, (130, 185), 14, (10, 10, 10), -1)
    cv2.circle(car, (230, 185), 14, (10, 10, 10), -1)
    line = view.copy()
    cv2.line(line, (0, 200), (447, 200), (230, 200, 40), 3)
    ramp = np.repeat(np.linspace(0, 255, 448, dtype=np.uint8)[None, :, None], 252, axis=0).repeat(3, axis=2)
    for frame in (view, person, car, line, ramp, np.zeros((252, 448, 3), np.uint8)):
        assert not may_hold_text(frame)


def counted_by_numpy(grey: np.ndarray) -> bool:
    """The test as first written, in numpy: int16 differences and a cumulative sum per row."""
    steps = np.abs(np.diff(grey.astype(np.int16), axis=1)) >= CONTRAST
    counts = np.cumsum(np.pad(steps[:, 1:] & ~steps[:, :-1], ((0, 0), (1, 0))), axis=1, dtype=np.int32)
    span = min(WINDOW, counts.shape[1] - 1)
    busy = np.concatenate(([0], ((counts[:, span:] - counts[:, :-span]).max(axis=1) >= EDGES).astype(np.int8), [0]))
    return bool(((np.flatnonzero(np.diff(busy) == -1) - np.flatnonzero(np.diff(busy) == 1)) >= ROWS).any())


def strokes(rng: np.random.Generator, extent: int) -> np.ndarray:
    """EDGES one-pixel strokes, the first and last `extent` pixels apart, on ROWS rows: a window's worth, or nearly."""
    inner = rng.choice(np.arange(3, extent - 2, 3), EDGES - 2, replace=False)  # 3 apart: each its own edge
    grey = np.zeros((ROWS, 120), np.uint8)
    grey[:, 10 + np.concatenate(([0, extent], inner))] = 255
    return grey


def test_the_counting_gives_numpys_answer_on_any_image():
    rng = np.random.default_rng(3)
    greys: list[np.ndarray] = [
        rng.integers(0, 256, (int(rng.integers(1, 40)), int(rng.integers(3, 300))), dtype=np.uint8) for _ in range(300)
    ]
    greys += [strokes(rng, extent) for extent in range(WINDOW - 4, WINDOW + 4) for _ in range(5)]  # on the window's edge
    greys += [cv2.cvtColor(lettered(scene(), "GATE B7", size, (0, 0, 0)), cv2.COLOR_RGB2GRAY) for size in (8, 14)]
    answers = [may_hold_text(grey, side=4096) for grey in greys]
    assert answers == [counted_by_numpy(grey) for grey in greys]
    assert 0 < sum(answers) < len(answers)  # both answers are exercised


def test_grey_images_and_slivers_are_taken():
    assert may_hold_text(cv2.cvtColor(lettered(scene(), "GATE B7 CLOSED", 24, (0, 0, 0)), cv2.COLOR_RGB2GRAY))
    assert not may_hold_text(np.zeros((10, 2, 3), np.uint8))


@pytest.mark.slow
@pytest.mark.integration
def test_it_never_says_no_where_the_detector_gate_reads_text(media: Path):
    """The contract with the OCR gate it filters for: every shared image whose text the gate reads passes."""
    from memory.screen_text import GATE_SIDE, MIN_CHARS
    from perception.ocr import RapidOCR, locate_ocr_models

    ocr = RapidOCR(locate_ocr_models("PP-OCRv6"))
    read = 0
    for path in sorted((media / "images").rglob("*")):
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        pixels = np.asarray(Image.open(path).convert("RGB"))
        scale = 448 / max(pixels.shape[:2])  # the working resolution of ingest
        frame = cv2.resize(pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        small = cv2.resize(frame, (GATE_SIDE, round(frame.shape[0] * GATE_SIDE / frame.shape[1])), interpolation=cv2.INTER_AREA)
        if any(len(box.text.strip()) >= MIN_CHARS for box in ocr.read(small)):
            read += 1
            assert may_hold_text(frame), path.name
    assert read >= 5  # page, imageTextN, imageTextR, sudoku, grace_hopper's badge
