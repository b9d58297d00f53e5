"""Many videos into one library. Each video's ingest is one call of the ingest stage
(`app.ingest_stage`), run in this process (one local worker), in a local process pool, or on
Ray actors: the same stage under every executor.

Workers on the library's machine (this process, the local pool) write the library directly, as a
single ingest does (SQLite is safe between processes of one machine), so questions see each
video's memory as it is committed. Ray workers may be on other machines, where the catalogue must
not be written: each writes its video's shard under the shard root, and this process commits
each shard as it finishes, one transaction per shard (`memory.shards`); questions go on meanwhile.

A worker that dies mid-video loses only its call: the video goes to another worker (up to
MAX_ATTEMPTS times in all), which resumes it from its last commit. One video's failure is its
outcome; the others go on.
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.executors import Executor, WorkerDied, WorkerSpec, make_executor
from app.ingest_stage import IngestWorker, StageResult, ingest_into
from memory.audit import video_state
from memory.build import IngestProgress
from memory.ingest.tracker import eta
from memory.shards import commit_shard, shard_home
from memory.store import Library, content_hash
from perception.config import Config
from perception.errors import LongshotError
from perception.video import VideoInfo

MAX_ATTEMPTS = 3
POLL_S = 0.5  # how often the positions of videos ingested elsewhere are read
SHARDS = "shards"  # the default shard root, under the library home


@dataclass(frozen=True)
class VideoOutcome:
    """What happened to one video: "ingested", "already" (in the library before), or "failed"."""

    path: Path
    status: str
    video: str | None
    duration: float
    seconds: float
    error: str | None = None
    warnings: tuple[str, ...] = ()
    attempts: int = 1


@dataclass(frozen=True)
class BatchProgress:
    """One report from a running batch: videos finished of all, seconds of video done of all (a
    finished video counts whole, a running one as far as it is committed), and each running
    video's own report under its file name. `finished` is the outcome that just came in, if any."""

    done: int
    total: int
    seconds_done: float
    seconds_total: float
    elapsed: float
    running: tuple[tuple[str, IngestProgress], ...] = ()
    finished: VideoOutcome | None = None

    @property
    def eta(self) -> float | None:
        return eta(self.elapsed, self.seconds_done, self.seconds_total)


BatchProgressFn = Callable[[BatchProgress], None]


@dataclass(frozen=True)
class BatchReport:
    """Every video's outcome (names that failed before ingest included), and how many files found in
    folders or by patterns were not videos."""

    outcomes: tuple[VideoOutcome, ...]
    not_videos: int = 0

    @property
    def failed(self) -> tuple[VideoOutcome, ...]:
        return tuple(outcome for outcome in self.outcomes if outcome.status == "failed")


@dataclass
class _Job:
    path: Path
    info: VideoInfo
    video: str
    subtitles: str | None = None
    attempts: int = 0
    started: float = 0.0
    position: IngestProgress | None = None


@dataclass
class _Tally:
    """The outcomes so far and what the progress reports are made of."""

    total: int
    seconds_total: float
    progress: BatchProgressFn | None
    started: float = field(default_factory=time.perf_counter)
    outcomes: list[VideoOutcome] = field(default_factory=list)
    seconds_done: float = 0.0

    def add(self, outcome: VideoOutcome, running: Sequence[_Job] = ()) -> None:
        self.outcomes.append(outcome)
        self.seconds_done += outcome.duration
        self.report(running, outcome)

    def report(self, running: Sequence[_Job], finished: VideoOutcome | None = None) -> None:
        if self.progress is None:
            return
        positions = tuple((job.path.name, job.position) for job in running if job.position is not None)
        committed = sum(position.done for _, position in positions)
        self.progress(
            BatchProgress(
                len(self.outcomes),
                self.total,
                self.seconds_done + committed,
                self.seconds_total,
                time.perf_counter() - self.started,
                positions,
                finished,
            )
        )


def ingest_batch(
    config: Config,
    videos: Sequence[tuple[Path, VideoInfo]],
    *,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    shards: Path | None = None,
    progress: BatchProgressFn | None = None,
    here: IngestWorker | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    subtitles: Mapping[Path, Path] | None = None,
) -> list[VideoOutcome]:
    """Ingest `videos` (paths with what probing said of them) into the library at `config.home`;
    one outcome per video, in the order given. Ray workers write shards under `shards` (default
    <home>/shards); local ones write the library unless `shards` is named. `here` is the worker
    to use when the one local worker is this process (its models are shared), as it is for
    `executor="local"` with one worker. A video whose worker dies is given to another, up to
    `max_attempts` calls in all. `subtitles` names a subtitle file for some of the videos (the others
    use a file beside them with their name, if any)."""
    library = Library(config.home)
    tally = _Tally(len(videos), sum(info.duration for _, info in videos), progress)
    if executor == "ray" and shards is None:
        shards = config.home / SHARDS
    batch = _Batch(library, tally, shards, max_attempts)
    try:
        jobs = batch.plan(videos, subtitles or {})
        if jobs and executor == "local" and workers == 1:
            batch.run_here(jobs, here or IngestWorker(config))
        elif jobs:
            batch.run_on(jobs, make_executor(executor, WorkerSpec(IngestWorker, (config,)), workers, address))
    finally:
        library.close()
    order = {path: index for index, (path, _) in enumerate(videos)}
    return sorted(tally.outcomes, key=lambda outcome: order[outcome.path])


