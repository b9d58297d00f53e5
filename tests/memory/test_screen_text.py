"""On-screen text with OCR only where the picture changed: what is read, and how often."""

from __future__ import annotations

import numpy as np
import pytest

from memory.screen_text import ScreenText
from perception.config import Config
from perception.models import Models
from tests.synth import draw_text

NOTICE = "GATE B7 CLOSED"


@pytest.fixture(scope="module")
def ocr():
    return Models(Config()).ocr


def background(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.full((252, 448, 3), (90, 120, 80), np.uint8)
    return np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)


def with_block(frame: np.ndarray, x: int, y: int = 190) -> np.ndarray:
    """A dark 'person' 40x50 px at (x, y): a change that holds no text."""
    moved = frame.copy()
    moved[y : y + 50, x : x + 40] = (30, 30, 30)
    return moved


def test_text_is_read_once_while_it_stays(ocr):
    reader = ScreenText(ocr, 0.08)
    frames = [draw_text(background(), NOTICE)] * 6
    assert reader.read(frames, np.arange(6.0)) == [(NOTICE,)] * 6
    assert (reader.looks, reader.reads) == (1, 1)


def test_text_appearing_and_going_is_seen_when_it_does(ocr):
    reader = ScreenText(ocr, 0.08)
    plain, shown = background(), draw_text(background(), NOTICE)
    frames = [plain, plain, shown, shown, shown, plain, plain]
    lines = reader.read(frames, np.arange(0.0, 14.0, 2.0))  # 2 s apart: every change is looked at
    assert lines == [(), (), (NOTICE,), (NOTICE,), (NOTICE,), (), ()]
    assert (reader.looks, reader.reads) == (3, 1)  # the first frame, the notice, its going; only the notice is read


def test_movement_elsewhere_keeps_the_text_without_reading_it_again(ocr):
    reader = ScreenText(ocr, 0.08)
    shown = background()
    shown[:84] = draw_text(shown[:84], NOTICE)  # a caption across the top; the block moves along the bottom
    frames = [with_block(shown, x) for x in range(0, 400, 50)]
    lines = reader.read(frames, np.arange(0.0, 16.0, 2.0))
    assert lines == [(NOTICE,)] * len(frames)
    assert reader.reads == 1 < reader.looks  # the moving block's band is looked at; the notice's is not read again


def test_a_picture_that_keeps_changing_is_looked_at_every_min_interval(ocr):
    reader = ScreenText(ocr, 0.08, min_interval=2.0)
    frames = [with_block(background(), x, y=100) for x in range(0, 400, 40)]  # a change every second
    reader.read(frames, np.arange(float(len(frames))))
    assert reader.looks == 5  # seconds 0, 2, 4, 6, 8


def test_each_call_starts_afresh(ocr):
    reader = ScreenText(ocr, 0.08)
    frames = [draw_text(background(), NOTICE)] * 3
    first = reader.read(frames, np.arange(3.0))
    assert reader.read(frames, np.arange(3.0)) == first and reader.reads == 2
