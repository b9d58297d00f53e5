"""Captions for segments: from a VLM when one is configured, otherwise from what was read, heard and seen.

Offline captions are plain statements of the evidence, so search and answers built on them
quote the video rather than invent; a parent segment's caption is an extractive merge of
its children, so every coarser scale still says only what the video said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from perception.timefmt import format_span, format_time
from perception.vlm.messages import ImagePart, Message

CAPTION_PROMPT = (
    "You are watching {span} of a video. Describe what happens in one or two factual sentences: "
    "who or what is visible, actions, and any on-screen text. Do not speculate."
)
SUMMARY_PROMPT = (
    "Summarise these consecutive descriptions of {span} of a video in two or three factual sentences, "
    "keeping names, numbers and on-screen text exactly:\n{children}"
)
MAX_CAPTION_CHARS = 600
SCENE_CHANGES = "Scene changes"
NOTHING = "No text, speech"


@dataclass(frozen=True)
class SegmentEvidence:
    """What perception found in one base segment, before it becomes memory."""

    start: float
    end: float
    ocr_lines: tuple[str, ...]
    speech: tuple[str, ...]
    objects: tuple[str, ...]
    scene_changes: tuple[float, ...]


def offline_caption(evidence: SegmentEvidence) -> str:
    """A caption composed from on-screen text, speech, detections and scene changes."""
    parts = []
    if evidence.ocr_lines:
        parts.append("On screen: " + "; ".join(f'"{line}"' for line in evidence.ocr_lines) + ".")
    if evidence.speech:
        parts.append("Speech: " + " ".join(evidence.speech))
    if evidence.objects:
        parts.append("Seen: " + ", ".join(evidence.objects) + ".")
    if evidence.scene_changes:
        shown = ", ".join(format_time(t) for t in evidence.scene_changes[:3])
        more = len(evidence.scene_changes) - 3
        parts.append(f"{SCENE_CHANGES} at {shown}" + (f" and {more} more." if more > 0 else "."))
    return clip(" ".join(parts)) if parts else f"{NOTHING} or known objects at {format_span(evidence.start, evidence.end)}."


def merge_captions(captions: Sequence[str]) -> str:
    """Extractive summary of children: what they read, heard and saw, each sentence once and in
    order, then how many of them show scene changes; bounded in length. What was said and shown
    comes first, so clipping a long span drops scene changes, never those words."""
    seen: set[str] = set()
    kept: list[str] = []
    changing = 0
    for caption in captions:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", caption.strip()) if s]
        changing += any(s.startswith(SCENE_CHANGES) for s in sentences)
        for sentence in sentences:
            key = sentence.lower()
            if key not in seen and not sentence.startswith((SCENE_CHANGES, NOTHING)):
                seen.add(key)
                kept.append(sentence)
    if changing:
        kept.append(f"{SCENE_CHANGES} in {changing} of {len(captions)} parts.")
    return clip(" ".join(kept)) if kept else f"{NOTHING} or known objects."


def clip(text: str, limit: int = MAX_CAPTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def vlm_caption(vlm, frames: np.ndarray, times: Iterable[float], evidence: SegmentEvidence) -> str:
    """Ask the VLM to describe a segment; its frames go with their timestamps, its text as context."""
    context = offline_caption(evidence)
    content: list = [CAPTION_PROMPT.format(span=format_span(evidence.start, evidence.end))]
    content += [ImagePart(frame, timestamp=float(t)) for frame, t in zip(frames, times)]
    content.append("Heard and read in this span: " + context)
    return clip(vlm.chat([Message("user", tuple(content))]).text.strip()) or context


def vlm_summary(vlm, start: float, end: float, captions: Sequence[str]) -> str:
    children = "\n".join(f"- {c}" for c in captions)
    prompt = SUMMARY_PROMPT.format(span=format_span(start, end), children=children)
    return clip(vlm.chat([Message("user", (prompt,))]).text.strip()) or merge_captions(captions)