class _Batch:
    def __init__(self, library: Library, tally: _Tally, shards: Path | None, max_attempts: int):
        self.library = library
        self.tally = tally
        self.shards = shards
        self.max_attempts = max_attempts

    def plan(self, videos: Sequence[tuple[Path, VideoInfo]], subtitles: Mapping[Path, Path]) -> list[_Job]:
        """The jobs left to run; videos the library has already, or whose shard is finished, are dealt with now."""
        jobs: list[_Job] = []
        seen: dict[str, Path] = {}
        for path, info in videos:
            try:
                video = content_hash(path)
            except LongshotError as err:
                self.tally.add(VideoOutcome(path, "failed", None, info.duration, 0.0, str(err)))
                continue
            if video in seen:
                same = f"the same video as {seen[video]}"
                self.tally.add(VideoOutcome(path, "already", video, info.duration, 0.0, warnings=(same,), attempts=0))
                continue
            seen[video] = path
            row = self.library.connect().execute("SELECT status FROM videos WHERE id = ?", (video,)).fetchone()
            cues = subtitles.get(path)
            job = _Job(path, info, video, str(cues) if cues is not None else None)
            if row is not None and row["status"] == "ready":
                self.tally.add(VideoOutcome(path, "already", video, info.duration, 0.0, attempts=0))
            elif self.shards is not None and (video_state(self._home(job), video) or ("",))[0] == "ready":
                self.tally.add(self._outcome(job, StageResult(str(path), video, "ingested", 0.0)))  # its commit was cut short
            else:
                jobs.append(job)
        return jobs

    def run_here(self, jobs: list[_Job], worker: IngestWorker) -> None:
        """One worker, this process: each video's own progress reports pass straight through."""
        for job in jobs:

            def moved(event: IngestProgress, job: _Job = job) -> None:
                job.position = event
                self.tally.report([job])

            job.attempts = 1
            result = ingest_into(worker, str(job.path), str(self._home(job)), self.shards is not None, moved, job.subtitles)
            self.tally.add(self._outcome(job, result))

    def _stage_args(self, job: _Job) -> tuple[str, str, bool, None, str | None]:
        """`ingest_into`'s arguments after the worker, for a job run elsewhere (no progress callback)."""
        return str(job.path), str(self._home(job)), self.shards is not None, None, job.subtitles

    def run_on(self, jobs: list[_Job], executor: Executor) -> None:
        """One call per video, at most one per worker at a time, so a death loses little and
        positions are read only for videos really under way."""
        queue, running = deque(jobs), dict[object, _Job]()
        completed = False
        try:
            while queue or running:
                while queue and len(running) < executor.workers:
                    job = queue.popleft()
                    job.attempts += 1
                    job.started = time.perf_counter()
                    running[executor.submit("ingest", *self._stage_args(job))] = job
                try:
                    finished = executor.wait(timeout=POLL_S)
                except WorkerDied as died:
                    self._retry([running.pop(handle) for handle in died.lost if handle in running], queue, died)
                    continue
                for handle, result in finished:
                    job = running.pop(handle)
                    self.tally.add(self._outcome(job, result), list(running.values()))
                self._read_positions(list(running.values()))
            completed = True
        finally:
            executor.close(wait=completed)

    def _retry(self, lost: list[_Job], queue: deque[_Job], died: WorkerDied) -> None:
        for job in lost:
            if job.attempts < self.max_attempts:
                queue.appendleft(job)  # next free worker resumes it from its last commit
            else:
                error = f"{died}; gave up after {job.attempts} attempts"
                self.tally.add(VideoOutcome(job.path, "failed", job.video, job.info.duration, 0.0, error, attempts=job.attempts))

    def _home(self, job: _Job) -> Path:
        return self.library.home if self.shards is None else shard_home(self.shards, job.video)

    def _outcome(self, job: _Job, result: StageResult) -> VideoOutcome:
        """The video's outcome; a shard's finished video is committed into the library first. A retried
        video found whole was finished by the attempt that was lost (its worker died after the last
        commit, before it answered): this batch ingested it, as a user would want to read."""
        status, error = result.status, result.error
        if status == "already" and job.attempts > 1:
            status = "ingested"
        if self.shards is not None:
            home = self._home(job)
            if status != "failed":
                try:
                    status = "already" if commit_shard(self.library, home, job.video).already else "ingested"
                except LongshotError as err:
                    status, error = "failed", f"{type(err).__name__}: {err}"
            elif video_state(home, job.video) is None:
                shutil.rmtree(home, ignore_errors=True)  # failed before its first commit: nothing there to resume
        return VideoOutcome(
            job.path, status, result.video or job.video, job.info.duration, result.seconds, error, result.warnings, job.attempts
        )

    def _read_positions(self, running: list[_Job]) -> None:
        """How far each running video is committed, read from where its worker writes."""
        for job in running:
            state = video_state(self._home(job), job.video)
            done = state[1] if state is not None else 0.0
            elapsed = time.perf_counter() - job.started
            job.position = IngestProgress(job.video, "commit", done, job.info.duration, elapsed, (("commit", done),))
        self.tally.report(running)
