"""Ingest: a video in, memories out, streaming in bounded batches and resumable.

Each batch covers whole base segments, so nothing carries over from one batch to the
next except what is already committed: a crash loses at most the batch in flight, and
resuming from the last commit gives exactly the memory an uninterrupted run gives. Peak
memory depends on the batch size and the caches, never on the video's length.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from memory.compose import SegmentEvidence, merge_captions, offline_caption, vlm_caption, vlm_summary
from memory.episodic import EpisodicMemory, Segment, SegmentDraft
from memory.extract import offline_candidates, vlm_candidates
from memory.frames import FrameCache, FrameStore
from memory.semantic import SemanticMemory
from memory.store import Library, VideoRecord, content_hash
from memory.visual import VisualMemory
from perception.config import Config
from perception.errors import LongshotError, UnreadableVideoError
from perception.image_embed import PixelEmbedder
from perception.models import Models
from perception.video import FrameBatch, VideoInfo, VideoReader, probe, read_audio

log = logging.getLogger(__name__)

STAGES = ("decode", "store", "embed", "ocr", "speech", "detect", "caption", "rollup", "semantic", "commit")
SCENE_CHANGE_BELOW = 0.85  # pixel-feature cosine between consecutive frames
KEYFRAMES_PER_SEGMENT = 3


@dataclass(frozen=True)
class IngestProgress:
    """One report from a running ingest; `done` and `total` are seconds of video."""

    video: str
    stage: str
    done: float
    total: float
    elapsed: float

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
    stage_seconds: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


ProgressFn = Callable[[IngestProgress], None]


class Ingestor:
    """Writes a video into the library's memories; safe to call twice, or from two processes."""

    def __init__(self, library: Library, models: Models, config: Config, cache: FrameCache):
        self.library = library
        self.models = models
        self.config = config
        self.cache = cache
        self.episodic = EpisodicMemory(library, models.text_embedder)
        self.semantic = SemanticMemory(library, models.text_embedder)
        self.visual = VisualMemory(library)

    def ingest(self, path: str | Path, progress: ProgressFn | None = None) -> IngestResult:
        path = Path(path).expanduser()
        if not path.is_file():
            raise UnreadableVideoError(f"{path} does not exist or is not a file")
        limit = self.config.ingest.max_file_gb * 1e9
        if path.stat().st_size > limit:
            raise UnreadableVideoError(f"{path} is larger than ingest.max_file_gb ({self.config.ingest.max_file_gb} GB)")
        info = probe(path)
        video_id = content_hash(path)
        with self.library.ingest_lock(video_id):
            record = self._existing(video_id)
            if record is not None and record.status == "ready":
                return IngestResult(record, True, record.committed_until, 0, 0.0)
            record = record or self._register(video_id, path, info)
            return _Run(self, record, path, info, progress).run()

    def _existing(self, video_id: str) -> VideoRecord | None:
        try:
            return self.library.video(video_id)
        except LongshotError:
            return None

    def _register(self, video_id: str, path: Path, info: VideoInfo) -> VideoRecord:
        ingest = self.config.ingest
        now = time.time()
        record = VideoRecord(
            id=video_id, name=path.name, path=str(path.resolve()), size_bytes=path.stat().st_size,
            duration=info.duration, fps=info.fps, width=info.width, height=info.height, has_audio=info.has_audio,
            status="ingesting", committed_until=0.0, frames=0, sample_fps=ingest.sample_fps,
            settings=self._settings(info), error=None, created=now, updated=now,
        )
        with self.library.transaction() as conn:
            self.library.upsert_video(conn, record)
        return record

    def _settings(self, info: VideoInfo) -> dict:
        ingest = self.config.ingest
        return {
            "segment_seconds": ingest.segment_seconds,
            "scales": [s for s in ingest.scales if s <= max(info.duration, ingest.segment_seconds)],
            "frame_max_side": ingest.frame_max_side,
            "batch_frames": ingest.batch_frames,
            "image_embedder": self.models.image_embedder.name,
            "vlm": self.config.models.vlm,
        }

    def frame_store(self, record: VideoRecord) -> FrameStore:
        ingest = self.config.ingest
        return FrameStore(
            self.library.video_dir(record.id) / "frames", record.id, self.cache, source=Path(record.path),
            max_side=ingest.frame_max_side, jpeg_quality=ingest.jpeg_quality, bundle_frames=ingest.bundle_frames,
        )


