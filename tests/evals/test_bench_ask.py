"""bench ask's judging and its printout (the timed runs themselves are `longshot bench ask`, never a test)."""

from __future__ import annotations

import io

from evals.bench.ask import accuracy, judge, report
from evals.datasets.base import Item


def when(span=(100.0, 104.0)) -> Item:
    return Item(id="w", question="When is 'x' said?", answer_span=span, buckets={"kind": "when"})


def choice(kind: str = "choice") -> Item:
    return Item(id=kind, question="Which?", options=("a", "b"), answer="B", buckets={"kind": kind})


def test_a_when_answer_counts_when_its_span_overlaps_the_truth() -> None:
    assert judge(when(), None, (90.0, 100.0)) and judge(when(), None, (103.0, 110.0))
    assert not judge(when(), None, (104.5, 110.0)) and not judge(when(), None, None)


def test_a_choice_counts_only_when_it_is_the_answer() -> None:
    assert judge(choice(), "B", None) and not judge(choice(), "A", None) and not judge(choice(), None, (0, 1))


def test_accuracy_per_kind_and_over_choice_and_order() -> None:
    records = [
        {"kind": "when", "correct": True},
        {"kind": "when", "correct": False},
        {"kind": "choice", "correct": True},
        {"kind": "order", "correct": False},
        {"kind": "order", "correct": True},
    ]
    assert accuracy(records) == {"choice": 1.0, "choice+order": 2 / 3, "order": 0.5, "when": 0.5}


def test_report_puts_memory_and_baseline_side_by_side() -> None:
    side = {
        "accuracy": {"when": 1.0},
        "median_s": 0.2,
        "p95_s": 0.5,
        "warmup_s": 3.0,
        "rss_peak_mb": 900.0,
        "seconds_by_action": {"search_episodic": 0.1},
    }
    figures = {
        "video_minutes": 30.0,
        "questions": 17,
        "ingest_s": 100.0,
        "ingest_reused": True,
        "torch_threads": 1,
        "memory": side,
        "baseline": {**side, "accuracy": {"when": 0.0}, "frames": 32, "look_s": 12.0},
    }
    out = io.StringIO()
    report(figures, out)
    text = out.getvalue()
    assert "accuracy when (memory / 32 frames)  100% / 0%" in text
    assert "median_s (memory / baseline)" in text and "0.2 / 0.2" in text and "memory median s in search_episodic" in text
