"""How `longshot ingest` shows a batch going: on a terminal, an overall bar (videos, hours of video,
ETA) over one bar per video under way; elsewhere (a log, a pipe), plain lines: each video when it
starts and ends, and the whole batch every PLAIN_EVERY_S seconds."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm

from app.ingest_batch import BatchProgress, VideoOutcome
from memory.build import IngestProgress
from perception.timefmt import format_time

PLAIN_EVERY_S = 30.0
# The text after a bar goes in tqdm's `unit` field: its `postfix` field always starts with ", ".
OVERALL_BAR = "{desc} {percentage:3.0f}%|{bar}| {unit}"
VIDEO_BAR = "{desc:>24.24} {percentage:3.0f}%|{bar}| {unit}"


def overall(event: BatchProgress) -> str:
    """ "1:10:00 of 5:00:00 video, ETA 12:30" """
    eta = f", ETA {format_time(event.eta)}" if event.eta is not None else ""
    return f"{format_time(event.seconds_done)} of {format_time(event.seconds_total)} video{eta}"


def position(event: IngestProgress) -> str:
    """ "0:40 of 2:00 (decode 1:10, ocr 0:55)": committed, then how far each stage has got."""
    stages = ", ".join(f"{stage} {format_time(done)}" for stage, done in event.stages if stage != "commit")
    return f"{format_time(event.done)} of {format_time(event.total)}" + (f" ({stages})" if stages else "")


def verdict(outcome: VideoOutcome) -> str:
    if outcome.status == "failed":
        return f"failed: {outcome.error}"
    if outcome.status == "already":
        return "already in the library"
    return f"ingested in {outcome.seconds:.1f} s"


class BatchDisplay:
    """A progress callback for `Longshot.ingest_many`; bars on a terminal, plain lines elsewhere."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.bars_shown = self.stream.isatty()
        self.bar: tqdm | None = None
        self.videos: dict[str, tqdm] = {}
        self.seen: set[str] = set()
        self.last_line = 0.0

    def __call__(self, event: BatchProgress) -> None:
        if self.bars_shown:
            self._draw(event)
        else:
            self._write(event)

    def close(self) -> None:
        for bar in [*self.videos.values(), *([self.bar] if self.bar else [])]:
            bar.close()
        self.videos.clear()

    def _draw(self, event: BatchProgress) -> None:
        if self.bar is None:
            self.bar = tqdm(total=event.seconds_total, file=self.stream, bar_format=OVERALL_BAR, position=0, mininterval=0.5)
        self.bar.set_description_str(f"{event.done}/{event.total} videos", refresh=False)
        self.bar.unit = overall(event)
        self.bar.update(event.seconds_done - self.bar.n)
        running = dict(event.running)
        for name in [name for name in self.videos if name not in running]:
            self.videos.pop(name).close()
        for name, progress in running.items():
            bar = self.videos.get(name)
            if bar is None:
                bar = self.videos[name] = tqdm(
                    total=progress.total, desc=name, file=self.stream, bar_format=VIDEO_BAR, leave=False, mininterval=0.5
                )
            bar.unit = position(progress)
            bar.update(progress.done - bar.n)
        if event.finished is not None:
            tqdm.write(f"{event.finished.path.name}: {verdict(event.finished)}", file=self.stream)

    def _write(self, event: BatchProgress) -> None:
        for name, progress in event.running:
            if name not in self.seen:
                self.seen.add(name)
                self._line(f"{name}: started, {position(progress)}")
        if event.finished is not None:
            self._line(f"{event.finished.path.name}: {verdict(event.finished)}")
        now = time.monotonic()
        if event.finished is not None or now - self.last_line >= PLAIN_EVERY_S:
            self.last_line = now
            self._line(f"{event.done}/{event.total} videos, {overall(event)}")

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
