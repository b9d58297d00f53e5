"""The runner end to end: the needle set offline, resume after a kill, image tasks with and without a VLM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from evals.cli import cli
from evals.datasets import get_dataset
from evals.plots import ACCURACY_PNG, LATENCY_PNG
from evals.records import RESULTS_NAME, ResultsLog
from evals.report import REPORT_NAME, SUMMARY_NAME
from evals.runner import VLMRequiredError, run_eval
from evals.stages import BLIND_PROMPT
from perception.config import load_config
from perception.errors import ConfigError
from tests.evals.conftest import NEEDLE_MINUTES, NeedleRun, report_row
from tests.fakes.openai_server import ScriptedOpenAIServer, request_images, request_parts


def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / RESULTS_NAME).read_text().splitlines()]


def _fraction(correct: int, count: int) -> str:
    return f"{correct / count:.1%} ({correct}/{count})"


# --- results.jsonl ------------------------------------------------------------------------


def test_resume_keeps_finished_lines_and_drops_a_torn_tail_and_failures(tmp_path: Path):
    log = ResultsLog(tmp_path)
    log.append({"id": "a", "choice": "A"})
    log.append({"id": "b", "error": "MediaError: unreadable"})
    log.append({"id": "c", "choice": None})
    log.close()
    with (tmp_path / RESULTS_NAME).open("ab") as handle:
        handle.write(b'{"id": "d", "cho')

    finished = ResultsLog(tmp_path).resume()

    assert list(finished) == ["a", "c"]
    assert _lines(tmp_path) == [{"id": "a", "choice": "A"}, {"id": "c", "choice": None}]


# --- the needle set, offline -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_needle_run_answers_every_item_once_with_evidence_and_trace(needle_run: NeedleRun):
    lines = _lines(needle_run.out)
    items = list(needle_run.dataset().items())

    assert [r["id"] for r in lines if not r.get("error")] == [r["id"] for r in lines]
    assert sorted(r["id"] for r in lines) == sorted(item.id for item in items)
    assert len({r["video_id"] for r in lines}) == 1
    for record in lines:
        assert record["policy"] == "offline" and record["latency_s"] > 0
        assert record["trace"][-1]["action"] == "answer"
        assert record["evidence"] and all({"kind", "start", "end", "text"} <= set(e) for e in record["evidence"])
        assert (record["blind"] is None) == (not record["options"])
        assert {"choice", "text", "span"} <= set(record["no_memory"]) and not record["no_memory"].get("error")
    # a fresh home: the run watched the video itself, once
    assert needle_run.summary["ingest"]["videos"] == 1
    assert needle_run.summary["ingest"]["already_in_library"] == 0 and needle_run.summary["ingest"]["seconds"] > 0


@pytest.mark.slow
@pytest.mark.integration
def test_needle_report_figures_are_those_of_the_per_item_lines(needle_run: NeedleRun):
    lines = _lines(needle_run.out)
    summary = json.loads((needle_run.out / SUMMARY_NAME).read_text())
    report = (needle_run.out / REPORT_NAME).read_text()
    scored = [r for r in lines if r["options"] and r["answer"] is not None]
    correct = sum(r["choice"] == r["answer"] for r in scored)
    blind = sum((r["blind"] or {}).get("choice") == r["answer"] for r in scored)

    assert summary == needle_run.summary
    assert summary["accuracy"] == pytest.approx(correct / len(scored))
    assert (summary["counts"]["correct"], summary["counts"]["scored"]) == (correct, len(scored))
    assert report_row(report, "Accuracy") == _fraction(correct, len(scored))
    assert summary["baselines"]["blind"]["accuracy"] == pytest.approx(blind / len(scored))
    assert report_row(report, f"Blind: {summary['baselines']['blind']['source']}") == _fraction(blind, len(scored))
    looked = sum(r["no_memory"]["choice"] == r["answer"] for r in scored)
    assert summary["baselines"]["no_memory"]["correct"] == looked
    assert report_row(report, f"No memory: {summary['baselines']['no_memory']['source']}") == _fraction(looked, len(scored))
    expected = sum(1 / len(r["options"]) for r in scored) / len(scored)
    assert report_row(report, "Random choice, expected") == f"{expected:.1%}"

    for key in ("kind", "modality"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for record in scored:
            groups[record["buckets"][key]].append(record)
        section = report.split(f"## Accuracy by {key}\n")[1].split("\n## ")[0]
        for value, members in groups.items():
            right = sum(r["choice"] == r["answer"] for r in members)
            assert summary["buckets"][key][value]["correct"] == right
            assert report_row(section, value).split(" | ")[0] == _fraction(right, len(members))

    spans = [r for r in lines if r["answer_span"] is not None]
    mean_iou = sum(r["iou"] or 0.0 for r in spans) / len(spans)
    assert summary["spans"]["mean_iou"] == pytest.approx(mean_iou)
    assert report_row(report, "Mean IoU").split(" | ")[0] == f"{mean_iou:.3f}"  # then the no-memory baseline's
    latencies = [r["latency_s"] for r in lines]
    assert report_row(report, "Per item, median") == f"{np.median(latencies):.2f}"

    for name in (ACCURACY_PNG, LATENCY_PNG):
        assert f"]({name})" in report
        with Image.open(needle_run.out / name) as picture:
            assert picture.format == "PNG"


@pytest.mark.slow
@pytest.mark.integration
def test_a_rerun_of_a_finished_run_changes_nothing(needle_run: NeedleRun):
    before = (needle_run.out / RESULTS_NAME).read_bytes()

    summary = needle_run.run(needle_run.out)

    assert (needle_run.out / RESULTS_NAME).read_bytes() == before
    assert summary == needle_run.summary


@pytest.mark.slow
@pytest.mark.integration
def test_resuming_with_other_settings_is_refused(needle_run: NeedleRun):
    other = needle_run.config(**{"agent.max_steps": 3})
    with pytest.raises(ConfigError, match=r"other settings \(settings\.agent\.max_steps: 8 -> 3\)"):
        needle_run.run(needle_run.out, config=other)


@pytest.mark.slow
@pytest.mark.integration
def test_the_command_killed_midway_resumes_without_redoing_or_duplicating(needle_run: NeedleRun, tmp_path: Path):
    out = tmp_path / "killed"
    results = out / RESULTS_NAME
    env = {k: v for k, v in os.environ.items() if not k.startswith("LONGSHOT_")}
    command = [
        str(Path(sys.executable).with_name("longshot")),
        "eval",
        "--dataset",
        "needle:classic",
        "--root",
        str(needle_run.root),
        "-O",
        f"minutes={NEEDLE_MINUTES}",
        "--home",
        str(needle_run.home),
        "--out",
        str(out),
        "--no-progress",
    ]
    with (tmp_path / "stderr.txt").open("w") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        try:
            deadline = time.monotonic() + 600
            while not (results.exists() and results.read_bytes().count(b"\n") >= 3):
                assert process.poll() is None, (tmp_path / "stderr.txt").read_text()[-2000:]
                assert time.monotonic() < deadline, "the runner wrote nothing in 10 minutes"
                time.sleep(0.05)
        finally:
            os.killpg(process.pid, signal.SIGKILL)  # the runner and its pool workers, mid-run
            process.wait()
    kept = results.read_bytes()
    with results.open("ab") as handle:
        handle.write(b'{"id": "needle-s0-cho')  # as if the kill had cut a line short
    done_before = [json.loads(line) for line in kept.splitlines()]
    assert 3 <= len(done_before) < len(_lines(needle_run.out))

    summary = needle_run.run(out)

    after = results.read_bytes()
    assert after.startswith(kept)  # lines written before the kill are kept as they were, not redone
    ids = [r["id"] for r in _lines(out)]
    assert len(ids) == len(set(ids)) == summary["counts"]["items"] == len(_lines(needle_run.out))
    assert summary["accuracy"] == needle_run.summary["accuracy"]  # the offline policy is deterministic
    assert (out / REPORT_NAME).is_file() and (out / ACCURACY_PNG).is_file()


# --- failures and image tasks ------------------------------------------------------------


@pytest.mark.slow
def test_items_whose_video_is_missing_fail_and_are_retried_by_a_rerun(tmp_path: Path):
    questions = tmp_path / "set" / "questions.jsonl"
    questions.parent.mkdir()
    questions.write_text(
        "".join(
            json.dumps(
                {"id": f"q{i}", "video": "gone.mp4", "question": "What is shown?", "options": ["a cat", "a dog"], "answer": "A"}
            )
            + "\n"
            for i in range(2)
        )
    )
    config = load_config(env={}, overrides={"home": tmp_path / "home"})

    first = run_eval(get_dataset("jsonl", questions), tmp_path / "out", config, progress=False)
    second = run_eval(get_dataset("jsonl", questions), tmp_path / "out", config, progress=False)

    for summary in (first, second):
        assert summary["counts"]["errors"] == 2 and summary["accuracy"] == 0.0
    lines = _lines(tmp_path / "out")
    assert [r["id"] for r in lines] == ["q0", "q1"]
    assert all(r["error"].startswith(f"ingest of {questions.parent / 'gone.mp4'} failed: ") for r in lines)


def _sketchpad_tasks(root: Path) -> dict[str, str]:
    """Four image items in the Sketchpad layout; returns each question's correct letter."""
    rng = np.random.default_rng(0)

    def picture(path: Path, width: int = 96, height: int = 64) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)
        return path.name

    truth = {}
    for number, (colour, answer) in enumerate((("red", "(a)"), ("blue", "(b)")), 1):
        folder = root / "mmvp" / str(number)
        query = f"<img src='../tasks/mmvp/processed/{number}/{number}.jpg'> Is the {colour} cup left? Options: (a) Yes (b) No"
        json.dump(
            {"query": query, "images": [picture(folder / f"{number}.jpg")], "answer": answer}, (folder / "request.json").open("w")
        )
        truth[f"Is the {colour} cup left?"] = answer[1].upper()
    folder = root / "blink_jigsaw" / "val_Jigsaw_1"
    images = [picture(folder / f"image{i}.jpg", 80 + 10 * i) for i in (1, 2, 3)]
    query = (
        "Which of the second or third image is the missing part?\nSelect from the following choices.\n\n"
        "(A) the second image\n(B) the third image\n"
    )
    json.dump({"query": query, "images": images, "answer": "(A)"}, (folder / "request.json").open("w"))
    truth["Which of the second or third image is the missing part?"] = "A"
    folder = root / "geometry" / "7"
    picture(folder / "image.png")
    json.dump({"problem_text": "Find x.", "choices": ["2", "4", "6", "8"], "answer": "C"}, (folder / "ex.json").open("w"))
    truth["Find x."] = "C"
    return truth


