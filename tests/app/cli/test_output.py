"""Progress as it reaches a terminal (bars) and a pipe or a log (plain lines, no carriage returns)."""

from __future__ import annotations

import io

from tqdm import tqdm

from app.cli.output import ProgressLines, ingest_progress, progress_bar
from memory.ingest.tracker import IngestProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def events(total: float, steps: int) -> list[IngestProgress]:
    """An ingest of `total` seconds reported `steps` times, decode a little ahead of OCR and the commit."""

    def stages(at: float) -> tuple[tuple[str, float], ...]:
        return (("decode", min(total, at + 10)), ("ocr", at), ("commit", at))

    done = [total * i / steps for i in range(steps + 1)]
    moving = [IngestProgress("v", "commit", at, total, 1.0 + at / 10, stages(at)) for at in done]
    return [*moving, IngestProgress("v", "done", total, total, 2.0 + total / 10, stages(total))]


def test_an_ingest_in_a_pipe_prints_a_line_per_tenth_and_one_at_the_end():
    pipe = io.StringIO()
    update = ingest_progress("talk.mp4", pipe)
    for event in events(150.0, 30):
        update(event)
    lines = pipe.getvalue().splitlines()
    assert "\r" not in pipe.getvalue()
    assert lines[0] == "talk.mp4: 0% (0:00 of 2:30) after 1 s"
    assert lines[1].startswith("talk.mp4: 10% (0:15 of 2:30) after 2 s, about ")
    assert len(lines) == 11 and lines[-1] == "talk.mp4: 2:30 of video done in 17 s"


def test_an_ingest_on_a_terminal_draws_a_bar_per_stage():
    terminal = Terminal()
    update = ingest_progress("talk.mp4", terminal)
    for event in events(150.0, 3):
        update(event)
    drawn = terminal.getvalue()
    assert drawn.startswith("talk.mp4 (2:30)") and "\r" in drawn
    assert all(f"{stage} 100%|" in drawn for stage in ("decode", "ocr", "commit"))


def test_a_bar_in_a_pipe_is_lines_at_each_tenth_with_its_postfix():
    pipe = io.StringIO()
    bar = progress_bar(20, "needle", "item", initial=4, stream=pipe)
    assert isinstance(bar, ProgressLines)
    bar.set_postfix_str("acc 50.0% (1/2)")
    for _ in range(16):
        bar.update(1)
    bar.close()
    lines = pipe.getvalue().splitlines()
    assert lines[0] == "needle: 5/20 items, acc 50.0% (1/2)"
    assert lines[-1] == "needle: 20/20 items, acc 50.0% (1/2)" and len(lines) == 9  # 2/10 .. 10/10, nothing twice


def test_a_bar_on_a_terminal_is_tqdm_and_a_disabled_one_prints_nothing():
    assert isinstance(progress_bar(5, "x", "item", stream=Terminal()), tqdm)
    pipe = io.StringIO()
    quiet = progress_bar(5, "x", "item", enabled=False, stream=pipe)
    quiet.update(5)
    quiet.close()
    assert pipe.getvalue() == ""
