"""What a span adds to the event timeline (memory/timeline.py), and the exact spans facts take from it.

Each utterance, run of on-screen text, scene change, detection run, activity, camera motion,
stillness, VLM caption and subtitle cue of a span becomes an occurrence at its own times. Pure functions of the span's results:
a resumed run writes exactly the occurrences an uninterrupted one did, and a run of text or
detections still going at the span's end is continued by the next span's commit.

Offline captions are not occurrences: they only restate the span's text, speech and scene
changes, which are occurrences already, and would count every notice twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from memory.compose import SegmentEvidence, offline_caption
from memory.episodic import SegmentDraft
from memory.ingest.motion import motion_occurrences
from memory.ingest.perceive import Findings
from memory.ingest.spans import EPSILON, Span
from memory.screen_text import text_runs
from memory.semantic import Candidate
from memory.timeline import Occurrence, OccurrenceDraft, normalised
from perception.subtitles import Cue
from perception.utterances import Utterance

SCENE_CHANGE = "scene change"
_MODALITY_OF_SOURCE = {"ocr": ("text",), "speech": ("speech", "subtitle"), "detector": ("object",)}
EPSILON_MS = 1e-3  # seconds: the timeline stores times to the millisecond


def cues_in(span: Span, cues: Sequence[Cue], duration: float) -> list[Cue]:
    """The cues that start in the span; the video's last span also takes those that start after its end."""
    last = span.end >= duration - EPSILON
    return [c for c in cues if span.start - EPSILON <= c.start and (last or c.start < span.end - EPSILON)]


def span_occurrences(
    span: Span,
    times: np.ndarray,
    size: tuple[int, int],
    found: Findings,
    evidence: Sequence[SegmentEvidence],
    drafts: Sequence[SegmentDraft],
    cues: Sequence[Cue],
) -> list[OccurrenceDraft]:
    """Everything a span perceived, at its own times: `times` and `size` (width, height) are those of
    its frames, `evidence` and `drafts` its base segments', `cues` its subtitles (`cues_in`)."""
    occurrences = [utterance_occurrence(u) for u in found.utterances]
    occurrences += [OccurrenceDraft("subtitle", c.start, c.end, c.text) for c in cues]
    occurrences += text_runs(found.lines, times, span.start, span.end, size) if found.lines else []
    occurrences += [OccurrenceDraft("scene", t, t, SCENE_CHANGE) for item in evidence for t in item.scene_changes]
    occurrences += detection_runs(span, found.detections)
    occurrences += motion_occurrences(found.motion)
    occurrences += [
        OccurrenceDraft("caption", d.start, d.end, d.caption, {"scale": d.scale})
        for d, item in zip(drafts, evidence)
        if d.caption != offline_caption(item)
    ]
    return occurrences


def utterance_occurrence(utterance: Utterance) -> OccurrenceDraft:
    words = [[round(w.start, 3), round(w.end, 3), w.text] for w in utterance.words]
    return OccurrenceDraft("speech", utterance.start, utterance.end, utterance.text, {"words": words} if words else {})


def detection_runs(span: Span, detections: Sequence[tuple[float, tuple[str, ...]]]) -> list[OccurrenceDraft]:
    """Each label's runs over consecutive base segments whose keyframe shows it, from the first
    segment's start to the last one's end (a segment is as fine as detections are taken)."""
    segments = span.segment_of(np.array([t for t, _ in detections], np.float64)).tolist() if detections else []
    runs: dict[str, list[list[int]]] = {}
    for j, (_, labels) in zip(segments, detections):
        for label in dict.fromkeys(labels):
            spans = runs.setdefault(label, [])
            if spans and spans[-1][1] == j - 1:
                spans[-1][1] = j
            else:
                spans.append([j, j])
    found = [
        OccurrenceDraft("object", span.segments[first][0], span.segments[last][1], label, {"segments": last - first + 1})
        for label, spans in runs.items()
        for first, last in spans
    ]
    return sorted(found, key=lambda o: (o.start, o.text))


def exact_spans(candidates: Sequence[Candidate], occurrences: Sequence[Occurrence]) -> list[Candidate]:
    """Facts read, heard or detected carry the times of the occurrence that states them (the text run,
    the utterance, the detection run) rather than their segment's; motion facts, the times of the whole
    run their piece of it joined; others keep their segment's."""
    timed = []
    for candidate in candidates:
        if candidate.source == "motion":
            runs = (o for o in occurrences if o.modality == candidate.kind and o.start - EPSILON_MS <= candidate.start <= o.end)
            run = next(runs, None)
            timed.append(candidate if run is None else replace(candidate, start=run.start, end=run.end))
            continue
        said = normalised(candidate.object)
        source = next(
            (
                o
                for o in occurrences
                if o.modality in _MODALITY_OF_SOURCE.get(candidate.source, ())
                and o.start <= candidate.end
                and o.end >= candidate.start
                and said
                and said in normalised(o.text)
            ),
            None,
        )
        timed.append(candidate if source is None else replace(candidate, start=source.start, end=source.end))
    return timed
