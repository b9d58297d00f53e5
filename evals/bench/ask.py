"""`longshot bench ask`: answering on a long memory, against answering with no memory at all.

On the needle set (evals/needle.py: real footage, speech and notices at known times), the
offline policy answers every question from the library, timed per question; a no-memory
baseline, measured in the same run, decodes N frames sampled uniformly from the video with
`perception.video`, reads them (OCR) and transcribes a short audio window around each
(the audio it would hear at those moments), then answers with the same scorer (the offline
policy's answer step over that evidence). Both run in child processes, each reporting its
peak RSS. A baseline has nothing to keep between questions, so its latency per question is
the time to look at the video once plus its scoring; it is measured once and charged to
every question, rather than redone per question.

Latency figures are for a warm process (models loaded, which is reported apart), the way
a server answers; `seconds_by_action` says where a question's time goes.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from app import Answer, Longshot
from app.agent import AgentState
from app.policies import OfflinePolicy
from evals.bench.common import CACHE_DIR, measure_in_child, print_figures
from evals.datasets.base import DatasetError, Item
from evals.metrics import span_overlaps
from evals.needle import build_needle
from evals.no_memory import look_uniformly
from perception.config import load_config
from perception.models import Models

BARS = {"when": 0.8, "choice+order": 0.9}  # the bars: "when" spans overlapping, and the rest correct


def run(
    minutes: float = 30, frames: int = 32, seed: int = 0, root: str | Path | None = None, torch_threads: int | None = None
) -> dict[str, Any]:
    """Build (or reuse) the needle set and its library, then time both ways of answering.

    `torch_threads` sets torch's intra-op threads in the answering processes (default: torch's
    own choice, one per core); on a busy machine one thread embeds a short query many times faster.
    """
    root = Path(root) if root is not None else CACHE_DIR / "ask"
    needle = build_needle(_needle_folder(root, minutes, seed), minutes=minutes, seed=seed)
    home = root / "home"
    ingest = measure_in_child(ingest_needle, str(needle.video), str(home))
    memory = measure_in_child(ask_with_memory, str(home), ingest["video"], minutes, seed, str(root), torch_threads)
    blind = measure_in_child(ask_without_memory, minutes, seed, str(root), frames, torch_threads)
    return {
        "video_minutes": needle.duration / 60,
        "questions": len(needle.items),
        "ingest_s": ingest["seconds"],
        "ingest_reused": ingest["already_done"],
        "torch_threads": memory["torch_threads"],
        "memory": _side(memory),
        "baseline": {**_side(blind), "frames": frames, "look_s": blind["look_s"]},
        "bars": BARS,
    }


def _side(result: dict[str, Any]) -> dict[str, Any]:
    records = result["records"]
    latencies = [r["seconds"] for r in records]
    return {
        "accuracy": accuracy(records),
        "median_s": statistics.median(latencies),
        "p95_s": float(np.percentile(latencies, 95)),
        "warmup_s": result["warmup_s"],
        "rss_peak_mb": result["rss_peak_mb"],
        "seconds_by_action": result.get("seconds_by_action", {}),
        "records": records,
    }


# --- the two sides, each run in a child process -------------------------------------------


def ingest_needle(video: str, home: str) -> dict[str, Any]:
    """Ingest the needle video into `home` with the default offline stack (nothing when done before)."""
    result = Longshot(home=home).ingest(video)
    return {"seconds": result.seconds, "already_done": result.already_done, "video": result.video.id}


def ask_with_memory(home: str, video: str, minutes: float, seed: int, root: str, threads: int | None = None) -> dict[str, Any]:
    """Every question through the offline policy on the ingested memory, timed one by one."""
    threads = _threads(threads)
    needle = build_needle(_needle_folder(Path(root), minutes, seed), minutes=minutes, seed=seed)
    longshot = Longshot(home=home)
    started = time.perf_counter()
    longshot.models.text_embedder.embed(["warm up"])
    warmup = time.perf_counter() - started
    records = answer_items(longshot, video, needle.items)
    by_action: dict[str, list[float]] = defaultdict(list)
    for record in records:
        for action, seconds in record.pop("actions").items():
            by_action[action].append(seconds)
    medians = {action: statistics.median(seconds) for action, seconds in by_action.items()}
    return {"records": records, "warmup_s": warmup, "seconds_by_action": medians, "torch_threads": threads}


def ask_without_memory(minutes: float, seed: int, root: str, frames: int, threads: int | None = None) -> dict[str, Any]:
    """Look at `frames` uniformly sampled moments (OCR, and speech around each), then answer every question from them."""
    _threads(threads)
    needle = build_needle(_needle_folder(Path(root), minutes, seed), minutes=minutes, seed=seed)
    started = time.perf_counter()
    models = Models(load_config())
    _ = models.ocr, models.speech  # load now: loading is warm-up, not a question's time
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    evidence = look_uniformly(needle.video, frames, models)
    look = time.perf_counter() - started
    policy = OfflinePolicy()
    records = []
    for item in needle.items:
        started = time.perf_counter()
        state = AgentState(item.question, item.options, None, 0, [], needle.duration)
        state.evidence.extend(evidence)
        args = policy.force_answer(state).args
        scoring = time.perf_counter() - started
        span = tuple(args["span"]) if args.get("span") else None
        records.append(_record(item, args.get("choice"), span, look + scoring))
    return {"records": records, "warmup_s": warmup, "look_s": look}


# --- asking and judging, shared with the tests ---------------------------------------------


def answer_items(longshot: Longshot, video: str, items: Iterable[Item]) -> list[dict[str, Any]]:
    """Ask each item, timing it, and judge the answer."""
    records = []
    for item in items:
        started = time.perf_counter()
        answer = longshot.ask(video, item.question, item.options or None)
        record = _record(item, answer.choice, answer.span, time.perf_counter() - started)
        records.append({**record, "actions": seconds_by_action(answer)})
    return records


def judge(item: Item, choice: str | None, span: tuple[float, float] | None) -> bool:
    """A "when" answer is right when its span overlaps the truth; any other when it picks the answer letter."""
    if item.buckets.get("kind") == "when":
        if item.answer_span is None:
            raise DatasetError(f"item {item.id} asks when, but the set gives no answer span to judge it by")
        return span is not None and span_overlaps(span, item.answer_span)
    return choice is not None and choice == item.answer


def accuracy(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Share correct per kind, and over choice and order questions together (the issue's bar)."""
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for record in records:
        by_kind[record["kind"]].append(record["correct"])
        if record["kind"] in ("choice", "order"):
            by_kind["choice+order"].append(record["correct"])
    return {kind: sum(values) / len(values) for kind, values in sorted(by_kind.items())}


