"""Reports rendered from a run folder: summary.json, report.md and plots agree with the per-item lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from evals.cli import cli
from evals.datasets.base import Item
from evals.metrics import Result
from evals.plots import ACCURACY_PNG, LATENCY_PNG
from evals.records import RESULTS_NAME, item_fields
from evals.report import REPORT_NAME, RUN_NAME, SUMMARY_NAME, write_report
from perception.errors import ConfigError
from tests.evals.conftest import report_row

RUN = {
    "dataset": {"name": "toy", "version": "toy v1", "bucket_keys": ["task"], "macro_over": "task", "key": "toy", "options": {}},
    "settings": {"models": {"vlm": "openai:toy-vlm@http://127.0.0.1:1/v1"}, "agent": {}, "ingest": {}},
    "home": "/nowhere",
    "executor": "local",
    "workers": 2,
    "limit": None,
    "started": "2026-01-01T00:00:00+00:00",
}


def _item(id: str, task: str, n_options: int = 0, answer: str | None = None, span=None) -> Item:
    return Item(
        id=id,
        question=f"question {id}?",
        video=Path("/videos/v.mp4"),
        options=tuple(f"option {i}" for i in range(n_options)),
        answer=answer,
        answer_span=span,
        buckets={"task": task},
    )


def _record(item: Item, choice=None, span=None, blind=None, latency=1.0, error=None, tokens=(0, 0)) -> dict:
    result = Result(item, choice=choice, span=span, text=f"({choice})" if choice else "", error=error)
    record = {**item_fields(item), **result.to_dict()}
    if error is None:
        usage = {"prompt_tokens": tokens[0], "completion_tokens": tokens[1]}
        record.update(
            video_id="v1",
            ingest_s=12.5,
            latency_s=latency,
            usage=usage,
            policy="vlm",
            evidence=[],
            trace=[],
            blind={"choice": blind, "text": blind or "", "usage": {"prompt_tokens": 10, "completion_tokens": 1}}
            if item.options
            else None,
        )
    return record


RECORDS = [
    _record(_item("a1", "count", 4, "A"), choice="A", blind="B", latency=1.0, tokens=(100, 5)),
    _record(_item("a2", "count", 4, "B"), choice="C", blind="B", latency=2.0, tokens=(200, 7)),
    _record(_item("a3", "count", 3, "A"), choice=None, blind="A", latency=0.5),
    _record(_item("b1", "ocr", 2, "B", span=(10.0, 20.0)), choice="B", span=(15.0, 25.0), blind=None, latency=3.0),
    _record(_item("b2", "ocr", 2, "A"), error="ImageError: image.png is truncated"),
    _record(_item("c1", "ocr", span=(0.0, 10.0)), latency=0.25),
]


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / RUN_NAME).write_text(json.dumps(RUN))
    (folder / RESULTS_NAME).write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return folder


def test_summary_and_report_state_the_figures_of_the_lines(run_folder: Path):
    summary = write_report(run_folder)
    report = (run_folder / REPORT_NAME).read_text()

    # 5 scorable items: a1 and b1 right; a2 wrong, a3 abstained, b2 failed (a failure counts as wrong).
    assert summary["accuracy"] == pytest.approx(2 / 5)
    assert summary["counts"] == {
        "items": 6,
        "scored": 5,
        "correct": 2,
        "abstained": 2,
        "errors": 1,
        "unscored": 0,
        "with_span": 2,
    }
    assert report_row(report, "Accuracy") == "40.0% (2/5)"
    assert json.loads((run_folder / SUMMARY_NAME).read_text()) == summary

    # per task and the macro mean over tasks (count 1/3, ocr 1/2)
    assert report_row(report, "count").split(" | ")[0] == "33.3% (1/3)"
    assert report_row(report, "ocr").split(" | ")[0] == "50.0% (1/2)"
    assert summary["macro"]["accuracy"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert report_row(report, "Macro accuracy over task (2 values)") == "41.7%"

    # blind: a2 and a3 right; random: 1/4 + 1/4 + 1/3 + 1/2 + 1/2 expected over 5
    blind = summary["baselines"]["blind"]
    assert (blind["accuracy"], blind["correct"]) == (pytest.approx(2 / 5), 2)
    assert report_row(report, f"Blind: {blind['source']}").startswith("40.0% (2/5) | ")
    assert "toy-vlm" in blind["source"]
    expected = (1 / 4 + 1 / 4 + 1 / 3 + 1 / 2 + 1 / 2) / 5
    assert summary["baselines"]["random"]["expected"]["accuracy"] == pytest.approx(expected)
    assert report_row(report, "Random choice, expected").startswith(f"{expected:.1%} | ")

    # spans: b1 IoU 5/15, c1 predicted nothing (0)
    assert summary["spans"]["mean_iou"] == pytest.approx((5 / 15) / 2)
    assert report_row(report, "Mean IoU") == f"{(5 / 15) / 2:.3f}"
    assert report_row(report, "Hit (prediction overlaps the gold span)") == "50.0%"

    # latency over the answered items, ingest once per video, tokens of the run and of the blind baseline
    assert summary["latency"]["p50"] == pytest.approx(1.0)
    assert report_row(report, "Per item, mean") == f"{(1.0 + 2.0 + 0.5 + 3.0 + 0.25) / 5:.2f}"
    assert summary["ingest"] == {"videos": 1, "seconds": 12.5, "already_in_library": 0}
    assert summary["usage"] == {
        "run": {"prompt_tokens": 300, "completion_tokens": 12},
        "blind": {"prompt_tokens": 40, "completion_tokens": 4},
    }
    assert report_row(report, "Longshot").startswith("40.0% (2/5) | ") and report_row(report, "Blind") == "40 | 4"
    assert report_row(report, "b2") == "ImageError: image.png is truncated"


def test_plots_are_pngs_linked_from_the_report(run_folder: Path):
    write_report(run_folder)
    report = (run_folder / REPORT_NAME).read_text()
    for name in (ACCURACY_PNG, LATENCY_PNG):
        assert f"]({name})" in report
        with Image.open(run_folder / name) as picture:
            assert picture.format == "PNG"
            assert min(picture.size) > 200


def test_report_command_renders_again_and_ignores_a_torn_last_line(run_folder: Path):
    first = write_report(run_folder)
    for name in (REPORT_NAME, SUMMARY_NAME, ACCURACY_PNG, LATENCY_PNG):
        (run_folder / name).unlink()
    with (run_folder / RESULTS_NAME).open("a") as handle:
        handle.write('{"id": "d1", "question": "cut sho')  # a kill mid-write

    result = CliRunner().invoke(cli, ["eval", "report", str(run_folder)])

    assert result.exit_code == 1  # b2 failed: the command says so
    assert "accuracy 40.0% (2/5)" in result.output
    assert json.loads((run_folder / SUMMARY_NAME).read_text()) == first
    assert all((run_folder / name).is_file() for name in (REPORT_NAME, ACCURACY_PNG, LATENCY_PNG))


def test_a_folder_without_a_run_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="not an evaluation run folder"):
        write_report(tmp_path)
    result = CliRunner().invoke(cli, ["eval", "report", str(tmp_path)])
    assert result.exit_code == 1
    assert "not an evaluation run folder" in result.output


def test_a_run_with_nothing_scored_still_reports(tmp_path: Path):
    (tmp_path / RUN_NAME).write_text(json.dumps(RUN))
    (tmp_path / RESULTS_NAME).write_text(json.dumps(RECORDS[-1]) + "\n")  # one open question

    summary = write_report(tmp_path)

    assert summary["accuracy"] is None
    assert report_row((tmp_path / REPORT_NAME).read_text(), "Accuracy") == "n/a"
    assert not (tmp_path / ACCURACY_PNG).exists() and (tmp_path / LATENCY_PNG).is_file()


def test_open_questions_are_scored_by_content_beside_the_no_memory_baseline(tmp_path: Path) -> None:
    from evals.grading import Count, Mention, Span

    run = {**RUN, "dataset": {**RUN["dataset"], "bucket_keys": ["type"], "macro_over": "type"}}
    items = [
        Item(id="q1", question="How many times?", video=Path("/v.mp4"), truth=Count(3), buckets={"type": "count"}),
        Item(
            id="q2",
            question="Which code?",
            video=Path("/v.mp4"),
            truth=Mention(("K7-RM4",), ("K7-RM9",)),
            buckets={"type": "code"},
        ),
        Item(id="q3", question="When?", video=Path("/v.mp4"), truth=Span(10, 20), answer_span=(10, 20), buckets={"type": "when"}),
        Item(id="q4", question="Pick", video=Path("/v.mp4"), options=("a", "b"), answer="B", buckets={"type": "count"}),
    ]
    said = {
        "q1": ("3 times, at 1:00, 2:00 and 3:00", None, "Not found in this video.", None),
        "q2": ("The code is K7 RM9.", None, "K7-RM4", None),
        "q3": ("At 0:11-0:19.", None, "Not found in this video.", (40.0, 50.0)),
        "q4": ("", "B", "", None),
    }
    records = []
    for item in items:
        text, choice, looked, looked_span = said[item.id]
        record = {**item_fields(item), **Result(item, choice=choice, text=text).to_dict(), "latency_s": 0.1}
        record["no_memory"] = {"choice": "A" if item.options else None, "text": looked, "span": looked_span}
        record["blind"] = {"choice": None, "text": "Not found in this video."}
        records.append(record)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / RUN_NAME).write_text(json.dumps(run))
    (folder / RESULTS_NAME).write_text("".join(json.dumps(r) + "\n" for r in records))

    summary = write_report(folder)

    assert [r["correct"] for r in records] == [True, False, True, True]
    assert (summary["counts"]["correct"], summary["counts"]["scored"]) == (3, 4)
    assert summary["buckets"]["type"]["count"]["correct"] == 2 and summary["buckets"]["type"]["code"]["correct"] == 0
    no_memory = summary["baselines"]["no_memory"]
    assert (no_memory["correct"], no_memory["count"]) == (1, 4)  # only the code it happened to read
    assert no_memory["spans"]["mean_iou"] == 0.0 and summary["spans"]["mean_iou"] == pytest.approx(0.8)
    assert summary["spans_by"]["values"]["when"]["recall@0.5"] == 1.0
    assert summary["baselines"]["random"]["expected"]["count"] == 1  # multiple choice only
    report = (folder / REPORT_NAME).read_text()
    assert report_row(report, f"No memory: {no_memory['source']}").startswith("25.0% (1/4) | ")
    assert "## Spans by type" in report and report_row(report.split("## Spans by type")[1], "when").startswith("1 | 0.800")
    section = report.split("## Accuracy by type\n")[1].split("\n## ")[0]
    assert report_row(section, "code") == "0.0% (0/1) | 100.0% (1/1) | 0.0% (0/1) | n/a"
