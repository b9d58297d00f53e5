"""Perception of one span: on-screen text, speech, detections and motion, run side by side in a
thread pool while the main thread stores the frames. Their native code releases the GIL; motion's
job only shrinks the frames and hands them to a process of its own (perception.motion.process),
since its many small calls would pass the GIL to and fro.

Each job is a function of its span's frames and audio alone (motion also sees the previous
span's last frame), so the pool's timing never changes what is found. A model that turns out
unusable is warned about once and left out for the rest of the run. One more kind of finding is one more field of `Findings`, one
more job method, and one more entry in the table of jobs in `Perceiver.__init__`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from memory.ingest.motion import FramesAt, Previous, span_motion
from memory.ingest.spans import Span
from memory.ingest.tracker import IngestTracker
from memory.screen_text import Line, ScreenText
from perception.errors import LongshotError, ModelUnavailableError
from perception.models import Models
from perception.motion import MotionProcess, Observation
from perception.utterances import SAMPLE_RATE, SpanSpeech, Utterance, audio_window, hear_span
from perception.video import FrameBatch, read_audio

T = TypeVar("T")

ROLES = ("ocr", "speech", "detector")
# Spans in perception at once: the one being committed, and the two decoded after it, so the pool
# has the next span's work while the main thread commits. On the 10-min needle video, only one
# thread wanted a core 25% of the time with two in flight, 16% with three.
IN_FLIGHT = 3
# One per job of the spans in flight (each role's, and motion's); the OCR engines and speech
# replicas serve two of them side by side, and a third span's job waits for one to come free.
WORKERS = IN_FLIGHT * (len(ROLES) + 1)

Job = Callable[[Span, FrameBatch, Previous], Any]  # a span, its frames, and the previous span's last frame


@dataclass(frozen=True)
class Findings:
    """What perception found in one span; a kind whose model is off stays empty."""

    lines: tuple[tuple[Line, ...], ...] = ()  # the text lines on each frame of the batch, in frame order
    utterances: tuple[Utterance, ...] = ()  # those that start in the span, whole
    detections: tuple[tuple[float, tuple[str, ...]], ...] = ()  # (time, labels) of one keyframe per segment
    motion: tuple[Observation, ...] = ()  # activity, camera motion and stillness, in time order


class Perceiver:
    """Runs the perception jobs of each span with the models of `roles` that load."""

    def __init__(
        self,
        models: Models,
        roles: set[str],
        ocr_threshold: float,
        path: Path,
        tracker: IngestTracker,
        motion: MotionProcess | None = None,
        extra_frames: FramesAt | None = None,
    ):
        """Loads its models up front, so stage times are the work alone. `motion` analyses each span's
        motion (None: no motion); `extra_frames` decodes the extra frames it asks for (None: none)."""
        self.models = models
        self.path = path
        self.tracker = tracker
        self.audio_asked = 0.0  # seconds of audio asked for, and decoded
        self.audio_decoded = 0.0
        self._disabled: set[str] = set()
        self._lock = threading.Lock()
        self.motion = motion
        self.extra_frames = extra_frames
        # One model's share, like every model's: OpenCV splitting a small frame's resize across cores
        # that the other jobs keep busy waits for them.
        cv2.setNumThreads(models.config.models.cpu_threads)
        with tracker.timed("load"):
            self.roles = {role for role in ROLES if role in roles and self._loads(role)}
        self.screen_text = ScreenText(models.ocr, ocr_threshold) if "ocr" in self.roles else None
        jobs: dict[str, tuple[str, str, Job]] = {  # Findings field: (role, pipeline stage, job)
            "lines": ("ocr", "ocr", self._read),
            "utterances": ("speech", "speech", self._hear),
            "detections": ("detector", "detect", self._detect),
            "motion": ("motion", "motion", self._move),
        }
        roles = self.roles | ({"motion"} if motion is not None else set())
        self.jobs = {name: (stage, job) for name, (role, stage, job) in jobs.items() if role in roles}

    @property
    def stages(self) -> list[str]:
        """The pipeline stages of the jobs that run, in pipeline order."""
        return [stage for stage, _ in self.jobs.values()]

    def submit(
        self, pool: ThreadPoolExecutor, span: Span, batch: FrameBatch, previous: Previous = None
    ) -> Callable[[], Findings]:
        """Start every job of a span in `pool`; the call returned waits for them and raises what they raised.
        `previous` is the previous span's last frame and its time (None for the first span)."""
        futures = {name: pool.submit(self._run, stage, job, span, batch, previous) for name, (stage, job) in self.jobs.items()}
        return lambda: Findings(**{name: tuple(future.result()) for name, future in futures.items()})

    def guarded(self, role: str, call: Callable[[], T], fallback: T) -> T:
        """A model call; a model that turns out unusable is warned about once and left out from then on."""
        if role in self._disabled:
            return fallback
        try:
            return call()
        except ModelUnavailableError as err:
            with self._lock:
                first = role not in self._disabled
                self._disabled.add(role)
            if first:
                self.tracker.warn(f"{role} could not be used, so this video has none: {err}")
            return fallback

    def counts(self) -> dict[str, int]:
        """The OCR gate's looks and full reads so far."""
        return {} if self.screen_text is None else {"ocr_looks": self.screen_text.looks, "ocr_reads": self.screen_text.reads}

    def _run(self, stage: str, job: Job, span: Span, batch: FrameBatch, previous: Previous) -> Any:
        with self.tracker.timed(stage):
            found = job(span, batch, previous)
        self.tracker.advance(stage, span.end)
        return found

    def _loads(self, role: str) -> bool:
        return self.guarded(role, lambda: self._model(role), None) is not None

    def _model(self, role: str) -> Any:
        return getattr(self.models, role)

    def _read(self, span: Span, batch: FrameBatch, previous: Previous) -> list[tuple[Line, ...]]:
        screen_text = self.screen_text
        assert screen_text is not None  # the job runs only with an OCR model
        return self.guarded("ocr", lambda: screen_text.lines(batch.frames, batch.times), [()] * len(batch))

    def _hear(self, span: Span, batch: FrameBatch, previous: Previous) -> list[Utterance]:
        """The utterances that start in the span, heard whole in the span's audio window (see
        perception.utterances); Whisper hears only its loud stretch, and a silent span costs nothing."""
        self.tracker.count("speech_spans")
        first, last = audio_window(span.start, span.end)
        try:
            samples = read_audio(self.path, first, last)
        except LongshotError as err:
            self.tracker.warn(f"audio {span.start:.0f}-{span.end:.0f} s could not be decoded, so no speech there: {err}")
            return []
        heard_until = first + samples.size / SAMPLE_RATE
        with self._lock:
            self.audio_asked += span.end - span.start
            self.audio_decoded += max(0.0, min(span.end, heard_until) - span.start)
        speech = self._model("speech")
        heard = self.guarded("speech", lambda: hear_span(speech, samples, first, span.start, span.end), SpanSpeech())
        if heard.heard_s:
            self.tracker.count("speech_seconds", round(heard.heard_s))
        return list(heard.utterances)

    def _detect(self, span: Span, batch: FrameBatch, previous: Previous) -> list[tuple[float, tuple[str, ...]]]:
        """Detections on one keyframe per segment: enough to say what appears, cheap enough to run always."""
        found: list[tuple[float, tuple[str, ...]]] = []
        none: tuple[str, ...] = ()
        segment = span.segment_of(batch.times)
        for j in range(len(span.segments)):
            inside = np.flatnonzero(segment == j)
            if inside.size:
                frame = inside[inside.size // 2]
                labels = self.guarded("detector", partial(self._labels, batch.frames[frame]), none)
                found.append((float(batch.times[frame]), labels))
        return found

    def _move(self, span: Span, batch: FrameBatch, previous: Previous) -> tuple[Observation, ...]:
        """Activity, camera motion and stillness in the span's frames, seen from the previous span's last frame."""
        assert self.motion is not None  # the job runs only with motion on
        return span_motion(self.motion, batch, previous, self.extra_frames)

    def _labels(self, image: np.ndarray) -> tuple[str, ...]:
        return tuple(detection.label for detection in self._model("detector").detect(image))
