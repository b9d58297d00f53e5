"""results.jsonl: one JSON line per finished item, appended and fsynced as each one finishes.

A line holds the item itself (question, options, answer, span, buckets), so a report can be
rendered again from the file alone, and what the run produced for it (choice, span, text,
compact evidence and trace, latency, token counts, and what the blind and no-memory baselines said). A run that
is killed leaves at most one torn last line; `ResultsLog.resume` drops it, and drops lines
that recorded an error, so a rerun does those items again and each id keeps one line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from evals.datasets.base import Item
from evals.grading import truth_from_dict, truth_to_dict
from evals.metrics import Result

RESULTS_NAME = "results.jsonl"
TEXT_CHARS = 240  # evidence texts and step summaries are cut to this; the full answer text is kept


def item_fields(item: Item) -> dict[str, Any]:
    """What a line says about the item, enough to rebuild it with `item_from_record`."""
    return {
        "id": item.id,
        "question": item.question,
        "options": list(item.options),
        "answer": item.answer,
        "answer_span": list(item.answer_span) if item.answer_span is not None else None,
        "truth": truth_to_dict(item.truth) if item.truth is not None else None,
        "buckets": {k: list(v) if isinstance(v, tuple) else v for k, v in item.buckets.items()},
        "video": str(item.video) if item.video is not None else None,
        "images": [str(p) for p in item.images],
    }


def item_from_record(record: dict[str, Any]) -> Item:
    span = record.get("answer_span")
    return Item(
        id=record["id"],
        question=record["question"],
        video=Path(record["video"]) if record.get("video") else None,
        images=tuple(Path(p) for p in record.get("images") or ()),
        options=tuple(record.get("options") or ()),
        answer=record.get("answer"),
        answer_span=(float(span[0]), float(span[1])) if span else None,
        truth=truth_from_dict(record["truth"]) if record.get("truth") else None,
        buckets={k: tuple(v) if isinstance(v, list) else v for k, v in (record.get("buckets") or {}).items()},
    )


def result_from_record(record: dict[str, Any], item: Item | None = None) -> Result:
    """The run's `Result` for one line, for the metrics."""
    span = record.get("span")
    return Result(
        item=item or item_from_record(record),
        choice=record.get("choice"),
        span=(float(span[0]), float(span[1])) if span else None,
        text=record.get("text") or "",
        error=record.get("error"),
    )


def baseline_from_record(record: dict[str, Any], name: str, item: Item | None = None) -> Result:
    """A baseline's `Result` for one line: "blind" or "no_memory" (no choice, text or span where it gave none)."""
    return result_from_record(record.get(name) or {}, item or item_from_record(record))


def compact_evidence(evidence) -> list[dict[str, Any]]:
    """Evidence as short JSON: what, when, how strong, the first frames, and a cut text."""
    return [
        {
            "kind": e.kind,
            "start": round(e.start, 2),
            "end": round(e.end, 2),
            "score": round(float(e.score), 3),
            "text": e.text[:TEXT_CHARS],
            "frames": [f.index for f in e.frames[:8]],
            **({"scale": e.scale} if e.scale is not None else {}),
            **({"image": e.image_path} if e.image_path else {}),
        }
        for e in evidence
    ]


def compact_trace(trace) -> list[dict[str, Any]]:
    """Each step as its action, arguments, a cut summary, time taken and error."""
    return [
        {
            "action": step.action,
            "args": json.loads(json.dumps(step.args, default=str)),
            "summary": step.summary[:TEXT_CHARS],
            "seconds": round(step.seconds, 3),
            "evidence": len(step.evidence),
            **({"error": step.error} if step.error else {}),
        }
        for step in trace
    ]


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every complete line of a results file, the last line per id winning; a torn tail is ignored."""
    by_id: dict[str, dict[str, Any]] = {}
    for record in _complete_lines(Path(path)):
        by_id[record["id"]] = record
    return list(by_id.values())


def _complete_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                return  # the write a kill interrupted
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                yield record


class ResultsLog:
    """The append-only results file of one run folder."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / RESULTS_NAME
        self._handle: BinaryIO | None = None

    def resume(self) -> dict[str, dict[str, Any]]:
        """The finished records by id, after rewriting the file without a torn tail or failed items."""
        records = {r["id"]: r for r in _complete_lines(self.path)}
        finished = {key: r for key, r in records.items() if not r.get("error")}
        if self.path.exists() and self.path.read_bytes() != self._encode(finished.values()):
            temp = self.path.with_name(self.path.name + ".tmp")
            with temp.open("wb") as handle:
                handle.write(self._encode(finished.values()))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        return finished

    def append(self, record: dict[str, Any]) -> None:
        """Write one line and make it durable before the item counts as done."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("ab")
        self._handle.write(self._encode([record]))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @staticmethod
    def _encode(records) -> bytes:
        return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)
