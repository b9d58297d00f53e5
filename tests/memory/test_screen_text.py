"""On-screen text with OCR only where the picture changed: what is read, how often, and as runs with their own times."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from memory.screen_text import Line, ScreenText, text_runs
from memory.store import Library
from memory.timeline import Timeline, same_text
from perception.config import Config
from perception.models import Models
from tests.memory.catalogue import add_video
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
    assert reader.looks == 6  # seconds 0, 1 (the first change, where all was still), then 3, 5, 7, 9


class Counted:
    """The real OCR model, counting the calls made to it."""

    def __init__(self, ocr):
        self.ocr = ocr
        self.calls = 0

    def read(self, image: np.ndarray):
        self.calls += 1
        return self.ocr.read(image)


def test_a_band_with_no_letter_strokes_never_reaches_the_ocr_model(ocr):
    counted = Counted(ocr)
    reader = ScreenText(counted, 0.08)
    frames = [with_block(background(), x, y=100) for x in range(0, 400, 40)]
    assert reader.read(frames, np.arange(0.0, 20.0, 2.0)) == [()] * len(frames)
    assert reader.looks == len(frames) and counted.calls == 0  # every change looked at, none by the model
    reader.read([draw_text(background(), NOTICE)], [0.0])
    assert counted.calls == 2  # a notice passes: the gate's look, then the read


def test_each_call_starts_afresh(ocr):
    reader = ScreenText(ocr, 0.08)
    frames = [draw_text(background(), NOTICE)] * 3
    first = reader.read(frames, np.arange(3.0))
    assert reader.read(frames, np.arange(3.0)) == first and reader.reads == 2


# -- text runs: notices as occurrences ---------------------------------------------------------

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size) if Path(FONT).is_file() else ImageFont.load_default(size=size)


def notice_size(text: str, size: int) -> tuple[int, int]:
    """Width and height of the white box `notice` draws."""
    left, top, right, bottom = font(size).getbbox(text)
    pad = max(4, size // 3)
    return right - left + 2 * pad, bottom - top + 2 * pad


def notice(frame: np.ndarray, text: str, x: int, y: int, size: int) -> np.ndarray:
    """Black text of `size` px on a white box whose top left corner is at (x, y)."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    left, top, *_ = font(size).getbbox(text)
    width, height = notice_size(text, size)
    pad = max(4, size // 3)
    draw.rectangle((x, y, x + width, y + height), fill=(250, 250, 250))
    draw.text((x + pad - left, y + pad - top), text, fill=(10, 10, 10), font=font(size))
    return np.asarray(image)


@dataclass(frozen=True)
class Showing:
    text: str
    start: float
    end: float
    x: int
    y: int
    size: int


def schedule(rng: np.random.Generator, seconds: float) -> list[Showing]:
    """Notices at random non-integer times, lasting 3-60 s, one of them repeated three times,
    at random places and sizes, with a few seconds of nothing between showings."""
    texts = ["GATE B7 CLOSED", "VAULT CODE 4172", "GATE B7 CLOSED", "MEETING ROOM 12", "GATE B7 CLOSED"]
    lengths = rng.uniform(3.0, 12.0, len(texts))
    lengths[1] = 61.3  # one stays a minute, across batch edges
    gaps = rng.uniform(3.0, 8.0, len(texts))
    showings, t = [], rng.uniform(0.3, 4.0)
    for text, length, gap in zip(texts, lengths, gaps):
        size = int(rng.integers(18, 34))
        width, height = notice_size(text, size)
        x, y = int(rng.integers(0, 448 - width)), int(rng.integers(0, 190 - height))  # inside the frame, above the block
        showings.append(Showing(text, t, t + length, x, y, size))
        t += length + gap
    assert t < seconds
    return showings


def frames_of(showings: list[Showing], times: np.ndarray) -> list[np.ndarray]:
    """The notices over a noisy background while a dark block walks along the bottom all the time."""
    frames = []
    for time in times:
        frame = with_block(background(int(time)), x=int(time * 37) % 400, y=200)
        for s in showings:
            if s.start <= time < s.end:
                frame = notice(frame, s.text, s.x, s.y, s.size)
        frames.append(frame)
    return frames


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 4, 6])
def test_each_showing_of_a_notice_is_one_run_with_its_own_times(ocr, home, seed):
    rng = np.random.default_rng(seed)
    seconds, batch = 150.0, 30
    showings = schedule(rng, seconds)
    times = np.arange(0.0, seconds)
    frames = frames_of(showings, times)
    library = Library(home)
    timeline, video = Timeline(library, None), add_video(library)
    reader = ScreenText(ocr, 0.08)
    for first in range(0, len(times), batch):  # as ingest does: each batch read afresh and committed
        part = slice(first, first + batch)
        runs = text_runs(reader.lines(frames[part], times[part]), times[part], times[first], times[first] + batch, (448, 252))
        with library.transaction() as conn:
            timeline.add(conn, video, runs)
    found = timeline.between(video, 0, seconds, modalities={"text"})
    assert len(found) == len(showings), found
    for occurrence, truth in zip(found, showings):
        assert same_text(occurrence.text, truth.text), (occurrence, truth)  # a letter may be misread, never a number
        assert abs(occurrence.start - truth.start) <= 1.0 and abs(occurrence.end - truth.end) <= 1.0, (occurrence, truth)
        x0, y0, x1, _ = occurrence.data["box"]
        assert x0 <= (truth.x + truth.size) / 448 and y0 <= (truth.y + truth.size) / 252 and x1 > truth.x / 448
    minute = found[1]
    assert minute.duration == pytest.approx(61.3, abs=1.0)
    shown = [h.occurrence.start for h in timeline.matching(video, "GATE B7 CLOSED")]
    assert shown == [o.start for o in found if same_text(o.text, "GATE B7 CLOSED")] and len(shown) == 3


