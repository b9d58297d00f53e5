"""How on-screen text looks: a notice on a plate or with an outline stands out, a title faded over a pale sky
does not; a run carries the look of its readings, and the OCR reads the look of each line it reads."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from memory.screen_text import Line, ScreenText, text_runs
from memory.text_look import Look, combined, contrast, look_data
from perception.config import Config
from perception.models import Models

SKY = (190, 205, 235)


def sky(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.full((252, 448, 3), SKY, np.float32) + rng.normal(0, 4, (252, 448, 3))
    return np.clip(frame, 0, 255).astype(np.uint8)


def written(frame: np.ndarray, text: str, colour, plate=None, outline: int = 0) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """`text` drawn at (40, 100), on a plate of colour `plate` or with a black outline; the frame and the text's box."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    left, top, right, bottom = draw.textbbox((40, 100), text, font=font, stroke_width=outline)
    if plate is not None:
        draw.rectangle((left - 8, top - 8, right + 8, bottom + 8), fill=plate)
    draw.text((40, 100), text, fill=colour, font=font, stroke_width=outline, stroke_fill=(0, 0, 0))
    return np.asarray(image), (left, top, right, bottom)


def test_a_notice_stands_out_where_a_title_faded_over_the_sky_does_not() -> None:
    plated, box = written(sky(), "DOCK 4 RESERVED", (255, 255, 255), plate=(20, 20, 20))
    outlined, outlined_box = written(sky(), "DOCK 4 RESERVED", (255, 255, 255), outline=2)
    faded, faded_box = written(sky(), "THE PEACH OPEN MOVIE", (245, 245, 245))
    assert contrast(plated, box) >= 0.6
    assert contrast(outlined, outlined_box) >= 0.5
    assert contrast(faded, faded_box) <= 0.3
    assert contrast(plated, (5, 5, 7, 7)) == 0.0  # too small a box to say anything
    assert contrast(np.zeros((50, 50, 3), np.uint8), (0, 0, 50, 50)) == 0.0  # one grey level: no letters at all


def test_looks_combine_by_weight_and_become_data() -> None:
    looks = [Look(0.8, 1.0), Look(0.2, 0.6)]
    whole = combined(looks, [3, 1])
    assert whole == Look(pytest.approx(0.65), pytest.approx(0.9))
    assert combined([], []) is None
    assert look_data(whole, 0.75) == {"contrast": 0.65, "confidence": 0.9, "agreement": 0.75}
    assert look_data(None, 1.0) == {}


def test_a_run_carries_the_look_of_its_readings_and_how_often_they_agree() -> None:
    plate = Look(0.9, 1.0)
    readings = ["GATE B7 CLOSED", "GATE B7 CL0SED", "GATE B7 CLOSED", "GATE B7 CLOSED"]
    lines = [[Line(text, (10, 10, 200, 30), plate)] for text in readings]
    (run,) = text_runs(lines, [0.0, 1.0, 2.0, 3.0], 0.0, 4.0, (448, 252))
    assert run.data["contrast"] == 0.9 and run.data["confidence"] == 1.0 and run.data["agreement"] == 0.75
    (unmeasured,) = text_runs([[Line("EXIT", (10, 10, 60, 30))]], [0.0], 0.0, 1.0, (448, 252))
    assert set(unmeasured.data) == {"box"}  # read before looks were measured: nothing made up


@pytest.mark.slow
def test_the_reader_measures_each_line_it_reads() -> None:
    ocr = Models(Config()).ocr
    frame, _ = written(sky(), "DOCK 4 RESERVED", (255, 255, 255), plate=(20, 20, 20))
    (lines,) = ScreenText(ocr, 0.08).lines([frame], [0.0])
    (line,) = lines
    assert line.text == "DOCK 4 RESERVED" and line.look is not None
    assert line.look.contrast >= 0.6 and line.look.confidence >= 0.9
    faded, _ = written(sky(), "THE PEACH OPEN MOVIE", (250, 250, 250))
    faint = [line for lines in ScreenText(ocr, 0.08).lines([faded], [0.0]) for line in lines]
    assert all(line.look is not None and line.look.contrast < 0.35 for line in faint)
