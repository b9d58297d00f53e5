"""The Ray executor on a local `ray.init(num_cpus=2)`: the same stages, the same answers as the process pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.records import RESULTS_NAME
from tests.evals.conftest import NeedleRun

ray = pytest.importorskip("ray")

COMPARED = ("choice", "correct", "span", "text", "video_id", "blind")


def _by_id(folder: Path) -> dict[str, dict]:
    lines = [json.loads(line) for line in (folder / RESULTS_NAME).read_text().splitlines()]
    return {record["id"]: record for record in lines}


@pytest.mark.slow
@pytest.mark.integration
def test_ray_actors_answer_the_needle_set_like_the_local_pool(needle_run: NeedleRun, tmp_path: Path):
    assert not ray.is_initialized()

    summary = needle_run.run(tmp_path / "ray", executor="ray", workers=2)

    assert not ray.is_initialized()  # the runner started its own local Ray, and shut it down
    local, remote = _by_id(needle_run.out), _by_id(tmp_path / "ray")
    assert sorted(remote) == sorted(local)
    for key, record in remote.items():
        assert {f: record[f] for f in COMPARED} == {f: local[key][f] for f in COMPARED}
    assert summary["accuracy"] == needle_run.summary["accuracy"]
    assert summary["run"]["executor"] == "ray" and summary["run"]["workers"] == 2
    assert summary["ingest"] == {"videos": 1, "seconds": 0.0, "already_in_library": 1}
