"""`longshot bench soak` runs end to end for about 20 s: a live RSS table, then figures of the right
shape (throughput, errors by kind, RSS samples over time, the second half's slope). Nothing timed;
the only behaviour asserted is that nothing but the errors a user can meet by design happened."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from evals.cli import cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def soaked() -> tuple[dict, str]:
    result = CliRunner().invoke(cli, ["bench", "soak", "--minutes", "0.35", "--every", "5", "--askers", "2", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_the_table_is_printed_as_the_run_goes(soaked):
    _, table = soaked
    lines = [line.split() for line in table.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert len(lines) >= 3 and all(len(line) == 6 for line in lines)
    elapsed = [int(line[0]) for line in lines]
    assert elapsed == sorted(elapsed)
    assert all(int(line[2]) >= int(line[1]) for line in lines)  # the peak is never below the RSS now


def test_the_figures_have_their_shape(soaked):
    figures, _ = soaked
    assert figures["ingests"] >= 1 and figures["questions"] >= 1
    assert figures["ingests_per_minute"] > 0 and figures["questions_per_minute"] > 0
    assert 0 < figures["latency_median_s"] <= figures["latency_p95_s"]
    assert figures["rss_start_mb"] > 0 and figures["rss_peak_mb"] >= max(figures["rss_start_mb"], figures["rss_end_mb"])
    samples = figures["rss_samples"]
    assert len(samples) >= 10 and [t for t, _ in samples] == sorted(t for t, _ in samples)
    assert math.isfinite(figures["rss_slope_second_half_mb_per_min"])
    assert figures["threads_still_running"] == []
    assert figures["unexpected_errors"] == 0, figures["error_examples"]
    assert sum(figures["errors_by_kind"].values()) == figures["errors"]
