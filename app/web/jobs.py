"""Ingests that outlive the page that started them.

A browser tab may close or reload while a video is being watched; the ingest goes on in a
background thread, and any page can ask for its status by video id. A semaphore keeps
heavy work to `web.ingest_concurrency` videos at once; the rest wait as "queued". The
threads are daemons: stopping the server stops them, and ingest resumes from its last
commit next time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from memory.build import IngestProgress
from memory.store import content_hash
from perception.errors import LongshotError
from perception.timefmt import format_time
from perception.video import probe

log = logging.getLogger(__name__)

STAGE_WORDS = {
    "queued": "waiting",
    "starting": "loading models",
    "decode": "decoding frames",
    "store": "storing frames",
    "embed": "embedding frames",
    "ocr": "reading on-screen text",
    "speech": "transcribing speech",
    "detect": "detecting objects",
    "caption": "captioning segments",
    "rollup": "summarising coarser scales",
    "semantic": "consolidating facts",
    "commit": "saving",
    "done": "finishing",
}


@dataclass(frozen=True)
class JobStatus:
    """Where one ingest stands; `done` and `total` are seconds of video."""

    video: str
    name: str
    state: str  # "queued" | "running" | "done" | "failed"
    stage: str
    done: float
    total: float
    elapsed: float = 0.0
    eta: float | None = None
    error: str | None = None
    already_done: bool = False
    warnings: tuple[str, ...] = ()
    updated: float = field(default_factory=time.time)  # wall-clock time of the last change

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    def describe(self) -> str:
        """One line a person reads: stage, how far, and how long is left."""
        if self.state == "queued":
            return "waiting for another ingest to finish"
        if self.state == "failed":
            return f"failed: {self.error}"
        if self.state == "done":
            return "already in the library" if self.already_done else f"done in {format_time(round(self.elapsed))}"
        eta = f", about {format_time(round(self.eta))} left" if self.eta is not None else ""
        stage = STAGE_WORDS.get(self.stage, self.stage)
        return f"{stage}: {format_time(self.done)} of {format_time(self.total)} watched{eta}"


class IngestJobs:
    """A registry of background ingests keyed by video id (the content hash Ingestor uses)."""

    def __init__(self, longshot: Any, workers: int = 1):
        self.longshot = longshot
        self._slots = threading.BoundedSemaphore(max(1, workers))
        self._jobs: dict[str, JobStatus] = {}
        self._changed = threading.Condition()

    def start(self, path: str | Path) -> str:
        """Start ingesting a file (or join the ingest already running for it); its video id."""
        path = Path(path)
        info = probe(path)
        video = content_hash(path)
        with self._changed:
            current = self._jobs.get(video)
            if current is not None and not current.finished:
                return video
            self._jobs[video] = JobStatus(video, path.name, "queued", "queued", 0.0, info.duration)
            self._changed.notify_all()
        threading.Thread(target=self._run, args=(video, path), name=f"ingest-{video}", daemon=True).start()
        return video

    def status(self, video: str) -> JobStatus | None:
        with self._changed:
            return self._jobs.get(video)

    def all(self) -> list[JobStatus]:
        with self._changed:
            return list(self._jobs.values())

    def follow(self, video: str, interval: float = 1.0) -> Iterator[JobStatus]:
        """Each new status of one job until it finishes (at least every `interval` seconds)."""
        last = None
        while True:
            with self._changed:
                status = self._jobs.get(video)
                if status is not None and status == last:
                    self._changed.wait(interval)
                    status = self._jobs.get(video)
            if status is None:
                return
            if status != last:
                yield status
                last = status
            if status.finished:
                return

    def wait(self, video: str, timeout: float | None = None) -> JobStatus | None:
        """Block until a job finishes (or `timeout` passes); its last status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while (status := self._jobs.get(video)) is not None and not status.finished:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._changed.wait(left)
            return status

    def _run(self, video: str, path: Path) -> None:
        with self._slots:
            self._ingest(video, path)

    def _ingest(self, video: str, path: Path) -> None:
        self._set(video, state="running", stage="starting")
        try:
            result = self.longshot.ingest(path, progress=lambda event: self._progress(video, event))
        except LongshotError as err:
            self._set(video, state="failed", error=str(err))
            return
        except Exception as err:  # a bug must not leave the page waiting forever
            log.exception("ingest of %s failed", path)
            self._set(video, state="failed", error=f"unexpected {type(err).__name__}: {err}")
            return
        self._set(
            video,
            state="done",
            stage="done",
            done=result.video.duration,
            total=result.video.duration,
            elapsed=result.seconds,
            eta=None,
            already_done=result.already_done,
            warnings=result.warnings,
        )

    def _progress(self, video: str, event: IngestProgress) -> None:
        self._set(video, stage=event.stage, done=event.done, total=event.total, elapsed=event.elapsed, eta=event.eta)

    def _set(self, video: str, **changes: Any) -> None:
        with self._changed:
            self._jobs[video] = replace(self._jobs[video], updated=time.time(), **changes)
            self._changed.notify_all()
