"""The no-memory baseline: answer from a few uniformly sampled moments of the video instead of the memory.

It decodes NO_MEMORY_FRAMES frames spread evenly over the video, reads them (OCR), and
transcribes a short window of audio around each (what it would hear at those moments);
then the offline policy answers from that evidence alone, with the same scorer as a real
run. What it looked at is the same for every question of a video, so it is gathered once
per video and kept (a few videos' worth) for the questions that follow.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from app import Evidence
from app.agent import AgentState
from app.policies import OfflinePolicy
from perception.models import Models
from perception.video import VideoReader, probe, read_audio

NO_MEMORY_FRAMES = 32
AUDIO_WINDOW_S = 4.0  # audio transcribed around each sampled frame
_KEPT_VIDEOS = 4
_looked: OrderedDict[tuple[str, int], tuple[list[Evidence], float]] = OrderedDict()


def look_uniformly(video: Path, count: int, models: Models) -> list[Evidence]:
    """One evidence item per sampled moment: the text read on its frame and heard around it."""
    duration = probe(video).duration
    times = (np.arange(count) + 0.5) * duration / count
    with VideoReader(video, max_side=448) as reader:
        batch = reader.frames_at(times.tolist())
    evidence = []
    for frame, t in zip(batch.frames, batch.times):
        lines = [box.text for box in models.ocr.read(frame) if box.score >= 0.6]
        start, end = max(0.0, t - AUDIO_WINDOW_S / 2), min(duration, t + AUDIO_WINDOW_S / 2)
        heard = [u.text for u in models.speech.transcribe(read_audio(video, start, end), offset=start)]
        text = "; ".join(lines) + (" Speech: " + " ".join(heard) if heard else "")
        evidence.append(Evidence("frame", float(t), float(t), text or "nothing read or heard", 1.0, key=f"frame:{t:.3f}"))
    return evidence


def answer_without_memory(
    video: Path, question: str, options: tuple[str, ...], models: Models, frames: int = NO_MEMORY_FRAMES
) -> dict[str, Any]:
    """The offline policy's answer from `frames` uniformly sampled moments: choice, text and span."""
    key = (str(video), frames)
    if key not in _looked:
        _looked[key] = (look_uniformly(video, frames, models), probe(video).duration)
        while len(_looked) > _KEPT_VIDEOS:
            _looked.popitem(last=False)
    _looked.move_to_end(key)
    evidence, duration = _looked[key]
    state = AgentState(question, options, None, 0, [], duration)
    state.evidence.extend(evidence)
    args = OfflinePolicy().force_answer(state).args
    span = args.get("span")
    return {"choice": args.get("choice"), "text": args.get("text") or "", "span": list(span) if span else None}
