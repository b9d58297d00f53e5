"""Ingest: a video in, memories out, streaming in bounded batches and resumable.

A batch is a fixed span of video time made of whole base segments (batch_frames frames at
sample_fps, rounded to segments), so nothing carries over from one batch to the next except
what is already committed: a crash loses at most the batches in flight, and resuming from
the last commit gives exactly the memory an uninterrupted run gives. Peak memory depends on
the batch size and the caches, never on the video's length.

The design's six steps run as a pipeline over those spans. A thread decodes the next span
while this one is worked on; OCR, speech and detection of a span run in a small thread pool
(their native code releases the GIL) while the main thread stores its frames, then captions,
rolls up, consolidates and commits the span before it. Every result is a function of its
span's frames and audio alone, so the pipeline's timing never changes what is written.

A video enters the catalogue with its first committed batch: a file that fails before that
leaves nothing behind, and readers only ever see videos with committed memory.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from memory.compose import SegmentEvidence, merge_captions, offline_caption, vlm_caption, vlm_summary
from memory.episodic import EpisodicMemory, SegmentDraft
from memory.extract import offline_candidates, vlm_candidates
from memory.frames import FrameCache, FrameStore
from memory.heap import release_large_allocations
from memory.prefetch import prefetch
from memory.screen_text import ScreenText
from memory.semantic import Candidate, SemanticMemory
from memory.store import Library, VideoRecord, content_hash
from memory.visual import VisualMemory
from perception.config import Config
from perception.errors import LongshotError, ModelOutputError, ModelUnavailableError, UnreadableVideoError
from perception.image_embed import PixelEmbedder
from perception.models import Models
from perception.speech import Utterance
from perception.video import FrameBatch, VideoInfo, VideoReader, probe, read_audio

log = logging.getLogger(__name__)

STAGES = ("load", "decode", "store", "embed", "ocr", "speech", "detect", "caption", "rollup", "semantic", "commit")
SCENE_CHANGE_BELOW = 0.85  # pixel-feature cosine between consecutive frames
KEYFRAMES_PER_SEGMENT = 3
SPEECH_WINDOW_S = 0.5  # audio is cut into windows this long to find where there is any sound
SPEECH_MIN_RMS = 0.003  # about -50 dBFS: quieter windows everywhere in a span mean no speech to look for
SPEECH_PAD_S = 1.0  # sound kept around the loud stretch, so a quiet first or last word is not cut
AUDIO_RATE = 16000
VLM_GIVE_UP_AFTER = 3  # consecutive VLM failures after which the rest of the video is done offline
PERCEPTION_WORKERS = 3  # OCR, speech and detection of one span at once


@dataclass(frozen=True)
class IngestProgress:
    """One report from a running ingest. `done` and `total` are seconds of video; `done` is
    what is committed. `stages` says how far each pipeline stage has got, in pipeline order."""

    video: str
    stage: str  # the stage that just moved, "done" at the end
    done: float
    total: float
    elapsed: float
    stages: tuple[tuple[str, float], ...] = ()

    @property
    def eta(self) -> float | None:
        if self.done <= 0 or self.done >= self.total:
            return None
        return self.elapsed / self.done * (self.total - self.done)


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


ProgressFn = Callable[[IngestProgress], None]


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

    def ingest(self, path: str | Path, progress: ProgressFn | None = None) -> IngestResult:
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
        video_id = content_hash(path)
        with self.library.ingest_lock(video_id):
            record = self.registered(video_id)
            if record is not None and record.status == "ready":
                return IngestResult(record, True, record.committed_until, 0, 0.0)
            return _Run(self, video_id, record, path, claimed, progress).run()

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
        }

    def frame_store(self, record: VideoRecord) -> FrameStore:
        ingest = self.config.ingest
        return FrameStore(
            self.library.video_dir(record.id) / "frames",
            record.id,
            self.cache,
            source=Path(record.path),
            max_side=int(record.settings.get("frame_max_side", ingest.frame_max_side)),
            jpeg_quality=ingest.jpeg_quality,
            bundle_frames=ingest.bundle_frames,
        )


@dataclass(frozen=True)
class _Span:
    """The video time one batch covers: [start, end), whole base segments."""

    start: float
    end: float
    segments: tuple[tuple[float, float], ...]

    def segment_of(self, times: np.ndarray) -> np.ndarray:
        """Index of the segment each time falls in; times just outside (a nearest frame) go to the nearer end."""
        starts = np.array([s for s, _ in self.segments])
        return np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(self.segments) - 1)


@dataclass(frozen=True)
class _Stored:
    indices: range
    embeddings: np.ndarray
    pixels: np.ndarray


@dataclass(frozen=True)
class _Perception:
    ocr: Future | None
    speech: Future | None
    detect: Future | None


class _Run:
    """One pass over one video, from its last commit to its end."""

    def __init__(
        self,
        owner: Ingestor,
        video_id: str,
        record: VideoRecord | None,
        path: Path,
        claimed: VideoInfo,
        progress: ProgressFn | None,
    ):
        self.owner = owner
        self.video_id = video_id
        self.existing = record
        self.path = path
        self.claimed = claimed
        self.progress = progress
        self.models = owner.models
        self.pixels = PixelEmbedder()
        self.started = time.perf_counter()
        self.timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.counters: dict[str, int] = {"frames": 0, "speech_spans": 0, "speech_seconds": 0}
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._audio_seconds = [0.0, 0.0]  # asked for, decoded
        self._vlm_failures: dict[str, int] = {}
        self._disabled: set[str] = set()
        self._registered = False

    # -- the whole run --------------------------------------------------------------------

    def run(self) -> IngestResult:
        reader = None
        store = None
        try:
            max_side = self.existing.settings.get("frame_max_side") if self.existing else self.owner.config.ingest.frame_max_side
            reader = VideoReader(self.path, max_side=int(max_side))
            self.info = reader.info
            missing = self.claimed.duration - self.info.duration
            if missing > max(1.0, 0.05 * self.claimed.duration):
                self._warn(
                    f"the file says it lasts {self.claimed.duration:.1f} s but only {self.info.duration:.1f} s of it "
                    "can be read (is it truncated?); ingesting what is there"
                )
            self.record = self.existing or self.owner.new_record(self.video_id, self.path, self.info)
            self._configure()
            store = self.owner.frame_store(self.record)
            store.truncate(self.record.frames)  # bundles written after the last commit belong to no batch
            self._report("start")
            self._pipeline(reader, store)
            self._finish(store)
        except Exception as err:
            self._fail(err, store)
            raise
        finally:
            if reader is not None:
                reader.close()
        skipped = reader.skipped
        if skipped:
            self._warn(f"{skipped} frame(s) could not be decoded and were skipped")
        asked, decoded = self._audio_seconds
        if decoded < 0.5 * asked:
            self._warn(
                f"the audio track ({self.info.audio_codec}) could not be decoded ({decoded:.0f} of {asked:.0f} s); "
                "the video was ingested without the speech in it"
            )
        if self.screen_text is not None:
            self.counters.update(ocr_looks=self.screen_text.looks, ocr_reads=self.screen_text.reads)
        return IngestResult(
            self.record,
            False,
            self.existing.committed_until if self.existing else 0.0,
            skipped,
            time.perf_counter() - self.started,
            {k: v for k, v in self.timings.items() if v},
            tuple(self.warnings),
            dict(self.counters),
        )

    def _configure(self) -> None:
        settings = self.record.settings
        self.segment_seconds = float(settings["segment_seconds"])
        self.scales = [float(s) for s in settings["scales"] if float(s) > self.segment_seconds]
        self.fps = self.record.sample_fps
        per_segment = max(1, round(self.segment_seconds * self.fps))
        self.span_seconds = self.segment_seconds * max(1, int(settings["batch_frames"]) // per_segment)
        threshold = float(settings.get("ocr_change_threshold", self.owner.config.ingest.ocr_change_threshold))
        self.roles = {role for role in ("ocr", "speech", "detector", "vlm") if self.models.available(role)}
        if not self.info.has_audio:
            self.roles.discard("speech")
        self._load_models()
        # Asked for once: Models re-raises one stored error when CLIP is missing, and every raise
        # lengthens that error's traceback, keeping each caller's frame (and its frames) alive.
        self.image_embedder = self.models.image_embedder
        self.screen_text = ScreenText(self.models.ocr, threshold) if "ocr" in self.roles else None
        stages = ["decode"] + [
            s for s, role in (("ocr", "ocr"), ("speech", "speech"), ("detect", "detector")) if role in self.roles
        ]
        self.positions = dict.fromkeys([*stages, "commit"], self.record.committed_until)

    def _load_models(self) -> None:
        """Load the models this run uses up front, so stage times are the work alone."""
        with self._timed("load"):
            for role in ("ocr", "speech", "detector"):
                if role in self.roles and self._guarded(role, lambda role=role: self._model(role), None) is None:
                    self.roles.discard(role)
            if self.owner.episodic.embedder is not None:
                self.owner.episodic.embedder.embed(["warm up"])

    def _pipeline(self, reader: VideoReader, store: FrameStore) -> None:
        with (
            prefetch(self._decoded(reader), depth=1, name="longshot-decode") as batches,
            ThreadPoolExecutor(PERCEPTION_WORKERS, thread_name_prefix="longshot-perceive") as pool,
        ):
            previous = None
            for span, batch in batches:
                perception = self._perceive(pool, span, batch)
                stored = self._store(store, batch)
                if previous is not None:
                    self._commit(*previous)
                previous = (span, batch, stored, perception)
            if previous is not None:
                self._commit(*previous)

    # -- step 0: frames of each span, decoded one span ahead ----------------------------------

    def _spans(self) -> Iterator[_Span]:
        size, length, duration = self.segment_seconds, self.span_seconds, self.info.duration
        k = round(self.record.committed_until / length)
        while k * length < duration - 1e-6:
            start, end = k * length, min((k + 1) * length, duration)
            first = round(start / size)
            segments = []
            j = first
            while j * size < end - 1e-6:
                segments.append((j * size, min((j + 1) * size, end)))
                j += 1
            yield _Span(start, end, tuple(segments))
            k += 1

    def _decoded(self, reader: VideoReader) -> Iterator[tuple[_Span, FrameBatch]]:
        for span in self._spans():
            with self._timed("decode"):
                slots = math.ceil((span.end - span.start) * self.fps) + 2
                parts = list(reader.sample(fps=self.fps, batch_size=slots, start=span.start, end=span.end))
                batch = _within(_joined(parts), span.start - 1 / self.fps, span.end + 1 / self.fps)
            self._advance("decode", span.end)
            yield span, batch

    # -- steps 1 and 2: store the frames; perception in the pool -------------------------------

    def _store(self, store: FrameStore, batch: FrameBatch) -> _Stored:
        with self._timed("store"):
            indices = store.append(batch.frames, batch.times)
        with self._timed("embed"):
            if not len(batch):
                empty = np.zeros((0, self.pixels.dim), np.float32)
                return _Stored(indices, empty, empty)
            embedder = self.image_embedder
            embeddings = embedder.embed_images(batch.frames)
            pixels = embeddings if embedder.name == self.pixels.name else self.pixels.embed_images(batch.frames)
        with self._lock:
            self.counters["frames"] += len(batch)
        return _Stored(indices, embeddings, pixels)

    def _perceive(self, pool: ThreadPoolExecutor, span: _Span, batch: FrameBatch) -> _Perception:
        return _Perception(
            ocr=pool.submit(self._ocr, span, batch) if self.screen_text is not None else None,
            speech=pool.submit(self._speech, span) if "speech" in self.roles else None,
            detect=pool.submit(self._detect, span, batch) if "detector" in self.roles else None,
        )

    def _ocr(self, span: _Span, batch: FrameBatch) -> list[tuple[str, ...]]:
        with self._timed("ocr"):
            lines = self._guarded("ocr", lambda: self.screen_text.read(batch.frames, batch.times), [()] * len(batch))
        self._advance("ocr", span.end)
        return lines

    def _speech(self, span: _Span) -> list[Utterance]:
        with self._timed("speech"):
            found = self._transcribe(span)
        self._advance("speech", span.end)
        return found

    def _transcribe(self, span: _Span) -> list[Utterance]:
        with self._lock:
            self.counters["speech_spans"] += 1
        try:
            samples = read_audio(self.path, span.start, span.end)
        except LongshotError as err:
            self._warn(f"audio {span.start:.0f}-{span.end:.0f} s could not be decoded, so no speech there: {err}")
            return []
        with self._lock:
            self._audio_seconds[0] += span.end - span.start
            self._audio_seconds[1] += samples.size / AUDIO_RATE
        sounding = _sounding(samples)
        if sounding is None:
            return []
        first, last = sounding
        with self._lock:
            self.counters["speech_seconds"] += round((last - first) / AUDIO_RATE)
        offset = span.start + first / AUDIO_RATE
        return self._guarded("speech", lambda: self._model("speech").transcribe(samples[first:last], offset=offset), [])

    def _detect(self, span: _Span, batch: FrameBatch) -> list[tuple[float, tuple[str, ...]]]:
        """Detections on one keyframe per segment: enough to say what appears, cheap enough to run always."""
        found = []
        with self._timed("detect"):
            segment = span.segment_of(batch.times)
            for j in range(len(span.segments)):
                inside = np.flatnonzero(segment == j)
                if inside.size:
                    middle = inside[inside.size // 2]
                    detections = self._guarded(
                        "detector", lambda middle=middle: self._model("detector").detect(batch.frames[middle]), []
                    )
                    found.append((float(batch.times[middle]), tuple(d.label for d in detections)))
        self._advance("detect", span.end)
        return found

    # -- steps 3 to 6: segments, captions, roll-up, semantic memory, one commit ---------------

    def _commit(self, span: _Span, batch: FrameBatch, stored: _Stored, perception: _Perception) -> None:
        evidence = self._evidence(span, batch, stored, perception)
        with self._timed("caption"):
            drafts = [self._base_draft(batch, stored.indices, span, j, item) for j, item in enumerate(evidence)]
            vlm_facts = [self._vlm_facts(draft.caption, item) for draft, item in zip(drafts, evidence)]
        with self._timed("rollup"):
            parents = self._parents(span, drafts)
        library, episodic = self.owner.library, self.owner.episodic
        with self._timed("commit"), library.transaction() as conn:
            if self.existing is None and not self._registered:
                library.upsert_video(conn, self.record)
            base = episodic.add(conn, self.video_id, [*drafts, *parents])[: len(drafts)]  # one embedder call
            with self._timed("semantic", inner_of="commit"):
                candidates = []
                for segment, item, extra in zip(base, evidence, vlm_facts):
                    candidates += offline_candidates(item, segment.id)
                    candidates += [replace(c, segment_id=segment.id) for c in extra]
                self.owner.semantic.consolidate(conn, self.video_id, candidates)
            self.owner.visual.add(
                conn, self.video_id, list(stored.indices), batch.times, stored.embeddings, self.image_embedder.name
            )
            self._commit_progress(conn, committed_until=span.end, frames=stored.indices.stop)
        self._registered = True
        self._advance("commit", span.end)

    def _evidence(self, span: _Span, batch: FrameBatch, stored: _Stored, perception: _Perception) -> list[SegmentEvidence]:
        lines = perception.ocr.result() if perception.ocr else [()] * len(batch)
        speech = perception.speech.result() if perception.speech else []
        objects = perception.detect.result() if perception.detect else []
        segment = span.segment_of(batch.times)
        similarity = np.einsum("ij,ij->i", stored.pixels[1:], stored.pixels[:-1])
        changes = np.flatnonzero(similarity < SCENE_CHANGE_BELOW) + 1
        said = span.segment_of(np.array([u.start for u in speech], np.float64))
        seen = span.segment_of(np.array([t for t, _ in objects], np.float64))
        evidence = []
        for j, (start, end) in enumerate(span.segments):
            evidence.append(
                SegmentEvidence(
                    start=start,
                    end=end,
                    ocr_lines=_unique(line for i in np.flatnonzero(segment == j) for line in lines[i]),
                    speech=tuple(u.text.strip() for u, k in zip(speech, said) if k == j and u.text.strip()),
                    objects=_unique(label for (_, labels), k in zip(objects, seen) if k == j for label in labels),
                    scene_changes=tuple(float(batch.times[i]) for i in changes if segment[i] == j),
                )
            )
        return evidence

    def _base_draft(self, batch: FrameBatch, indices: range, span: _Span, j: int, item: SegmentEvidence) -> SegmentDraft:
        inside = np.flatnonzero(span.segment_of(batch.times) == j)
        keys = inside[np.linspace(0, inside.size - 1, min(KEYFRAMES_PER_SEGMENT, inside.size)).astype(int)] if inside.size else []
        caption = offline_caption(item)
        if "vlm" in self.roles and len(keys):
            caption = self._vlm(
                "caption", item.start, lambda: vlm_caption(self.models.vlm, batch.frames[keys], batch.times[keys], item), caption
            )
        return SegmentDraft(
            scale=self.segment_seconds,
            start=item.start,
            end=item.end,
            caption=caption,
            ocr_text="\n".join(item.ocr_lines),
            speech_text=" ".join(item.speech),
            objects=item.objects,
            keyframes=tuple(indices.start + int(k) for k in keys),
        )

    def _vlm_facts(self, caption: str, item: SegmentEvidence) -> list[Candidate]:
        """The VLM's facts about a segment, asked before the commit so no network call holds the write lock."""
        if "vlm" not in self.roles:
            return []
        return self._vlm("facts", item.start, lambda: vlm_candidates(self.models.vlm, caption, item, 0), [])

    def _parents(self, span: _Span, drafts: Sequence[SegmentDraft]) -> list[SegmentDraft]:
        """Segments of every coarser scale whose last child this span holds, summarising their children."""
        made: list[SegmentDraft] = []
        children, child_scale = list(drafts), self.segment_seconds
        for scale in self.scales:
            closed = []
            for k in range(math.floor(span.start / scale), math.ceil(span.end / scale)):
                start, end = k * scale, min((k + 1) * scale, self.info.duration)
                if not span.start + 1e-6 < end <= span.end + 1e-6 or start >= end:
                    continue
                stored = self.owner.episodic.segments(self.video_id, scale=child_scale, start=start, end=end)
                group = {round(c.start, 3): c for c in stored if c.start < end - 1e-6}
                group.update({round(c.start, 3): c for c in children if start - 1e-6 <= c.start < end - 1e-6})
                if group:
                    closed.append(self._parent(scale, start, end, [group[key] for key in sorted(group)]))
            made += closed
            children, child_scale = closed, scale
        return made

    def _parent(self, scale: float, start: float, end: float, group: Sequence) -> SegmentDraft:
        captions = [c.caption for c in group]
        caption = merge_captions(captions)
        if "vlm" in self.roles:
            caption = self._vlm("summary", start, lambda: vlm_summary(self.models.vlm, start, end, captions), caption)
        keyframes = [k for c in group for k in c.keyframes]
        picks = np.linspace(0, len(keyframes) - 1, min(KEYFRAMES_PER_SEGMENT, len(keyframes))).astype(int) if keyframes else []
        return SegmentDraft(
            scale=scale,
            start=start,
            end=end,
            caption=caption,
            ocr_text="\n".join(_unique(line for c in group for line in c.ocr_text.splitlines())),
            speech_text=" ".join(c.speech_text for c in group if c.speech_text),
            objects=_unique(o for c in group for o in c.objects),
            keyframes=tuple(keyframes[i] for i in picks),
        )

    def _finish(self, store: FrameStore) -> None:
        end = max(self.record.committed_until, self.info.duration)
        with self._timed("commit"), self.owner.library.transaction() as conn:
            self._commit_progress(conn, committed_until=end, frames=len(store), status="ready")
        self.owner.visual.save_index(self.video_id)
        self._report("done")

    def _commit_progress(self, conn, committed_until: float, frames: int, status: str = "ingesting") -> None:
        fields = {"committed_until": committed_until, "frames": frames, "status": status, "error": None}
        self.owner.library.update_video(conn, self.video_id, **fields)
        self.record = replace(self.record, **fields)

    def _fail(self, err: Exception, store: FrameStore | None) -> None:
        """Mark a registered video failed (it resumes on the next ingest) and give back the frames stored
        past its last commit (on a full disk they are the space the user needs); leave no trace of a
        video that never committed."""
        try:
            if self.owner.registered(self.video_id) is None:
                shutil.rmtree(self.owner.library.video_dir(self.video_id), ignore_errors=True)
                return
        except LongshotError:
            log.exception("could not look up %s after its ingest failed", self.video_id)
            return
        recorded = self._mark_failed(err)
        try:
            if store is not None:
                store.truncate(self.record.frames)
        except LongshotError as cleanup:  # the next ingest truncates again
            log.warning("could not drop the uncommitted frames of %s: %s", self.video_id, cleanup)
        if not recorded and not self._mark_failed(err):  # the frames given back may have made room
            log.error("could not record the failure of %s; it shows as ingesting until ingested again", self.video_id)

    def _mark_failed(self, err: Exception) -> bool:
        library = self.owner.library
        try:
            with library.transaction() as conn:
                library.update_video(conn, self.video_id, status="failed", error=str(err) or type(err).__name__)
        except LongshotError:
            return False
        return True

    # -- helpers ----------------------------------------------------------------------------

    def _model(self, role: str):
        return getattr(self.models, role)

    def _guarded(self, role: str, call: Callable, fallback):
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
                self._warn(f"{role} could not be used, so this video has none: {err}")
            return fallback

    def _vlm(self, kind: str, at: float, call: Callable, fallback):
        """A VLM call (`kind`: caption, facts or summary) with the offline result as fallback.

        Repeated failures leave the VLM out for the rest of the video: an endpoint that times
        out or errors, for everything; replies of one kind that cannot be used, for that kind.
        """
        if {"vlm", f"vlm {kind}"} & self._disabled:
            return fallback
        try:
            result = call()
        except LongshotError as err:
            scope = kind if isinstance(err, ModelOutputError) else "endpoint"
            self._vlm_failures[scope] = self._vlm_failures.get(scope, 0) + 1
            self._warn(f"VLM {kind} at {at:.0f} s failed, used the offline result: {err}")
            if self._vlm_failures[scope] >= VLM_GIVE_UP_AFTER:
                self._disabled.add("vlm" if scope == "endpoint" else f"vlm {kind}")
                what = "" if scope == "endpoint" else f"{kind} "
                self._warn(f"the VLM {what}failed {VLM_GIVE_UP_AFTER} times in a row; the rest of this video is done offline")
            return fallback
        self._vlm_failures.update(endpoint=0, **{kind: 0})
        return result

    def _warn(self, message: str) -> None:
        log.warning("%s: %s", self.path.name, message)
        with self._lock:
            self.warnings.append(message)

    def _advance(self, stage: str, position: float) -> None:
        with self._lock:
            self.positions[stage] = max(self.positions[stage], min(position, self.info.duration))
        self._report(stage)

    def _report(self, stage: str) -> None:
        if self.progress is None:
            return
        with self._lock:
            stages = tuple(self.positions.items())
            done = self.positions["commit"] if stage != "done" else self.info.duration
            event = IngestProgress(self.video_id, stage, done, self.info.duration, time.perf_counter() - self.started, stages)
            self.progress(event)

    def _timed(self, stage: str, inner_of: str | None = None) -> _Timer:
        return _Timer(self, stage, inner_of)


