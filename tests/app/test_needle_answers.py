"""The offline policy on a CI-sized needle set (three minutes of real footage, speech and notices): the issue's bars.

The full figures (a 30-minute set) come from `longshot bench ask`; this is the same
questions, judge and bars on a set small enough to build and ingest in CI.
"""

from __future__ import annotations

import pytest

from app import Longshot
from evals.bench.ask import BARS, accuracy, answer_items
from evals.needle import build_needle

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def answered(media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("needle")
    needle = build_needle(folder / "set", minutes=3, seed=1)
    longshot = Longshot(home=folder / "home")
    video = longshot.ingest(needle.video).video.id
    return needle, answer_items(longshot, video, needle.items)


def test_the_offline_policy_clears_the_bars_on_the_needle_set(answered):
    needle, records = answered
    kinds = {record["kind"] for record in records}
    assert kinds == {"when", "choice", "order"} and len(records) == len(needle.items)
    shares = accuracy(records)
    wrong = [(r["id"], r["choice"], r["span"]) for r in records if not r["correct"]]
    assert shares["when"] >= BARS["when"], wrong
    assert shares["choice+order"] >= BARS["choice+order"], wrong
