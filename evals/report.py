"""A run folder's report, rendered from `run.json` and `results.jsonl` alone.

`write_report(folder)` writes `summary.json` (the metrics of evals.metrics plus latency,
ingest and token figures), `report.md` (tables, with the figures of summary.json) and the
PNG plots; `longshot eval report FOLDER` calls it again at any time, e.g. on a run that
was interrupted or copied from a cluster.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.metrics import IOU_THRESHOLDS, summarise
from evals.no_memory import NO_MEMORY_FRAMES
from evals.plots import ACCURACY_PNG, LATENCY_PNG, plot_accuracy, plot_latency
from evals.records import RESULTS_NAME, baseline_from_record, item_from_record, read_records, result_from_record
from perception.errors import ConfigError

RUN_NAME = "run.json"
SUMMARY_NAME = "summary.json"
REPORT_NAME = "report.md"
ERRORS_SHOWN = 10


@dataclass(frozen=True)
class DatasetInfo:
    """The identity of the dataset a run scored, as run.json keeps it (what the metrics need)."""

    name: str
    version: str
    bucket_keys: tuple[str, ...]
    macro_over: str | None


def write_report(folder: str | Path) -> dict[str, Any]:
    """Write summary.json, report.md and the plots into a run folder; return the summary."""
    folder = Path(folder).expanduser()
    if folder.name == RESULTS_NAME:
        folder = folder.parent
    run = load_run(folder)
    records = read_records(folder / RESULTS_NAME)
    summary = build_summary(records, run)
    _write_text(folder / SUMMARY_NAME, json.dumps(summary, indent=2) + "\n")
    plots = [
        ("Accuracy per bucket, with the blind and random baselines", plot_accuracy(summary, folder / ACCURACY_PNG)),
        ("Latency per item", plot_latency(*_latencies(records, summary), folder / LATENCY_PNG)),
    ]
    _write_text(folder / REPORT_NAME, render_markdown(summary, [(title, p.name) for title, p in plots if p]))
    return summary


def load_run(folder: Path) -> dict[str, Any]:
    path = folder / RUN_NAME
    if not path.is_file():
        raise ConfigError(f"{folder} is not an evaluation run folder: it has no {RUN_NAME} (made by `longshot eval`)")
    return json.loads(path.read_text(encoding="utf-8"))


def build_summary(records: Sequence[dict[str, Any]], run: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics of the run's records, with latency, ingest and token figures and the run's settings."""
    dataset = run["dataset"]
    info = DatasetInfo(dataset["name"], dataset["version"], tuple(dataset["bucket_keys"]), dataset["macro_over"])
    items = [item_from_record(r) for r in records]
    results = [result_from_record(r, item) for r, item in zip(records, items)]
    blind = [baseline_from_record(r, "blind", item) for r, item in zip(records, items)]
    looked = any(r.get("no_memory") for r in records)
    no_memory = [baseline_from_record(r, "no_memory", item) for r, item in zip(records, items)] if looked else None
    summary = summarise(results, info, blind=blind, no_memory=no_memory)
    vlm = run["settings"]["models"]["vlm"]
    summary["baselines"]["blind"]["source"] = (
        f"the VLM ({vlm}) asked with the question and options only"
        if vlm != "none"
        else "options scored against the question text alone (the offline scorer, no video); open questions answered 'not found'"
    )
    if no_memory is not None:
        summary["baselines"]["no_memory"]["source"] = (
            f"the policy's answer from {NO_MEMORY_FRAMES} uniformly sampled moments (text read and speech heard there), no memory"
        )
    summary.update(
        latency=_latency(records),
        ingest=_ingest(records),
        usage=_usage(records),
        errors=[{"id": r["id"], "error": r["error"]} for r in records if r.get("error")][:ERRORS_SHOWN],
        run={
            "policy": sorted({r["policy"] for r in records if r.get("policy")}),
            "vlm": vlm,
            "executor": run.get("executor"),
            "workers": run.get("workers"),
            "home": run.get("home"),
            "started": run.get("started"),
            "dataset_options": dataset.get("options", {}),
        },
    )
    return summary