def seconds_by_action(answer: Answer) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for step in answer.trace:
        totals[step.action] += step.seconds
    totals["other"] = max(0.0, answer.seconds - sum(totals.values()))
    return dict(totals)


def _record(item: Item, choice: str | None, span, seconds: float) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.buckets["kind"],
        "correct": judge(item, choice, span),
        "choice": choice,
        "span": list(span) if span else None,
        "seconds": seconds,
    }


def _threads(threads: int | None) -> int:
    """Set torch's intra-op threads when asked; the number in use."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def _needle_folder(root: Path, minutes: float, seed: int) -> Path:
    return root / f"needle-{minutes:g}min-seed{seed}"


# --- printing --------------------------------------------------------------------------------


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    memory, baseline = figures["memory"], figures["baseline"]
    rows = {
        "video": f"{figures['video_minutes']:.0f} min needle set, {figures['questions']} questions",
        "ingest": "reused" if figures["ingest_reused"] else f"{figures['ingest_s']:.0f} s",
        "torch threads": figures["torch_threads"],
    }
    for kind in sorted(set(memory["accuracy"]) | set(baseline["accuracy"])):
        rows[f"accuracy {kind} (memory / {baseline['frames']} frames)"] = (
            f"{memory['accuracy'].get(kind, 0):.0%} / {baseline['accuracy'].get(kind, 0):.0%}"
        )
    for name in ("median_s", "p95_s", "warmup_s", "rss_peak_mb"):
        rows[f"{name} (memory / baseline)"] = f"{memory[name]:.3g} / {baseline[name]:.3g}"
    rows["baseline look once"] = f"{baseline['look_s']:.1f} s"
    for action, seconds in sorted(memory["seconds_by_action"].items(), key=lambda pair: -pair[1]):
        rows[f"memory median s in {action}"] = round(seconds, 4)
    print_figures("bench ask: offline policy on memory vs. uniform frames, no memory", rows, file)
