"""The short crash benchmark, as CI runs it: one SIGKILL each way (the local ingest process and a Ray
actor, over a long video and a batch), resumed, with no corruption and no loss."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.bench import crash


@pytest.mark.slow
def test_four_kills_leave_no_corruption_and_no_loss(tmp_path: Path):
    pytest.importorskip("ray")
    figures = crash.run(kills=4, seed=3, root=tmp_path, long_repeats=1, batch_videos=2)
    assert (figures["kills"], figures["corruptions"], figures["losses"]) == (4, 0, 0), figures["problems"]
    assert {mode: numbers["kills"] for mode, numbers in figures["modes"].items()} == dict.fromkeys(crash.MODES, 1)
    assert all(numbers["rounds"] == 1 for numbers in figures["modes"].values())