class _Timer:
    """Adds the time spent in a block to a stage; `inner_of` takes it back from the enclosing stage."""

    def __init__(self, run: _Run, stage: str, inner_of: str | None):
        self.run, self.stage, self.inner_of = run, stage, inner_of

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc) -> bool:
        spent = time.perf_counter() - self.t0
        with self.run._lock:
            self.run.timings[self.stage] += spent
            if self.inner_of:
                self.run.timings[self.inner_of] -= spent
        return False


def _joined(parts: Sequence[FrameBatch]) -> FrameBatch:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return FrameBatch(np.zeros((0, 1, 1, 3), np.uint8), np.zeros(0, np.float64), np.zeros(0, np.int64))
    return FrameBatch(
        np.concatenate([p.frames for p in parts]),
        np.concatenate([p.times for p in parts]),
        np.concatenate([p.indices for p in parts]),
    )


def _within(batch: FrameBatch, start: float, end: float) -> FrameBatch:
    """The frames of `batch` taken in [start, end). Across a gap in a video's timestamps the frame
    nearest to a span lies far outside it; kept, it would be stored again for every span of the gap
    and described as seen there."""
    keep = (batch.times >= start) & (batch.times < end)
    if keep.all():
        return batch
    return FrameBatch(batch.frames[keep], batch.times[keep], batch.indices[keep])


def _sounding(samples: np.ndarray) -> tuple[int, int] | None:
    """(first, last) sample of the stretch from the first to the last window louder than
    SPEECH_MIN_RMS, SPEECH_PAD_S wider each side; None when all is quiet. Whisper then skips
    the silence around speech, and a silent span costs nothing."""
    window = int(SPEECH_WINDOW_S * AUDIO_RATE)
    if samples.size == 0:
        return None
    padded = np.pad(samples, (0, -samples.size % window))
    rms = np.sqrt(np.mean(padded.reshape(-1, window).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms >= SPEECH_MIN_RMS)
    if not loud.size:
        return None
    pad = int(SPEECH_PAD_S * AUDIO_RATE)
    return max(0, int(loud[0]) * window - pad), min(samples.size, (int(loud[-1]) + 1) * window + pad)


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))