def line(text: str, x0: float, y0: float, x1: float, y1: float) -> Line:
    return Line(text, (x0, y0, x1, y1))


def test_lines_of_one_notice_are_one_text_and_distant_lines_are_not():
    two_rows = [line("MEETING ROOM 12", 100, 50, 300, 70), line("AT NOON", 150, 76, 250, 96), line("EXIT", 10, 220, 60, 240)]
    side_by_side = [line("GATE", 100, 50, 160, 70), line("CLOSED", 190, 51, 280, 71)]
    runs = text_runs([two_rows, side_by_side], [0.0, 1.0], 0.0, 2.0, (448, 252))
    assert [r.text for r in runs] == ["MEETING ROOM 12 AT NOON", "EXIT", "GATE CLOSED"]
    assert runs[0].data["box"] == [round(100 / 448, 4), round(50 / 252, 4), round(300 / 448, 4), round(96 / 252, 4)]


def test_runs_forgive_misreadings_and_hidden_parts_but_not_absence():
    readings = ["GATE B7 CLOSED", "GATE B7 CL0SED", "GATE B7", "GATE B7 CLOSED", None, "GATE B7 CLOSED", "GATE B8 CLOSED"]
    lines = [[] if text is None else [line(text, 10, 10, 200, 30)] for text in readings]
    times = [10.0 + i for i in range(len(readings))]
    runs = text_runs(lines, times, 10.0, 17.0, (448, 252))
    assert [(r.text, r.start, r.end) for r in runs] == [
        ("GATE B7 CLOSED", 10.0, 13.5),  # from the span's edge: it may have begun in the span before
        ("GATE B7 CLOSED", 14.5, 15.5),
        ("GATE B8 CLOSED", 15.5, 17.0),  # to the span's edge: the next span may continue it
    ]


@pytest.mark.slow
def test_someone_walking_in_front_of_a_steady_notice_does_not_break_it(ocr):
    times = np.arange(0.0, 30.0)
    frames = []
    for time in times:
        frame = notice(background(int(time)), "GATE B7 CLOSED", 120, 100, 28)
        frames.append(with_block(frame, x=int(40 + time * 20) % 440, y=90))  # crosses the notice from left to right
    runs = text_runs(ScreenText(ocr, 0.08).lines(frames, times), times, 0.0, 30.0, (448, 252))
    assert [(r.text, r.start, r.end) for r in runs] == [("GATE B7 CLOSED", 0.0, 30.0)]