def _latency(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    seconds = np.array([r["latency_s"] for r in records if not r.get("error") and r.get("latency_s") is not None])
    if not len(seconds):
        return None
    return {
        "count": len(seconds),
        "mean": float(seconds.mean()),
        "p50": float(np.percentile(seconds, 50)),
        "p90": float(np.percentile(seconds, 90)),
        "max": float(seconds.max()),
        "total": float(seconds.sum()),
    }


def _ingest(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per video the ingest time its items saw; 0 s means it was already in the library."""
    per_video: dict[str, float] = {}
    for record in records:
        if record.get("video_id") and record.get("ingest_s") is not None:
            per_video[record["video_id"]] = max(per_video.get(record["video_id"], 0.0), record["ingest_s"])
    return {
        "videos": len(per_video),
        "seconds": sum(per_video.values()),
        "already_in_library": sum(seconds == 0 for seconds in per_video.values()),
    }


def _usage(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {"run": defaultdict(int), "blind": defaultdict(int)}
    for record in records:
        for name, usage in (("run", record.get("usage")), ("blind", (record.get("blind") or {}).get("usage"))):
            for key, value in (usage or {}).items():
                totals[name][key] += int(value)
    return {name: dict(values) for name, values in totals.items()}


def _latencies(records: Sequence[dict[str, Any]], summary: Mapping[str, Any]) -> tuple[list[float], dict[str, list[float]]]:
    """Seconds per answered item, overall and under the dataset's first bucket key."""
    answered = [r for r in records if not r.get("error") and r.get("latency_s") is not None]
    keys = summary["dataset"]["bucket_keys"]
    by_bucket: dict[str, list[float]] = defaultdict(list)
    if keys:
        for record in answered:
            values = record["buckets"].get(keys[0])
            for value in values if isinstance(values, list) else [values] if values is not None else []:
                by_bucket[f"{keys[0]}={value}"].append(record["latency_s"])
    return [r["latency_s"] for r in answered], dict(sorted(by_bucket.items()))


def _write_text(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)


# --- Markdown -----------------------------------------------------------------------------


def fraction(entry: Mapping[str, Any] | None, counted: bool = True) -> str:
    """ "70.6% (12/17)" for a run's entry, "70.6%" for an expected one (counted=False), "n/a" for none."""
    if not entry or entry.get("accuracy") is None:
        return "n/a"
    if counted:
        return f"{entry['accuracy']:.1%} ({_count(entry['correct'])}/{entry['count']})"
    return f"{entry['accuracy']:.1%}"


def overall(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The run's headline entry, in the shape of a bucket entry."""
    counts = summary["counts"]
    return {"accuracy": summary["accuracy"], "correct": counts["correct"], "count": counts["scored"]}


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render_markdown(summary: Mapping[str, Any], plots: Sequence[tuple[str, str]]) -> str:
    dataset, counts, run = summary["dataset"], summary["counts"], summary["run"]
    baselines = summary["baselines"]
    lines = [
        f"# Evaluation: {dataset['name']}",
        "",
        f"Dataset `{dataset['name']}` ({dataset['version']}), {counts['items']} items; "
        f"policy {', '.join(run['policy']) or 'n/a'}; VLM `{run['vlm']}`; "
        f"executor {run['executor']} x{run['workers']}; started {run['started']}.",
        "",
        "## Overall",
        "",
        *_table(
            ["", ""],
            [
                ["Accuracy", fraction(overall(summary))],
                *(
                    [
                        [
                            f"Macro accuracy over {summary['macro']['over']} ({summary['macro']['values']} values)",
                            f"{summary['macro']['accuracy']:.1%}",
                        ]
                    ]
                    if summary["macro"]
                    else []
                ),
                ["Abstained (no choice)", str(counts["abstained"])],
                ["Errors (counted as wrong; a rerun retries them)", str(counts["errors"])],
                ["Items with a span to find", str(counts["with_span"])],
                ["Items with nothing to score", str(counts["unscored"])],
            ],
        ),
        "",
        "## Baselines on the same items",
        "",
        *_baselines(summary),
    ]
    no_memory = baselines.get("no_memory")
    for key, values in summary["buckets"].items():
        blind = baselines["blind"]["buckets"].get(key, {})
        looked = no_memory["buckets"].get(key, {}) if no_memory else None
        expected = baselines["random"]["expected"]["buckets"].get(key, {})
        lines += ["", f"## Accuracy by {key}", ""]
        lines += _table(
            [key, "Longshot", *(["No memory"] if looked is not None else []), "Blind", "Random (expected, multiple choice)"],
            [
                [
                    value,
                    fraction(entry),
                    *([fraction(looked.get(value))] if looked is not None else []),
                    fraction(blind.get(value)),
                    fraction(expected.get(value), counted=False),
                ]
                for value, entry in values.items()
            ],
        )
    lines += _spans(summary["spans"], no_memory.get("spans") if no_memory else None)
    lines += _spans_by(summary.get("spans_by"), no_memory.get("spans_by") if no_memory else None)
    lines += _latency_lines(summary) + _usage_lines(summary["usage"])
    if summary["errors"]:
        lines += ["", "## Errors", "", *_table(["Item", "Error"], [[e["id"], e["error"][:200]] for e in summary["errors"]])]
    for title, name in plots:
        lines += ["", f"## {title}", "", f"![{title}]({name})"]
    return "\n".join(lines) + "\n"


def _baselines(summary: Mapping[str, Any]) -> list[str]:
    """The run beside its baselines; a macro column where the benchmark's headline is a macro mean."""
    baselines = summary["baselines"]
    expected, sampled = baselines["random"]["expected"], baselines["random"]["sampled"]
    no_memory = baselines.get("no_memory")
    rows = [
        ("Longshot", fraction(overall(summary)), summary),
        *([(f"No memory: {no_memory['source']}", fraction(no_memory), no_memory)] if no_memory else []),
        (f"Blind: {baselines['blind']['source']}", fraction(baselines["blind"]), baselines["blind"]),
        ("Random choice, expected", fraction(expected, counted=False), expected),
        (f"Random choice, one draw (seed {baselines['random']['seed']})", fraction(sampled), sampled),
    ]
    if not summary["macro"]:
        return _table(["Run", "Accuracy"], [[name, accuracy] for name, accuracy, _ in rows])
    return _table(
        ["Run", "Accuracy", f"Macro over {summary['macro']['over']}"],
        [[name, accuracy, _macro(entry)] for name, accuracy, entry in rows],
    )


def _macro(entry: Mapping[str, Any]) -> str:
    macro = entry.get("macro")
    return f"{macro['accuracy']:.1%}" if macro else "n/a"


def _spans(spans: Mapping[str, Any] | None, no_memory: Mapping[str, Any] | None = None) -> list[str]:
    if not spans:
        return []
    sides = [spans, *([no_memory] if no_memory else [])]
    rows = [
        ["Items with a gold span", *(str(s["count"]) for s in sides)],
        ["Spans predicted", *(str(s["predicted"]) for s in sides)],
    ]
    rows.append(["Mean IoU", *(_figure(s, "mean_iou", "{:.3f}") for s in sides)])
    rows += [[f"Recall at IoU >= {t}", *(_figure(s, f"recall@{t}", "{:.1%}") for s in sides)] for t in IOU_THRESHOLDS]
    rows.append(["Hit (prediction overlaps the gold span)", *(_figure(s, "hit", "{:.1%}") for s in sides)])
    return ["", "## Spans", "", *_table(["", "Longshot", *(["No memory"] if no_memory else [])], rows)]


def _spans_by(by: Mapping[str, Any] | None, no_memory: Mapping[str, Any] | None) -> list[str]:
    """Span IoU under the first bucket key, for the values that have gold spans (the "when" questions)."""
    if not by or not by.get("values"):
        return []
    rows = []
    for value, spans in by["values"].items():
        other = (no_memory or {}).get(value) or {}
        rows.append(
            [
                value,
                str(spans["count"]),
                _figure(spans, "mean_iou", "{:.3f}"),
                _figure(spans, "recall@0.3", "{:.1%}"),
                _figure(spans, "recall@0.5", "{:.1%}"),
                *([_figure(other, "mean_iou", "{:.3f}")] if no_memory is not None else []),
            ]
        )
    header = [by["key"], "Items", "Mean IoU", "R@0.3", "R@0.5", *(["No memory: mean IoU"] if no_memory is not None else [])]
    return ["", f"## Spans by {by['key']}", "", *_table(header, rows)]


def _figure(entry: Mapping[str, Any], key: str, form: str) -> str:
    return form.format(entry[key]) if entry.get(key) is not None else "n/a"


def _latency_lines(summary: Mapping[str, Any]) -> list[str]:
    latency, ingest = summary["latency"], summary["ingest"]
    rows = []
    if latency:
        rows += [
            [f"Per item, {name}", f"{latency[key]:.2f}"]
            for name, key in (("mean", "mean"), ("median", "p50"), ("90th percentile", "p90"), ("max", "max"))
        ]
    if ingest["videos"]:
        rows.append(
            [
                f"Ingest, all videos ({ingest['videos']}; {ingest['already_in_library']} already in the library)",
                f"{ingest['seconds']:.1f}",
            ]
        )
    return ["", "## Latency", "", *_table(["", "Seconds"], rows)] if rows else []


def _usage_lines(usage: Mapping[str, Mapping[str, int]]) -> list[str]:
    if not any(value for values in usage.values() for value in values.values()):
        return []
    rows = [
        [name, str(values.get("prompt_tokens", 0)), str(values.get("completion_tokens", 0))]
        for name, values in (("Longshot", usage["run"]), ("Blind", usage["blind"]))
    ]
    return ["", "## VLM tokens", "", *_table(["Run", "Prompt", "Completion"], rows)]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def cells(row: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |"

    return [cells(header), "|" + "---|" * len(header), *(cells(r) for r in rows)]
