"""The executors carry calls to long-lived workers and survive a worker's death: the calls it took
with it are named, and the executor goes on with a fresh worker."""

from __future__ import annotations

import time

import pytest

from app.executors import WorkerDied, WorkerSpec, make_executor
from perception.errors import ConfigError
from tests.fakes.echo_worker import EchoWorker

SPEC = WorkerSpec(EchoWorker, ("t",))


def drain(executor, handles: set) -> dict:
    results = {}
    while handles - results.keys():
        results.update(executor.wait())
    return results


def check_survives_a_death(executor) -> None:
    first = executor.submit("echo", 1)
    assert drain(executor, {first})[first][:2] == ("t", 1)
    dying = executor.submit("die")
    with pytest.raises(WorkerDied) as died:
        while True:
            executor.wait()
    assert dying in died.value.lost
    again = executor.submit("echo", 2)
    assert drain(executor, {again})[again][:2] == ("t", 2)


@pytest.mark.slow
def test_local_pool_returns_results_and_replaces_a_dead_process():
    executor = make_executor("local", SPEC, workers=2)
    try:
        handles = {executor.submit("echo", i): i for i in range(4)}
        results = drain(executor, set(handles))
        assert {handle: value[1] for handle, value in results.items()} == handles
        slow = executor.submit("sleep", 5)
        assert executor.wait(timeout=0.05) == []  # nothing done yet: the timeout returns empty-handed
        assert drain(executor, {slow})[slow][1] == "slept"
        check_survives_a_death(executor)
    finally:
        executor.close()


@pytest.mark.slow
def test_a_call_submitted_after_a_death_wait_has_not_seen_runs_and_only_the_dead_call_is_lost():
    executor = make_executor("local", SPEC, workers=2)
    try:
        dying = executor.submit("die")
        while not dying.done():  # the pool is broken once its calls are failed, before any wait looks
            time.sleep(0.05)
        after = executor.submit("echo", 3)
        with pytest.raises(WorkerDied) as died:
            executor.wait()
        assert died.value.lost == (dying,)
        assert drain(executor, {after})[after][:2] == ("t", 3)
    finally:
        executor.close()


def test_bad_executor_settings_are_config_errors():
    with pytest.raises(ConfigError, match="at least 1"):
        make_executor("local", SPEC, workers=0)
    with pytest.raises(ConfigError, match="--executor ray"):
        make_executor("local", SPEC, workers=1, address="ray://x:1")
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("dask", SPEC, workers=1)


@pytest.mark.slow
def test_ray_actors_return_results_and_a_dead_actor_is_replaced():
    ray = pytest.importorskip("ray")
    executor = make_executor("ray", SPEC, workers=2)
    try:
        pids = {executor.actor_pid(i) for i in range(2)}
        handles = [executor.submit("echo", i) for i in range(4)]
        results = drain(executor, set(handles))
        assert {value[2] for value in results.values()} == pids  # the calls spread over both actors
        check_survives_a_death(executor)
    finally:
        executor.close()
    assert not ray.is_initialized()
