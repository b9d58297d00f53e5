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

from perception.motion import Activity, CameraMotion, Observation, Stillness
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
# Sentences in set phrases, as this module writes them: a dot inside one is a decimal (12:06.5), the one
# that ends it is not; a clipped caption ends in "…". Motion's go; the others lose their times.
_END = r"[^.…]*(?:\.(?=\d)[^.…]*)*(?:\.|…+|$)\s*"
_MOTION = re.compile(r"(?:Activity: a |Camera: |No activity from \d)" + _END)
_TIMED = re.compile(rf"({SCENE_CHANGES}|{NOTHING} or known objects)\b" + _END)


@dataclass(frozen=True)
class SegmentEvidence:
    """What perception found in one base segment, before it becomes memory."""

    start: float
    end: float
    ocr_lines: tuple[str, ...]
    speech: tuple[str, ...]
    objects: tuple[str, ...]
    scene_changes: tuple[float, ...]
    motion: tuple[Observation, ...] = ()  # activity and camera runs that start in it, or the stillness over it


def offline_caption(evidence: SegmentEvidence) -> str:
    """A caption composed from on-screen text, speech, detections, motion and scene changes."""
    parts = []
    if evidence.ocr_lines:
        parts.append("On screen: " + "; ".join(f'"{line}"' for line in evidence.ocr_lines) + ".")
    if evidence.speech:
        parts.append("Speech: " + " ".join(evidence.speech))
    if evidence.objects:
        parts.append("Seen: " + ", ".join(evidence.objects) + ".")
    parts += [motion_sentence(o) for o in evidence.motion]
    if evidence.scene_changes:
        shown = ", ".join(format_time(t) for t in evidence.scene_changes[:3])
        more = len(evidence.scene_changes) - 3
        parts.append(f"{SCENE_CHANGES} at {shown}" + (f" and {more} more." if more > 0 else "."))
    return clip(" ".join(parts)) if parts else f"{NOTHING} or known objects at {format_span(evidence.start, evidence.end)}."


def motion_sentence(observation: Observation) -> str:
    """One caption sentence about motion, such as "Activity: a red region (12% of the frame) comes in
    from the left at 5:00 and stays 14 s, moving right." A run cut by the span's end "stays at least"."""
    if isinstance(observation, Stillness):
        return f"No activity from {format_time(observation.start)} to {format_time(observation.end)}."
    at_least = "at least " if observation.open_end else ""
    stays = f"stays {at_least}{max(1, round(observation.duration))} s"
    if observation.open_start:  # it was going on before its span began
        stays = f"going on, until {format_time(observation.end)}"
    else:
        stays = f"at {format_time(observation.start)} and {stays}"
    if isinstance(observation, CameraMotion):
        return f"Camera: {observation.text.split(' (')[0]} {stays}."
    assert isinstance(observation, Activity)
    colour = f"a {observation.colour} region" if observation.colour else "a region"
    share = f"{round(100 * observation.share)}% of the frame" if observation.share >= 0.005 else "under 1% of the frame"
    how, *rest = motion_phrase(observation).split(", ", 1)
    return f"Activity: {colour} ({share}) {how} {stays}" + "".join(f", {part}" for part in rest) + "."


def embedded_caption(caption: str) -> str:
    """The words of a caption worth its vector. Motion's sentences go: they are the same few phrases in every
    busy span, answered from the timeline's motion runs and still found by their words; embedded, they made
    MiniLM's work on a busy video three times what its text and speech need. Scene changes and "nothing
    here" lose their times, so every span that only says so shares one vector, embedded once."""
    return _TIMED.sub(lambda found: found[1] + ". ", _MOTION.sub("", caption)).strip()


def motion_phrase(activity: Activity) -> str:
    """How a region moved, in words without figures or times: "comes in from the left, moving right"."""
    if activity.entered and not activity.open_start:
        parts = [f"comes in from the {' and '.join(activity.entered)}"]
    else:
        parts = [f"moves in the {activity.where}"]
    parts += [f"moving {activity.direction}"] if activity.direction else []
    parts += [f"{activity.depth} the camera"] if activity.depth else []
    parts += [f"leaving at the {' and '.join(activity.exited)}"] if activity.exited and not activity.open_end else []
    return ", ".join(parts)


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
