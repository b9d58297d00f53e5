"""Ingest: a video in, memories out, streaming in bounded batches and resumable.

A batch is a fixed span of video time made of whole base segments (batch_frames frames at
sample_fps, rounded to segments), so nothing carries over from one batch to the next except
what is already committed: a crash loses at most the batches in flight, and resuming from
the last commit gives exactly the memory an uninterrupted run gives. Peak memory depends on
the batch size and the caches, never on the video's length.

The design's six steps run as a pipeline over those spans. Two threads decode the next spans,
taking turns, while this one is worked on (and while the models load); OCR, speech and
detection of a span run in a small thread pool (their native code releases the GIL) while the
main thread stores its frames, then captions, rolls up, consolidates and commits the oldest
span in flight (IN_FLIGHT spans are perceived at once). Every result is a function of its
span's frames and audio alone, so the pipeline's timing never changes what is written.
The parts live in `memory.ingest`; `_Run` only puts them in order.

A video enters the catalogue with its first committed batch: a file that fails before that
leaves nothing behind, and readers only ever see videos with committed memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from memory.compose import SegmentEvidence
from memory.episodic import EpisodicMemory, SegmentDraft
from memory.extract import segment_candidates
from memory.frames import FrameCache, FrameStore, video_frame_store
from memory.heap import release_large_allocations
from memory.ingest.decode import decoding
from memory.ingest.describe import Describer
from memory.ingest.events import cues_in, exact_spans, span_occurrences
from memory.ingest.evidence import base_draft, keyframes, segment_evidence
from memory.ingest.failure import clean_up_after
from memory.ingest.motion import FramesAt, Previous, frame_before, last_frame
from memory.ingest.perceive import IN_FLIGHT, WORKERS, Findings, Perceiver
from memory.ingest.perceive import ROLES as PERCEPTION_ROLES
from memory.ingest.rollup import Child, roll_up
from memory.ingest.spans import Span, plan_spans, span_seconds
from memory.ingest.tracker import IngestProgress, IngestTracker, ProgressFn
from memory.semantic import Candidate, SemanticMemory
from memory.store import Library, VideoRecord, content_hash
from memory.timeline import OccurrenceDraft, Timeline
from memory.visual import VisualMemory
from perception.config import Config
from perception.errors import UnreadableVideoError
from perception.image_embed import ClipEmbedder, PixelEmbedder
from perception.models import Models
from perception.motion import MotionProcess
from perception.subtitles import Cue, read_subtitles, sidecar
from perception.video import FrameBatch, VideoInfo, VideoReader, probe

__all__ = ["IngestProgress", "IngestResult", "Ingestor", "ProgressFn"]

# Each decoder on one thread: perception keeps both cores busy, and FFmpeg's threads cost a third
# more CPU for the same pixels. Two such decoders take alternate spans (see ingest.decode.decoding),
# each DECODE_AHEAD spans ahead of the pipeline, so they bank spans while perception is slow and
# while the models load.
DECODE_THREADS = 1
DECODE_AHEAD = 2


@dataclass(frozen=True)
class IngestResult:
    video: VideoRecord
    already_done: bool
    resumed_from: float
    skipped_frames: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)  # busy time per stage; stages overlap
    warnings: tuple[str, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)  # frames, OCR looks and reads, seconds transcribed...


class Ingestor:
    """Writes a video into the library's memories; safe to call twice, or from two processes."""

    def __init__(self, library: Library, models: Models, config: Config, cache: FrameCache):
        self.library = library
        self.models = models
        self.config = config
        self.cache = cache
        self.visual = VisualMemory(library)
        release_large_allocations()

    @cached_property
    def episodic(self) -> EpisodicMemory:
        """Loaded on first use, so a bad path fails at once rather than after loading a model."""
        return EpisodicMemory(self.library, self.models.text_embedder if self.models.available("text_embedding") else None)

    @cached_property
    def semantic(self) -> SemanticMemory:
        return SemanticMemory(self.library, self.episodic.embedder)

    @cached_property
    def timeline(self) -> Timeline:
        return Timeline(self.library, self.episodic.embedder)

    def ingest(
        self, path: str | Path, progress: ProgressFn | None = None, subtitles: str | Path | Sequence[Cue] | None = None
    ) -> IngestResult:
        """Watch a video once. `subtitles` (an .srt, .vtt or .json file, or cues on the video's clock)
        enter the timeline and the segments like speech; without them, a subtitle file beside the
        video named after it (`talk.srt`, `talk.en.vtt`) is used. A video already ingested is left
        as it is."""
        path = Path(path).expanduser()
        if not path.exists():
            raise UnreadableVideoError(f"No file at {path}; check the path.")
        if not path.is_file():
            raise UnreadableVideoError(f"{path} is not a file; give the path of a video file.")
        limit = self.config.ingest.max_file_gb
        if path.stat().st_size > limit * 1e9:
            raise UnreadableVideoError(
                f"{path} is larger than ingest.max_file_gb ({limit:g} GB); raise that setting to ingest it"
            )
        claimed = probe(path)  # a file that is not a video fails here, before anything is written
        cues = _cues(path, subtitles, claimed.duration)  # and so does a bad subtitle file
        video_id = content_hash(path)
        with self.library.ingest_lock(video_id):
            record = self.registered(video_id)
            if record is not None and record.status == "ready":
                return IngestResult(record, True, record.committed_until, 0, 0.0)
            return self._resume(video_id, record, path, claimed, cues, IngestTracker(video_id, path.name, progress))

    def registered(self, video_id: str) -> VideoRecord | None:
        """The catalogue's record of a video, None when it has none."""
        row = self.library.connect().execute("SELECT id FROM videos WHERE id = ?", (video_id,)).fetchone()
        return None if row is None else self.library.video(video_id)

    def new_record(self, video_id: str, path: Path, info: VideoInfo) -> VideoRecord:
        """The catalogue row of a video about to be ingested (stored with its first batch)."""
        ingest = self.config.ingest
        now = time.time()
        return VideoRecord(
            id=video_id,
            name=path.name,
            path=str(path.resolve()),
            size_bytes=path.stat().st_size,
            duration=info.duration,
            fps=info.fps,
            width=info.width,
            height=info.height,
            has_audio=info.has_audio,
            status="ingesting",
            committed_until=0.0,
            frames=0,
            sample_fps=ingest.sample_fps,
            settings=self._settings(info),
            error=None,
            created=now,
            updated=now,
        )

    def _settings(self, info: VideoInfo) -> dict:
        ingest = self.config.ingest
        return {
            "segment_seconds": ingest.segment_seconds,
            "scales": sorted(
                s for s in ingest.scales if ingest.segment_seconds < s <= max(info.duration, ingest.segment_seconds)
            ),
            "frame_max_side": ingest.frame_max_side,
            "batch_frames": ingest.batch_frames,
            "ocr_change_threshold": ingest.ocr_change_threshold,
            "image_embedder": self.models.image_embedder.name,
            "vlm": self.config.models.vlm,
            "motion": ingest.motion,
            "motion_refine": ingest.motion and ingest.motion_refine,
        }

    def frame_store(self, record: VideoRecord) -> FrameStore:
        return video_frame_store(self.library.video_dir(record.id), record, self.cache, self.config.ingest)

    def _resume(
        self,
        video_id: str,
        existing: VideoRecord | None,
        path: Path,
        claimed: VideoInfo,
        cues: Sequence[Cue],
        tracker: IngestTracker,
    ) -> IngestResult:
        """Open the video and run it from its last commit to its end; on failure, clean up and raise."""
        reader, extra, store = None, None, None
        try:
            max_side = self.config.ingest.frame_max_side
            side = int(existing.settings.get("frame_max_side", max_side) if existing else max_side)
            reader = VideoReader(path, max_side=side, threads=DECODE_THREADS)
            missing = claimed.duration - reader.info.duration
            if missing > max(1.0, 0.05 * claimed.duration):
                tracker.warn(
                    f"the file says it lasts {claimed.duration:.1f} s but only {reader.info.duration:.1f} s of it "
                    "can be read (is it truncated?); ingesting what is there"
                )
            record = existing or self.new_record(video_id, path, reader.info)
            store = self.frame_store(record)
            store.truncate(record.frames)  # bundles written after the last commit belong to no batch
            if record.settings.get("motion_refine", False):  # motion's extra frames: a second reader, as the first moves on
                extra = VideoReader(path, max_side=int(record.settings["frame_max_side"]), threads=DECODE_THREADS)
            run = _Run(self, record, existing is not None, path, reader, store, cues, tracker, extra)
            run.run()
        except Exception as err:
            clean_up_after(self.library, video_id, err, store)
            raise
        finally:
            for opened in (reader, extra):
                if opened is not None:
                    opened.close()
        return run.result(resumed_from=existing.committed_until if existing else 0.0)


