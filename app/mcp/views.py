"""What the MCP tools send back: plain JSON for videos, answers and moments, and images as JPEG or PNG bytes.

An agent host reads these as tool results, so every moment carries its seconds and the
same `M:SS` text as the rest of Longshot, and evidence frames travel as images the host's
model can look at.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.answer import Answer, Evidence
from memory.episodic import Segment
from memory.semantic import Fact
from memory.store import VideoRecord
from memory.timeline import Occurrence
from perception.timefmt import format_span, format_time

MAX_EVIDENCE = 8
MAX_TEXT = 600


def video_view(record: VideoRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "duration": record.duration,
        "length": format_time(record.duration),
        "status": record.status,
        "ingested_until": record.committed_until,
    }


def moment(start: float, end: float) -> dict[str, Any]:
    return {"start": start, "end": end, "at": format_span(start, end)}


def evidence_view(item: Evidence) -> dict[str, Any]:
    return {"kind": item.kind, **moment(item.start, item.end), "text": item.text[:MAX_TEXT], "score": round(item.score, 3)}


def answer_view(answer: Answer) -> dict[str, Any]:
    """The answer, its moment, the evidence with times, and the steps taken (with their notes)."""
    return {
        "answer": answer.text,
        "choice": answer.choice,
        "span": moment(*answer.span) if answer.span else None,
        "abstained": answer.abstained,
        "evidence": [evidence_view(e) for e in answer.evidence[:MAX_EVIDENCE]],
        "steps": [f"{s.action}: {s.summary}" for s in answer.trace],
        "policy": answer.policy,
        "seconds": round(answer.seconds, 3),
    }


def segment_view(segment: Segment) -> dict[str, Any]:
    return {"scale": segment.scale, **moment(segment.start, segment.end), "text": segment.text[:MAX_TEXT]}


def fact_view(fact: Fact) -> dict[str, Any]:
    return {"fact": fact.text, **moment(fact.start, fact.end), "source": fact.source}


def event_view(occurrence: Occurrence) -> dict[str, Any]:
    """One timeline occurrence: what was perceived (speech, text, scene, object, caption, subtitle) at its own times."""
    return {"modality": occurrence.modality, **moment(occurrence.start, occurrence.end), "text": occurrence.text[:MAX_TEXT]}


def jpeg(pixels: np.ndarray, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def sketch_paths(answer: Answer) -> list[Path]:
    """The sketches drawn for an answer, in the order drawn (each saved as a PNG)."""
    return [Path(e.image_path) for step in answer.trace for e in step.evidence if e.image_path and Path(e.image_path).is_file()]
