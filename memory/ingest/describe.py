"""Captions, summaries and facts of segments: from the VLM while it works, offline otherwise.

Every VLM call has the offline result as its fallback, so a failing VLM costs words, never
a segment. The VLM guard decides when to stop asking; an ingest of a long video rides
out a passing outage, so it gives up after INGEST_PATIENCE failures in a row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from memory.compose import SegmentEvidence, merge_captions, offline_caption, vlm_caption, vlm_summary
from memory.extract import vlm_candidates
from memory.ingest.tracker import IngestTracker
from memory.semantic import Candidate
from perception.errors import LongshotError
from perception.models import Models
from perception.vlm.guard import VLMGuard

T = TypeVar("T")

INGEST_PATIENCE = 3  # VLM failures in a row after which the rest of the video is done offline


class Describer:
    """Words for segments; `models` None (or without a VLM) describes everything offline."""

    def __init__(self, models: Models | None, tracker: IngestTracker):
        self.models = models if models is not None and models.available("vlm") else None
        self.tracker = tracker
        self.guard = VLMGuard(give_up_after=INGEST_PATIENCE)

    def caption(self, item: SegmentEvidence, frames: np.ndarray, times: np.ndarray) -> str:
        """A base segment's caption, the VLM seeing `frames` (taken at `times`) when there are any; a model that
        cannot see would only restate the offline caption, so it is not asked."""
        offline = offline_caption(item)
        if self.models is None or not len(frames) or not self.models.vlm.vision:
            return offline
        models = self.models
        return self._ask("caption", item.start, lambda: vlm_caption(models.vlm, frames, times, item), offline)

    def facts(self, caption: str, item: SegmentEvidence) -> list[Candidate]:
        """The VLM's facts about a segment (asked before the commit, so no network call holds the write
        lock); their segment ids are set once the segment has one."""
        if self.models is None:
            return []
        models = self.models
        return self._ask("facts", item.start, lambda: vlm_candidates(models.vlm, caption, item, 0), [])

    def summary(self, start: float, end: float, captions: Sequence[str]) -> str:
        """A parent segment's caption from its children's."""
        offline = merge_captions(captions)
        if self.models is None:
            return offline
        models = self.models
        return self._ask("summary", start, lambda: vlm_summary(models.vlm, start, end, captions), offline)

    def _ask(self, kind: str, at: float, call: Callable[[], T], fallback: T) -> T:
        if not self.guard.allows(kind):
            return fallback
        try:
            result = call()
        except LongshotError as err:
            self.tracker.warn(f"VLM {kind} at {at:.0f} s failed, used the offline result: {err}")
            gave_up = self.guard.failed(kind, err)
            if gave_up:
                self.tracker.warn(f"{gave_up}; the rest of this video is done offline")
            return fallback
        self.guard.succeeded(kind)
        return result
