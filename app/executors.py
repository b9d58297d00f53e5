"""Where stage calls run: a local process pool (the default) or Ray actors.

Both hold `workers` long-lived workers built from one `WorkerSpec` (an importable class and
its arguments), each an object with `run(stage, *args)` whose models load once and stay.
Both take the same calls: `submit(stage, *args)` returns a handle, `wait(timeout)` blocks until
at least one handle is done (or the timeout passes) and returns (handle, result) pairs. The
caller decides what to submit and when; an executor only carries the calls.

A worker that dies (killed, out of memory) raises `WorkerDied` from `wait`, naming the calls it
took with it; the executor has already replaced it, so the caller may submit them again.
Evaluation (`evals.runner`) and library ingest (`app.ingest_batch`) both run on these.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from perception.errors import ConfigError, LongshotError

EXECUTORS = ("local", "ray")


class WorkerDied(LongshotError):
    """A worker process or actor died mid-call (out of memory, killed); `lost` holds the handles of
    the calls that died with it, which will never return."""

    def __init__(self, message: str, lost: tuple[Any, ...] = ()):
        super().__init__(message)
        self.lost = lost


@dataclass(frozen=True)
class WorkerSpec:
    """How to build one worker: `factory(*args)`. The factory must be importable by name (it is
    pickled to processes and Ray nodes) and its result must have `run(stage, *args)`."""

    factory: Callable[..., Any]
    args: tuple[Any, ...] = ()


class Executor(Protocol):
    workers: int

    def submit(self, stage: str, *args: Any) -> Any: ...

    def wait(self, timeout: float | None = None) -> list[tuple[Any, Any]]: ...

    def close(self, wait: bool = True) -> None: ...


def make_executor(kind: str, worker: WorkerSpec, workers: int, address: str | None = None) -> Executor:
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if kind == "local":
        if address:
            raise ConfigError("--address names a Ray cluster; add --executor ray")
        return LocalExecutor(worker, workers)
    if kind == "ray":
        return RayExecutor(worker, workers, address)
    raise ConfigError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")


# --- local process pool -------------------------------------------------------------------

_worker: Any = None


def _start_worker(spec: WorkerSpec, threads: int) -> None:
    """Pool initializer: share the cores between workers (where libraries read these), build one worker."""
    global _worker
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    _worker = spec.factory(*spec.args)


def _run_stage(stage: str, *args: Any) -> Any:
    assert _worker is not None, "the pool initializer did not run"
    return _worker.run(stage, *args)


class LocalExecutor:
    """`workers` processes, started fresh (spawn: model libraries do not survive fork)."""

    def __init__(self, worker: WorkerSpec, workers: int):
        self.workers = workers
        self._spec = worker
        self._pool = self._new_pool()
        self._pending: set[cf.Future] = set()
        self._ready: list[tuple[cf.Future, Any]] = []  # finished calls not yet handed out
        self._pool_of: dict[cf.Future, cf.ProcessPoolExecutor] = {}  # which pool runs each pending call

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._spec, threads),
        )

    def submit(self, stage: str, *args: Any) -> cf.Future:
        try:
            future = self._pool.submit(_run_stage, stage, *args)
        except cf.BrokenExecutor:
            # The pool broke before `wait` saw it (a call finished as a sibling died): a new pool takes
            # this call, and the dead pool's calls fail with BrokenExecutor, which `wait` reports.
            self._replace_pool()
            future = self._pool.submit(_run_stage, stage, *args)
        self._pending.add(future)
        self._pool_of[future] = self._pool
        return future

    def wait(self, timeout: float | None = None) -> list[tuple[cf.Future, Any]]:
        if not self._ready:
            done, self._pending = cf.wait(self._pending, timeout=timeout, return_when=cf.FIRST_COMPLETED)
            broken = []
            for future in done:
                try:
                    self._ready.append((future, future.result()))
                except cf.BrokenExecutor as err:
                    broken.append((future, err))
            dead = {self._pool_of[future] for future, _ in broken}
            for future in done:
                del self._pool_of[future]
            if broken:
                # A dead process breaks its whole pool: every call still in it is lost, and a new pool takes over.
                lost = (*(future for future, _ in broken), *(f for f in self._pending if self._pool_of[f] in dead))
                self._pending -= set(lost)
                for future in lost[len(broken) :]:
                    del self._pool_of[future]
                if self._pool in dead:
                    self._replace_pool()
                raise WorkerDied(f"a worker process died ({broken[0][1]}); perhaps out of memory: try fewer --workers", lost)
        finished, self._ready = self._ready, []
        return finished

    def _replace_pool(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


# --- Ray ----------------------------------------------------------------------------------


class RayExecutor:
    """`workers` Ray actors, one CPU each; calls go to the actor with the fewest in flight.

    With `address` it joins that cluster (its nodes need Longshot installed); without, it
    starts a local Ray with `workers` CPUs. A dead actor is replaced by a fresh one.
    """

    def __init__(self, worker: WorkerSpec, workers: int, address: str | None = None):
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
        self._spec = worker
        self._actor_class = ray.remote(num_cpus=1)(worker.factory)
        self._actors = [self._new_actor() for _ in range(workers)]
        self._load = [0] * workers
        self._pending: dict[Any, int] = {}  # object ref -> actor index

    def _new_actor(self) -> Any:
        return self._actor_class.remote(*self._spec.args)

    def actor_pid(self, index: int) -> int:
        """The process id of actor `index` (for tests and the crash bench, which kill one)."""
        return self._ray.get(self._actors[index].__ray_call__.remote(lambda _: os.getpid()))

    def submit(self, stage: str, *args: Any) -> Any:
        index = min(range(self.workers), key=self._load.__getitem__)
        ref = self._actors[index].run.remote(stage, *args)
        self._load[index] += 1
        self._pending[ref] = index
        return ref

    def wait(self, timeout: float | None = None) -> list[tuple[Any, Any]]:
        done, _ = self._ray.wait(list(self._pending), num_returns=1, timeout=timeout)
        finished = []
        for ref in done:
            index = self._pending.pop(ref)
            self._load[index] -= 1
            try:
                finished.append((ref, self._ray.get(ref)))
            except self._ray.exceptions.RayActorError as err:
                lost = (ref, *(r for r, i in self._pending.items() if i == index))
                for other in lost[1:]:
                    del self._pending[other]
                self._load[index] = 0
                self._ray.kill(self._actors[index])
                self._actors[index] = self._new_actor()
                raise WorkerDied(f"a Ray actor died ({type(err).__name__})", lost) from None
        return finished

    def close(self, wait: bool = True) -> None:
        """Actors hold models in memory: they go either way (`wait` has nothing to wait for)."""
        for actor in self._actors:
            self._ray.kill(actor)
        if self._started_here:
            self._ray.shutdown()