@dataclass(frozen=True)
class _Stored:
    """A span's frames as stored: frame-store indices, image embeddings, pixel features."""

    indices: range
    embeddings: np.ndarray
    pixels: np.ndarray


@dataclass(frozen=True)
class _Ready:
    """A span with everything worked out before its commit, so no model or network call holds the write
    lock; what perception `found` is here for whatever a commit writes from it directly."""

    span: Span
    times: np.ndarray
    stored: _Stored
    found: Findings
    evidence: list[SegmentEvidence]
    drafts: list[SegmentDraft]  # its base segments
    parents: list[SegmentDraft]  # the coarser segments it closes
    vlm_facts: list[list[Candidate]]  # per base segment
    occurrences: list[OccurrenceDraft]  # what it adds to the timeline


class _Run:
    """One pass over one opened video, from its last commit to its end."""

    def __init__(
        self,
        owner: Ingestor,
        record: VideoRecord,
        registered: bool,
        path: Path,
        reader: VideoReader,
        store: FrameStore,
        cues: Sequence[Cue],
        tracker: IngestTracker,
        extra: VideoReader | None = None,
    ):
        """`path` is where the video is now, which may not be where it was when its ingest began; `cues`
        are its subtitles; `extra` decodes motion's extra frames. The models load in `run`."""
        self.owner = owner
        self.record = record
        self.registered = registered  # the catalogue has its row
        self.reader = reader
        self.info = reader.info
        self.path = path
        self.store = store
        self.cues = sorted(cues, key=lambda cue: cue.start)
        self.tracker = tracker
        self.extra = extra
        settings = record.settings
        self.segment_seconds = float(settings["segment_seconds"])
        self.scales = [float(s) for s in settings["scales"] if float(s) > self.segment_seconds]
        self.fps = record.sample_fps
        self.span_seconds = span_seconds(self.segment_seconds, self.fps, int(settings["batch_frames"]))
        self.motion = MotionProcess() if settings.get("motion", False) else None
        self.pixels = PixelEmbedder()
        self.readers = [reader]
        self.perceiver: Perceiver  # these three come with the models, in `_load`
        self.image_embedder: ClipEmbedder | PixelEmbedder
        self.describer: Describer

    def run(self) -> None:
        """Decode from the start, load the models while the first spans decode, then perceive and commit
        each span in order."""
        at = self.record.committed_until
        self.tracker.prepare(self.info.duration, ["decode"], at)
        spans = list(plan_spans(at, self.info.duration, self.segment_seconds, self.span_seconds))
        before: Previous = None  # the last frame of the span before, which motion analysis starts from
        if spans and self.motion is not None:
            with self.tracker.timed("decode"):
                before = frame_before(self.reader, spans[0], self.span_seconds, self.fps)
        with (
            closing(self.motion) if self.motion is not None else nullcontext(),
            self.reader.twin() if self.reader.seeks else nullcontext() as second,
            decoding(self._lanes(second), spans, self.fps, self.tracker, DECODE_AHEAD) as batches,
            ThreadPoolExecutor(WORKERS, thread_name_prefix="longshot-perceive") as pool,
        ):
            self._load()
            self.tracker.begin(self.info.duration, ["decode", *self.perceiver.stages], at)
            waiting: deque[tuple[Span, FrameBatch, _Stored, Callable[[], Findings]]] = deque()  # oldest first
            for span, batch in batches:
                perceived = self.perceiver.submit(pool, span, batch, before)
                before = last_frame(batch)
                waiting.append((span, batch, self._store(batch), perceived))
                if len(waiting) == IN_FLIGHT:
                    self._commit(self._prepare(*waiting.popleft()))
            while waiting:
                self._commit(self._prepare(*waiting.popleft()))
        self._finish()

    def _lanes(self, second: VideoReader | None) -> list[VideoReader]:
        """The run's readers, which decode alternate spans; the frames they skip are counted together."""
        self.readers = [self.reader] if second is None else [self.reader, second]
        return self.readers

    def _load(self) -> None:
        """The models the run uses, each loaded (so stage times are the work alone)."""
        owner, models, settings = self.owner, self.owner.models, self.record.settings
        roles = {role for role in PERCEPTION_ROLES if models.available(role)}
        if not self.info.has_audio:
            roles.discard("speech")
        threshold = float(settings.get("ocr_change_threshold", owner.config.ingest.ocr_change_threshold))
        extra_frames = _locked_frames_at(self.extra)
        self.perceiver = Perceiver(models, roles, threshold, self.path, self.tracker, self.motion, extra_frames)
        with self.tracker.timed("load"):
            if owner.episodic.embedder is not None:
                owner.episodic.embedder.embed(["warm up"])
        # Asked for once: Models re-raises one stored error when CLIP is missing, and every raise
        # lengthens that error's traceback, keeping each caller's frame (and its frames) alive.
        self.image_embedder = models.image_embedder
        self.describer = Describer(models, self.tracker)

    def result(self, resumed_from: float) -> IngestResult:
        skipped = sum(reader.skipped for reader in self.readers)
        if skipped:
            self.tracker.warn(f"{skipped} frame(s) could not be decoded and were skipped")
        asked, decoded = self.perceiver.audio_asked, self.perceiver.audio_decoded
        if decoded < 0.5 * asked:
            self.tracker.warn(
                f"the audio track ({self.info.audio_codec}) could not be decoded ({decoded:.0f} of {asked:.0f} s); "
                "the video was ingested without the speech in it"
            )
        counters = self.tracker.counters | self.perceiver.counts()
        busy, warnings = self.tracker.busy(), tuple(self.tracker.warnings)
        return IngestResult(self.record, False, resumed_from, skipped, self.tracker.elapsed(), busy, warnings, counters)

    def _store(self, batch: FrameBatch) -> _Stored:
        """Step 1: the frames into the frame store, with their embeddings and pixel features."""
        with self.tracker.timed("store"):
            indices = self.store.append(batch.frames, batch.times)
        with self.tracker.timed("embed"):
            if not len(batch):
                empty = np.zeros((0, self.pixels.dim), np.float32)
                return _Stored(indices, empty, empty)
            embedder = self.image_embedder
            embeddings = embedder.embed_images(batch.frames)
            pixels = embeddings if embedder.name == self.pixels.name else self.pixels.embed_images(batch.frames)
        self.tracker.count("frames", len(batch))
        return _Stored(indices, embeddings, pixels)

    def _prepare(self, span: Span, batch: FrameBatch, stored: _Stored, perceived: Callable[[], Findings]) -> _Ready:
        """Steps 3 and 4: the span's base segments with their captions and facts, and the parents it closes."""
        found = perceived()
        cues = cues_in(span, self.cues, self.info.duration)
        evidence = segment_evidence(span, batch.times, stored.pixels, found, cues)
        with self.tracker.timed("caption"):
            drafts = []
            for j, item in enumerate(evidence):
                keys = keyframes(span, batch.times, j)
                caption = self.describer.caption(item, batch.frames[keys], batch.times[keys])
                drafts.append(base_draft(self.segment_seconds, item, caption, stored.indices.start + keys))
            vlm_facts = [self.describer.facts(draft.caption, item) for draft, item in zip(drafts, evidence)]
        with self.tracker.timed("rollup"):
            parents = roll_up(
                span, self.segment_seconds, self.scales, self.info.duration, drafts, self._committed, self.describer.summary
            )
        size = (batch.frames.shape[2], batch.frames.shape[1])
        occurrences = span_occurrences(span, batch.times, size, found, evidence, drafts, cues)
        return _Ready(span, batch.times, stored, found, evidence, drafts, parents, vlm_facts, occurrences)

    def _committed(self, scale: float, start: float, end: float) -> list[Child]:
        return list(self.owner.episodic.segments(self.record.id, scale=scale, start=start, end=end))

    def _commit(self, ready: _Ready) -> None:
        """Steps 5 and 6: everything a span adds to memory, in one transaction; one line per memory."""
        owner, video = self.owner, self.record.id
        with self.tracker.timed("commit"), owner.library.transaction() as conn:
            if not self.registered:
                owner.library.upsert_video(conn, self.record)
            base = owner.episodic.add(conn, video, [*ready.drafts, *ready.parents])[: len(ready.drafts)]  # one embedder call
            occurred = owner.timeline.add(conn, video, ready.occurrences)
            with self.tracker.timed("semantic", inner_of="commit"):
                candidates = segment_candidates([s.id for s in base], ready.evidence, ready.vlm_facts)
                owner.semantic.consolidate(conn, video, exact_spans(candidates, occurred))
            stored = ready.stored
            owner.visual.add(conn, video, list(stored.indices), ready.times, stored.embeddings, self.image_embedder.name)
            self._commit_progress(conn, committed_until=ready.span.end, frames=ready.stored.indices.stop)
        self.registered = True
        self.tracker.advance("commit", ready.span.end)

    def _finish(self) -> None:
        end = max(self.record.committed_until, self.info.duration)
        with self.tracker.timed("commit"), self.owner.library.transaction() as conn:
            self._commit_progress(conn, committed_until=end, frames=len(self.store), status="ready")
        self.owner.visual.save_index(self.record.id)
        self.tracker.report("done")

    def _commit_progress(self, conn, committed_until: float, frames: int, status: str = "ingesting") -> None:
        self.owner.library.update_video(
            conn, self.record.id, committed_until=committed_until, frames=frames, status=status, error=None
        )
        self.record = replace(self.record, committed_until=committed_until, frames=frames, status=status, error=None)


def _locked_frames_at(reader: VideoReader | None) -> FramesAt | None:
    """`reader.frames_at` for the spans in flight, one at a time; None without a reader."""
    if reader is None:
        return None
    lock = threading.Lock()

    def frames_at(times: Sequence[float]) -> FrameBatch:
        with lock:
            return reader.frames_at(times)

    return frames_at


def _cues(path: Path, subtitles: str | Path | Sequence[Cue] | None, duration: float) -> list[Cue]:
    """The cues given, or read from the file given, or from a subtitle file beside the video; none without."""
    if subtitles is None:
        subtitles = sidecar(path)
    if subtitles is None:
        return []
    if isinstance(subtitles, (str, Path)):
        return read_subtitles(Path(subtitles).expanduser(), duration=duration)
    return list(subtitles)
