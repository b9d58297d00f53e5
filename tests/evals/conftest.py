"""One shortened needle run shared by the runner tests: built, ingested and answered once per session.

The first run ingests the needle video into a fresh home; later runs (resume, Ray) reuse that
home, where the video is already in the library, so they only answer. `report_row` reads a
figure back out of a report.md table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evals.datasets import get_dataset
from evals.runner import run_eval
from perception.config import Config, load_config

NEEDLE_MINUTES = 2  # six needles need 80 s; two minutes is the shortest round length that fits them


@dataclass(frozen=True)
class NeedleRun:
    root: Path  # where the needle set is built
    home: Path  # the library the run ingested into
    out: Path  # the run folder
    summary: dict[str, Any]

    def config(self, **overrides: Any) -> Config:
        return load_config(env={}, overrides={"home": self.home, **overrides})

    def dataset(self):
        return get_dataset("needle:classic", self.root, minutes=NEEDLE_MINUTES)

    def run(self, out: Path, config: Config | None = None, **options: Any) -> dict[str, Any]:
        """Evaluate the same needle set into `out`, with this run's settings unless `config` is given."""
        return run_eval(
            self.dataset(),
            out,
            config or self.config(),
            dataset_key="needle:classic",
            dataset_options={"minutes": NEEDLE_MINUTES},
            progress=False,
            **options,
        )


@pytest.fixture(scope="session")
def needle_run(media: Path, tmp_path_factory: pytest.TempPathFactory) -> NeedleRun:
    """The needle set (real footage from `media`) evaluated offline with the local executor."""
    base = tmp_path_factory.mktemp("needle-run")
    run = NeedleRun(root=base / "datasets", home=base / "home", out=base / "out", summary={})
    return NeedleRun(run.root, run.home, run.out, run.run(run.out))


def report_row(report: str, label: str) -> str:
    """The cells after the label of the first Markdown table row whose first cell is `label`."""
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", report, re.MULTILINE)
    assert match, f"no row {label!r} in the report"
    return match.group(1)
