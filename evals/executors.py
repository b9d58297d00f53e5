"""Where the stages run: a local process pool (the default) or Ray actors.

Both hold `workers` long-lived `StageWorker`s, each with one Longshot whose models load on
first use and stay, and both take the same calls: `submit(stage, *args)` returns a handle,
`wait()` blocks until at least one handle is done and returns (handle, result) pairs.
The runner decides what to submit and when; an executor only carries the calls.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from typing import Any, Protocol

from evals.stages import StageWorker
from perception.config import Config
from perception.errors import ConfigError, LongshotError

EXECUTORS = ("local", "ray")
RESUME_HINT = "finished items are saved; run the same command again to resume"


class WorkerDied(LongshotError):
    """A worker process or actor died mid-run (out of memory, killed)."""


class Executor(Protocol):
    workers: int

    def submit(self, stage: str, *args: Any) -> Any: ...

    def wait(self) -> list[tuple[Any, dict[str, Any]]]: ...

    def close(self, wait: bool = True) -> None: ...


def make_executor(kind: str, config: Config, workers: int, address: str | None = None) -> Executor:
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if kind == "local":
        if address:
            raise ConfigError("--address names a Ray cluster; add --executor ray")
        return LocalExecutor(config, workers)
    if kind == "ray":
        return RayExecutor(config, workers, address)
    raise ConfigError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")


# --- local process pool -------------------------------------------------------------------

_worker: StageWorker | None = None


def _start_worker(config: Config, threads: int) -> None:
    """Pool initializer: share the cores between workers (where libraries read these), hold one Longshot."""
    global _worker
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    _worker = StageWorker(config)


def _run_stage(stage: str, *args: Any) -> dict[str, Any]:
    assert _worker is not None, "the pool initializer did not run"
    return _worker.run(stage, *args)


class LocalExecutor:
    """`workers` processes, started fresh (spawn: model libraries do not survive fork)."""

    def __init__(self, config: Config, workers: int):
        self.workers = workers
        threads = max(1, (os.cpu_count() or 1) // workers)
        self._pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(config, threads),
        )
        self._pending: set[cf.Future] = set()

    def submit(self, stage: str, *args: Any) -> cf.Future:
        future = self._pool.submit(_run_stage, stage, *args)
        self._pending.add(future)
        return future

    def wait(self) -> list[tuple[cf.Future, dict[str, Any]]]:
        done, self._pending = cf.wait(self._pending, return_when=cf.FIRST_COMPLETED)
        try:
            return [(future, future.result()) for future in done]
        except cf.BrokenExecutor as err:
            raise WorkerDied(
                f"a worker process died ({err}); perhaps out of memory: try fewer --workers. {RESUME_HINT}"
            ) from None

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


# --- Ray ----------------------------------------------------------------------------------


class RayExecutor:
    """`workers` Ray actors, one CPU each; calls go to the actor with the fewest in flight.

    With `address` it joins that cluster (its nodes need Longshot installed, and the library
    home on storage they all share); without, it starts a local Ray with `workers` CPUs.
    """

    def __init__(self, config: Config, workers: int, address: str | None = None):
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'longshot[ray]'") from None
        self._ray = ray
        self.workers = workers
        self._started_here = not ray.is_initialized()
        if self._started_here:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        actor = ray.remote(num_cpus=1)(StageWorker)
        self._actors = [actor.remote(config) for _ in range(workers)]
        self._load = [0] * workers
        self._pending: dict[Any, int] = {}  # object ref -> actor index

    def submit(self, stage: str, *args: Any) -> Any:
        index = min(range(self.workers), key=self._load.__getitem__)
        ref = self._actors[index].run.remote(stage, *args)  # type: ignore[attr-defined]  # Ray types .remote only on @ray.method
        self._load[index] += 1
        self._pending[ref] = index
        return ref

    def wait(self) -> list[tuple[Any, dict[str, Any]]]:
        done, _ = self._ray.wait(list(self._pending), num_returns=1)
        finished = []
        for ref in done:
            self._load[self._pending.pop(ref)] -= 1
            try:
                finished.append((ref, self._ray.get(ref)))
            except self._ray.exceptions.RayActorError as err:
                raise WorkerDied(f"a Ray actor died ({err}); {RESUME_HINT}") from None
        return finished

    def close(self, wait: bool = True) -> None:
        """Actors hold models in memory: they go either way (`wait` has nothing to wait for)."""
        for actor in self._actors:
            self._ray.kill(actor)  # type: ignore[arg-type]  # Ray types an actor as a handle or its class
        if self._started_here:
            self._ray.shutdown()