@pytest.mark.slow
def test_image_tasks_run_through_a_vlm_and_report_accuracy_per_task(tmp_path: Path):
    truth = _sketchpad_tasks(tmp_path / "tasks")
    wrong_on_purpose = "Which of the second or third image is the missing part?"
    blind_marker = BLIND_PROMPT.splitlines()[1]

    def vlm(request: dict) -> str:
        text = "\n".join(part for part in request_parts(request) if isinstance(part, str))
        if blind_marker in text:
            return "The answer is (A)."
        question = next(q for q in truth if f"Question: {q}" in text)
        letter = truth[question] if question != wrong_on_purpose else "B"
        return json.dumps({"action": "answer", "args": {"text": f"It is {letter}.", "choice": letter}})

    with ScriptedOpenAIServer(vlm) as server:
        config = load_config(env={}, overrides={"home": tmp_path / "home", "models.vlm": f"openai:toy-vlm@{server.base_url}"})
        summary = run_eval(get_dataset("sketchpad", tmp_path / "tasks"), tmp_path / "out", config, progress=False)

    assert server.errors == []
    asked = [r for r in server.requests if blind_marker not in json.dumps(r)]
    assert len(asked) == 4 and all(len(request_images(r)) == 1 for r in asked)
    montage = next(request_images(r)[0] for r in asked if wrong_on_purpose in json.dumps(r))
    assert montage.shape[1] > 2 * montage.shape[0]  # the jigsaw's three images, side by side
    assert all(not request_images(r) for r in server.requests if r not in asked)  # blind: text only

    tasks = summary["buckets"]["task"]
    assert {task: (entry["correct"], entry["count"]) for task, entry in tasks.items()} == {
        "blink_jigsaw": (0, 1),
        "geometry": (1, 1),
        "mmvp": (2, 2),
    }
    assert summary["macro"] == {"over": "task", "accuracy": pytest.approx(2 / 3), "values": 3}
    assert summary["baselines"]["blind"]["correct"] == 2  # "A": right for mmvp 1 and the jigsaw
    assert summary["usage"]["run"]["prompt_tokens"] > 0 and summary["usage"]["blind"]["completion_tokens"] == 4 * 4
    report = (tmp_path / "out" / REPORT_NAME).read_text()
    assert report_row(report, "mmvp").startswith("100.0% (2/2) | ")
    assert "## VLM tokens" in report


def test_image_tasks_without_a_vlm_are_refused_before_any_work(tmp_path: Path):
    _sketchpad_tasks(tmp_path / "tasks")
    config = load_config(env={}, overrides={"home": tmp_path / "home", "models.vlm": "none"})

    with pytest.raises(VLMRequiredError, match=r"4 of 4 items are image questions \(the tasks blink_jigsaw, geometry, mmvp\)"):
        run_eval(get_dataset("sketchpad", tmp_path / "tasks"), tmp_path / "out", config, progress=False)
    assert not (tmp_path / "out").exists()

    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "--dataset",
            "mmvp",
            "--root",
            str(tmp_path / "tasks"),
            "--home",
            str(tmp_path / "home"),
            "--out",
            str(tmp_path / "out"),
        ],
        env={"LONGSHOT_MODELS__VLM": "none"},
    )
    assert result.exit_code == 1
    assert "need a VLM" in result.output and "models.vlm" in result.output
    assert not (tmp_path / "out").exists()
