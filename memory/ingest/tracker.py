"""The account of one ingest as it runs: busy time per stage, how far each stage has got,
counters and warnings, and the progress reports made of them. Every stage thread writes to
it, so every change holds one lock."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter as clock

log = logging.getLogger(__name__)

STAGES = ("load", "decode", "store", "embed", "ocr", "speech", "detect", "motion", "caption", "rollup", "semantic", "commit")


@dataclass(frozen=True)
class IngestProgress:
    """One report from a running ingest. `done` and `total` are seconds of video; `done` is
    what is committed. `stages` says how far each pipeline stage has got, in pipeline order."""

    video: str
    stage: str  # the stage that just moved, "done" at the end
    done: float
    total: float
    elapsed: float
    stages: tuple[tuple[str, float], ...] = ()

    @property
    def eta(self) -> float | None:
        return eta(self.elapsed, self.done, self.total)


def eta(elapsed: float, done: float, total: float) -> float | None:
    """Seconds left at the pace so far; None before any progress and after the end."""
    if done <= 0 or done >= total:
        return None
    return elapsed / done * (total - done)


ProgressFn = Callable[[IngestProgress], None]


class IngestTracker:
    """Times, positions, counters and warnings of one run; `name` labels its log lines."""

    def __init__(self, video: str, name: str, progress: ProgressFn | None):
        self.video = video
        self.name = name
        self.progress = progress
        self.started = clock()
        self.timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.counters: dict[str, int] = {"frames": 0, "speech_spans": 0, "speech_seconds": 0}
        self.warnings: list[str] = []
        self.positions: dict[str, float] = {}  # pipeline stage -> seconds of video it has got through
        self.total = 0.0
        self._begun = False  # reports start with "start"
        self._lock = threading.Lock()

    def prepare(self, total: float, stages: Sequence[str], at: float) -> None:
        """Track `stages` (then "commit") in pipeline order from `at` seconds of `total`, without a report;
        a stage already tracked keeps how far it got (decode runs while the models load)."""
        with self._lock:
            self.total = total
            self.positions = {stage: self.positions.get(stage, at) for stage in [*stages, "commit"]}

    def begin(self, total: float, stages: Sequence[str], at: float) -> None:
        """Start reporting: `stages` (then "commit") in pipeline order, from `at` seconds of `total`."""
        self.prepare(total, stages, at)
        self._begun = True
        self.report("start")

    @contextmanager
    def timed(self, stage: str, inner_of: str | None = None) -> Iterator[None]:
        """Add the time spent in the block to `stage`; `inner_of` takes it back from the enclosing stage."""
        t0 = clock()
        try:
            yield
        finally:
            spent = clock() - t0
            with self._lock:
                self.timings[stage] += spent
                if inner_of:
                    self.timings[inner_of] -= spent

    def count(self, counter: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[counter] = self.counters.get(counter, 0) + amount

    def warn(self, message: str) -> None:
        log.warning("%s: %s", self.name, message)
        with self._lock:
            self.warnings.append(message)

    def advance(self, stage: str, position: float) -> None:
        with self._lock:
            self.positions[stage] = max(self.positions[stage], min(position, self.total))
        self.report(stage)

    def report(self, stage: str) -> None:
        if self.progress is None or not self._begun:
            return
        with self._lock:
            done = self.positions["commit"] if stage != "done" else self.total
            elapsed = clock() - self.started
            self.progress(IngestProgress(self.video, stage, done, self.total, elapsed, tuple(self.positions.items())))

    def elapsed(self) -> float:
        return clock() - self.started

    def busy(self) -> dict[str, float]:
        """Busy seconds of each stage that did any work."""
        with self._lock:
            return {stage: seconds for stage, seconds in self.timings.items() if seconds}