class _Run:
    """One pass over one video, from its last commit to its end."""

    def __init__(self, owner: Ingestor, record: VideoRecord, path: Path, info: VideoInfo, progress: ProgressFn | None):
        self.owner = owner
        self.record = record
        self.path = path
        self.info = info
        self.progress = progress
        self.settings = record.settings
        self.segment_seconds = float(self.settings["segment_seconds"])
        self.fps = record.sample_fps
        self.models = owner.models
        self.pixels = PixelEmbedder()
        self.timings: dict[str, float] = defaultdict(float)
        self.warnings: list[str] = []
        self.started = time.perf_counter()

    def run(self) -> IngestResult:
        library, record = self.owner.library, self.record
        store = self.owner.frame_store(record)
        store.truncate(record.frames)  # bundles written after the last commit belong to no batch
        resumed_from = record.committed_until
        per_segment = max(1, round(self.segment_seconds * self.fps))
        batch_frames = max(1, self.owner.config.ingest.batch_frames // per_segment) * per_segment
        reader = VideoReader(self.path, max_side=self.owner.config.ingest.frame_max_side)
        try:
            batches = reader.sample(fps=self.fps, batch_size=batch_frames, start=record.committed_until)
            while True:
                with self._timed("decode"):
                    batch = next(batches, None)
                if batch is None:
                    break
                self._ingest_batch(store, batch)
            self._finish(store)
        except LongshotError as err:
            self._fail(err)
            raise
        finally:
            reader.close()
        return IngestResult(
            self.record, False, resumed_from, reader.skipped, time.perf_counter() - self.started,
            dict(self.timings), tuple(self.warnings),
        )

    # -- one batch: the design's six steps --------------------------------------------------

    def _ingest_batch(self, store: FrameStore, batch: FrameBatch) -> None:
        with self._timed("store"):
            indices = store.append(batch.frames, batch.times)
        with self._timed("embed"):
            embeddings = self.models.image_embedder.embed_images(batch.frames)
            pixels = embeddings if self.models.image_embedder.name == self.pixels.name else self.pixels.embed_images(batch.frames)
        evidence = self._perceive(batch, indices, pixels)
        drafts = self._base_drafts(batch, indices, evidence)
        end = evidence[-1].end  # on the sampling grid, so a resumed run samples the same frames
        with self._timed("commit"), self.owner.library.transaction() as conn:
            base = self.owner.episodic.add(conn, self.record.id, drafts)
            with self._timed("semantic"):
                self._consolidate(conn, base, evidence)
            self.owner.visual.add(conn, self.record.id, list(indices), batch.times, embeddings, self.models.image_embedder.name)
            with self._timed("rollup"):
                self._roll_up(conn, upto=min(end, self.info.duration), final=False)
            self._commit_progress(conn, committed_until=end, frames=indices.stop)
        self._report("commit", end)

    def _perceive(self, batch: FrameBatch, indices: range, pixels: np.ndarray) -> list[SegmentEvidence]:
        times = batch.times
        bounds = self._segment_bounds(times)
        ocr = self._ocr(batch, pixels)
        speech = self._speech(bounds[0][0], bounds[-1][1])
        objects = self._detect(batch, bounds)
        similarity = np.einsum("ij,ij->i", pixels[1:], pixels[:-1])
        changes = times[1:][similarity < SCENE_CHANGE_BELOW]
        evidence = []
        for start, end in bounds:
            inside = (times >= start) & (times < end)
            evidence.append(
                SegmentEvidence(
                    start=start, end=end,
                    ocr_lines=_unique(line for t, lines in ocr for line in lines if start <= t < end),
                    speech=tuple(u.text.strip() for u in speech if start <= u.start < end and u.text.strip()),
                    objects=_unique(label for t, labels in objects if start <= t < end for label in labels),
                    scene_changes=tuple(float(t) for t in changes if start <= t < end and inside.any()),
                )
            )
        return evidence

    def _segment_bounds(self, times: np.ndarray) -> list[tuple[float, float]]:
        size = self.segment_seconds
        first = math.floor(float(times[0]) / size + 1e-9)
        last = math.floor(float(times[-1]) / size + 1e-9)
        return [(k * size, min((k + 1) * size, max(self.info.duration, float(times[-1])))) for k in range(first, last + 1)]

    def _ocr(self, batch: FrameBatch, pixels: np.ndarray) -> list[tuple[float, list[str]]]:
        """OCR on the frames whose content changed since the last one read, first frame of a batch included."""
        if not self._available("ocr"):
            return []
        found, reference = [], None
        threshold = self.owner.config.ingest.ocr_change_threshold
        with self._timed("ocr"):
            for frame, t, feature in zip(batch.frames, batch.times, pixels):
                if reference is not None and 1.0 - float(feature @ reference) < threshold:
                    continue
                reference = feature
                lines = [box.text.strip() for box in self.models.ocr.read(frame) if box.score >= 0.6 and len(box.text.strip()) >= 2]
                found.append((float(t), lines))
        return found

    def _speech(self, start: float, end: float):
        if not self.info.has_audio or not self._available("speech"):
            return []
        with self._timed("speech"):
            try:
                samples = read_audio(self.path, start, end)
            except LongshotError as err:
                self._warn(f"audio {start:.0f}-{end:.0f}s could not be decoded: {err}")
                return []
            if samples.size == 0 or float(np.abs(samples).max(initial=0.0)) < 1e-4:
                return []
            return self.models.speech.transcribe(samples, offset=start)

    def _detect(self, batch: FrameBatch, bounds) -> list[tuple[float, list[str]]]:
        """Detections on one keyframe per segment: enough to say what appears, cheap enough to run always."""
        if not self._available("detector"):
            return []
        found = []
        with self._timed("detect"):
            for start, end in bounds:
                inside = np.flatnonzero((batch.times >= start) & (batch.times < end))
                if inside.size:
                    middle = inside[inside.size // 2]
                    labels = [d.label for d in self.models.detector.detect(batch.frames[middle])]
                    found.append((float(batch.times[middle]), labels))
        return found

    def _base_drafts(self, batch: FrameBatch, indices: range, evidence: Sequence[SegmentEvidence]) -> list[SegmentDraft]:
        drafts = []
        with self._timed("caption"):
            for item in evidence:
                inside = np.flatnonzero((batch.times >= item.start) & (batch.times < item.end))
                keys = inside[np.linspace(0, inside.size - 1, min(KEYFRAMES_PER_SEGMENT, inside.size)).astype(int)] if inside.size else []
                caption = self._caption(batch, keys, item)
                drafts.append(
                    SegmentDraft(
                        scale=self.segment_seconds, start=item.start, end=item.end, caption=caption,
                        ocr_text="\n".join(item.ocr_lines), speech_text=" ".join(item.speech), objects=item.objects,
                        keyframes=tuple(indices.start + int(k) for k in keys),
                    )
                )
        return drafts

    def _caption(self, batch: FrameBatch, keys, item: SegmentEvidence) -> str:
        if self._available("vlm") and len(keys):
            try:
                return vlm_caption(self.models.vlm, batch.frames[keys], batch.times[keys], item)
            except LongshotError as err:
                self._warn(f"VLM caption failed at {item.start:.0f}s, used the offline caption: {err}")
        return offline_caption(item)

    def _consolidate(self, conn, base: Sequence[Segment], evidence: Sequence[SegmentEvidence]) -> None:
        candidates = []
        for segment, item in zip(base, evidence):
            candidates += offline_candidates(item, segment.id)
            if self._available("vlm"):
                try:
                    candidates += vlm_candidates(self.models.vlm, segment.caption, item, segment.id)
                except LongshotError as err:
                    self._warn(f"VLM facts failed at {item.start:.0f}s: {err}")
        self.owner.semantic.consolidate(conn, self.record.id, candidates)

    def _roll_up(self, conn, upto: float, final: bool) -> None:
        """Close every coarser segment whose children are all committed; skip scales longer than the video."""
        child_scale = self.segment_seconds
        for scale in self.settings["scales"]:
            if scale <= child_scale:
                continue
            existing = {round(s.start, 3) for s in self.owner.episodic.segments(self.record.id, scale=scale, conn=conn)}
            children = self.owner.episodic.segments(self.record.id, scale=child_scale, conn=conn)
            drafts = []
            for k in range(int(upto // scale) + (1 if final else 0)):
                start, end = k * scale, min((k + 1) * scale, self.info.duration if final else (k + 1) * scale)
                if round(start, 3) in existing or end > upto + 1e-6 or end <= start:
                    continue
                group = [c for c in children if start <= c.start < end]
                if group:
                    drafts.append(self._parent(scale, start, end, group))
            self.owner.episodic.add(conn, self.record.id, drafts)
            child_scale = scale

    def _parent(self, scale: float, start: float, end: float, group: Sequence[Segment]) -> SegmentDraft:
        captions = [c.caption for c in group]
        caption = merge_captions(captions)
        if self._available("vlm"):
            try:
                caption = vlm_summary(self.models.vlm, start, end, captions)
            except LongshotError as err:
                self._warn(f"VLM summary failed at {start:.0f}s, used the extractive merge: {err}")
        keyframes = [k for c in group for k in c.keyframes]
        picks = np.linspace(0, len(keyframes) - 1, min(KEYFRAMES_PER_SEGMENT, len(keyframes))).astype(int) if keyframes else []
        return SegmentDraft(
            scale=scale, start=start, end=end, caption=caption,
            ocr_text="\n".join(_unique(line for c in group for line in c.ocr_text.splitlines())),
            speech_text=" ".join(c.speech_text for c in group if c.speech_text),
            objects=_unique(o for c in group for o in c.objects), keyframes=tuple(keyframes[i] for i in picks),
        )

    def _finish(self, store: FrameStore) -> None:
        end = max(self.record.committed_until, self.info.duration)
        with self._timed("rollup"), self.owner.library.transaction() as conn:
            self._roll_up(conn, upto=end, final=True)
            self._commit_progress(conn, committed_until=end, frames=len(store), status="ready")
        self.owner.visual.save_index(self.record.id)
        self._report("done", end)

    def _commit_progress(self, conn, committed_until: float, frames: int, status: str = "ingesting") -> None:
        fields = dict(committed_until=min(committed_until, max(self.info.duration, committed_until)), frames=frames, status=status)
        self.owner.library.update_video(conn, self.record.id, **fields)
        self.record = replace(self.record, **fields)

    def _fail(self, err: LongshotError) -> None:
        try:
            with self.owner.library.transaction() as conn:
                self.owner.library.update_video(conn, self.record.id, status="failed", error=str(err))
        except LongshotError:
            log.exception("could not record the failure of %s", self.record.id)

    # -- helpers ----------------------------------------------------------------------------

    def _available(self, role: str) -> bool:
        return self.models.available(role)

    def _warn(self, message: str) -> None:
        log.warning("%s: %s", self.record.name, message)
        self.warnings.append(message)

    def _report(self, stage: str, done: float) -> None:
        if self.progress is not None:
            elapsed = time.perf_counter() - self.started
            self.progress(IngestProgress(self.record.id, stage, min(done, self.info.duration), self.info.duration, elapsed))

    def _timed(self, stage: str):
        return _Timer(self, stage)


class _Timer:
    def __init__(self, run: _Run, stage: str):
        self.run, self.stage = run, stage

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.run._report(self.stage, self.run.record.committed_until)

    def __exit__(self, *exc):
        self.run.timings[self.stage] += time.perf_counter() - self.t0
        return False


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))

