"""The Python API: one `Longshot` per library home, sharing models and the frame cache.

Each part is imported and built on first use, models included: `longshot videos` reads the
catalogue and nothing else, `ask` never imports the ingest pipeline, and no model loads
before something needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, overload

from app.videoref import VideoRef, resolve_video, when_added
from memory.store import Library, VideoRecord
from perception.config import Config, load_config
from perception.errors import SubtitleError, VideoReferenceError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from app.answer import Answer, Step
    from app.ingest_batch import BatchProgressFn, BatchReport
    from app.policies import OfflinePolicy, VLMPolicy
    from app.policies.offline_sketch import ImagePolicy, OfflineSketching
    from app.policies.reading import ReadingPolicy
    from app.toolbox import Toolbox
    from memory.build import Ingestor, IngestProgress, IngestResult
    from memory.episodic import EpisodicMemory
    from memory.frames import FrameCache, FrameStore
    from memory.semantic import SemanticMemory
    from memory.timeline import Occurrence, Timeline
    from memory.visual import VisualMemory
    from memory.working import WorkingMemory
    from perception.models import Models
    from perception.subtitles import Cue

if TYPE_CHECKING:
    from app.clips import Clip, Clips
    from app.library_answer import LibraryAnswer, LibraryStep
    from memory.library_search import LibrarySearch, Moment


class Longshot:
    """Ingest videos once, then ask about them. Thread-safe: the web app shares one instance."""

    def __init__(self, home: str | Path | None = None, config: Config | None = None, **overrides: Any):
        """`home` and `overrides` (dotted keys as `ingest__sample_fps=2`) win over `config`."""
        config = config or load_config()
        if home is not None:
            overrides["home"] = Path(home).expanduser()
        self.config = config.replace(**overrides) if overrides else config
        self._stores: dict[str, tuple[int, FrameStore]] = {}

    @cached_property
    def library(self) -> Library:
        return Library(self.config.home)

    @cached_property
    def models(self) -> Models:
        from perception.models import Models

        return Models(self.config)

    @cached_property
    def cache(self) -> FrameCache:
        from memory.frames import FrameCache

        return FrameCache(self.config.frames.frame_cache_mb * 2**20)

    @cached_property
    def episodic(self) -> EpisodicMemory:
        """Lexical only when text embedding is off, as the ingest writes it; the embedder loads on first use."""
        from memory.episodic import EpisodicMemory

        embedder = self.models.on_first_use("text_embedding") if self.models.available("text_embedding") else None
        return EpisodicMemory(self.library, embedder)

    @cached_property
    def semantic(self) -> SemanticMemory:
        from memory.semantic import SemanticMemory

        return SemanticMemory(self.library, self.episodic.embedder)

    @cached_property
    def visual(self) -> VisualMemory:
        from memory.visual import VisualMemory

        return VisualMemory(self.library)

    @cached_property
    def timeline(self) -> Timeline:
        from memory.timeline import Timeline

        return Timeline(self.library, self.episodic.embedder)

    @cached_property
    def _ingestor(self) -> Ingestor:
        from memory.build import Ingestor

        return Ingestor(self.library, self.models, self.config, self.cache)

    def close(self) -> None:
        """Stop a model server this instance started (llama.cpp); it starts again if asked again."""
        if "models" in self.__dict__:
            self.models.close()

    def ingest(
        self,
        path: str | Path,
        progress: Callable[[IngestProgress], None] | None = None,
        subtitles: str | Path | Sequence[Cue] | None = None,
    ) -> IngestResult:
        """Watch a video once and commit its memories batch by batch; a second call does nothing.

        `subtitles` (an .srt, .vtt or .json file, or cues) enter memory like speech; without them
        a subtitle file beside the video with its name (`talk.srt`, `talk.en.vtt`) is used."""
        return self._ingestor.ingest(path, progress=progress, subtitles=subtitles)

    def ingest_many(
        self,
        paths: Sequence[str | Path],
        *,
        executor: str = "local",
        workers: int = 1,
        address: str | None = None,
        shards: str | Path | None = None,
        progress: BatchProgressFn | None = None,
        subtitles: str | Path | None = None,
    ) -> BatchReport:
        """Ingest every video that `paths` name: files, folders (searched recursively, each file
        probed) and glob patterns. One video's failure is its outcome; the rest go on.

        `executor` "local" runs `workers` processes on this machine (one: this process), writing
        the library directly; "ray" runs Ray actors (on the cluster at `address`), each writing
        per-video shards under `shards` (default <home>/shards) that this process commits.
        `subtitles` is a subtitle file for the one video `paths` name (others use a file beside
        each video with its name).
        """
        from app.ingest_batch import BatchReport, VideoOutcome, ingest_batch
        from app.ingest_stage import IngestWorker
        from app.media_paths import find_videos

        found = find_videos(paths)
        if subtitles is not None and len(found.videos) != 1:
            raise SubtitleError(
                f"a subtitle file goes with one video, not {len(found.videos)}; put a subtitle file beside each video instead"
            )
        named = {found.videos[0][0]: Path(subtitles).expanduser()} if subtitles is not None else None
        failed = [VideoOutcome(path, "failed", None, 0.0, 0.0, reason, attempts=0) for path, reason in found.failures]
        here = IngestWorker(self.config, self.models, self.cache) if executor == "local" and workers == 1 else None
        shard_root = Path(shards).expanduser() if shards is not None else None
        outcomes = ingest_batch(
            self.config,
            found.videos,
            executor=executor,
            workers=workers,
            address=address,
            shards=shard_root,
            progress=progress,
            here=here,
            subtitles=named,
        )
        return BatchReport((*failed, *outcomes), found.not_videos)

    def videos(self) -> list[VideoRecord]:
        return self.library.videos()

    def video(self, video: VideoRef) -> VideoRecord:
        """A video's current record, by id, unique id prefix, file name, path, VideoRecord or IngestResult."""
        return resolve_video(self.library, video)

    def forget(self, video: VideoRef) -> None:
        """Delete a video's memories, its folder and its clips."""
        record = self.video(video)
        self.library.forget(record.id)
        self.clips.discard(record.id)

    @cached_property
    def library_search(self) -> LibrarySearch:
        from memory.library_search import LibrarySearch

        return LibrarySearch(self.library, self.episodic.embedder, threads=self.config.models.cpu_threads)

    def search(
        self,
        query: str,
        videos: Sequence[VideoRef] | None = None,
        k: int = 10,
        modalities: Sequence[str] | None = None,
        added_after: float | datetime | date | None = None,
        added_before: float | datetime | date | None = None,
    ) -> list[Moment]:
        """Ranked moments across the library (or among `videos`): video, start, end, modality, text and
        keyframe, from one index over every video. `added_after`/`added_before` filter by when a video was
        added (Unix time, datetime or date); `modalities` keeps moments holding one of them
        ("speech", "text", "caption", "object"...)."""
        ids = None if videos is None else {self.video(v).id for v in videos}
        after, before = when_added(added_after, upper=False), when_added(added_before, upper=True)
        return self.library_search.search(query, k, ids, modalities, after, before)

    @cached_property
    def clips(self) -> Clips:
        from app.clips import Clips

        return Clips(self.config.home)

    def clip(self, video: VideoRef, at: float) -> Clip:
        """A browser-playable MP4 clip around second `at` of a video, from its file or, when that is gone,
        from its stored frames; cached under <home>/clips/."""
        record = self.video(video)
        return self.clips.around(record, at, lambda: self.frames(record.id))

    def frames(self, video: VideoRef) -> FrameStore:
        """The frame store of a video, served through this instance's shared cache."""
        record = self.video(video)
        frames, store = self._stores.get(record.id, (-1, None))
        if store is None or frames != record.frames:  # reopened once an ingest commits more frames
            from memory.frames import video_frame_store

            store = video_frame_store(self.library.video_dir(record.id), record, self.cache, self.config.ingest)
            self._stores[record.id] = (record.frames, store)
        return store

    @overload
    def ask(self, video: VideoRef, question: str, options: Sequence[str] | None = None, until: float | None = None) -> Answer: ...

    @overload
    def ask(self, video: str, question: None = None, options: Sequence[str] | None = None) -> LibraryAnswer: ...

    @overload
    def ask(self, video: None = None, *, question: str, options: Sequence[str] | None = None) -> LibraryAnswer: ...

    def ask(
        self,
        video: VideoRef | None = None,
        question: str | None = None,
        options: Sequence[str] | None = None,
        until: float | None = None,
    ) -> Answer | LibraryAnswer:
        """Answer a question about an ingested (or still ingesting) video: `ask(video, question)`. With no
        video, `ask(question)` or `ask(question=...)`, answer across the whole library (`ask_library`)."""
        if question is None:
            if not isinstance(video, str):
                raise VideoReferenceError("ask(question) across the library needs the question as text")
            return self.ask_library(video, options)
        if video is None:
            return self.ask_library(question, options)
        return _final(self.ask_stream(video, question, options, until))

    def ask_library(
        self, question: str, options: Sequence[str] | None = None, videos: Sequence[VideoRef] | None = None
    ) -> LibraryAnswer:
        """Answer across the library (or among `videos`): the candidate videos found by search, the agent on
        the best within agent.library_videos and agent.library_seconds, the answer naming videos and moments."""
        from app.library_answer import LibraryAnswer

        *_, answer = self.ask_library_stream(question, options, videos)
        assert isinstance(answer, LibraryAnswer)
        return answer

    def ask_library_stream(
        self, question: str, options: Sequence[str] | None = None, videos: Sequence[VideoRef] | None = None
    ) -> Iterator[LibraryStep | LibraryAnswer]:
        """Yield each step of the agent on each candidate video, then the LibraryAnswer."""
        from app.library_answer import ask_library_stream

        ids = None if videos is None else [self.video(v).id for v in videos]
        return ask_library_stream(self, question, options, ids)

    def ask_stream(
        self, video: VideoRef, question: str, options: Sequence[str] | None = None, until: float | None = None
    ) -> Iterator[Step | Answer]:
        """Yield each step of the agent as it happens, then the `Answer`."""
        from app.agent import Agent

        record = self.video(video)
        limit = record.committed_until if until is None else min(until, record.committed_until)
        timeline = partial(self.timeline.between, record.id, 0.0, limit, until=limit)
        agent = Agent(self._toolbox(record.id), self.policy(timeline), self.config.agent.max_steps, self.config.agent.max_invalid)
        yield from agent.run(question, tuple(options or ()), until=limit, duration=record.duration)

    def policy(self, timeline: Callable[[], Sequence[Occurrence]] | None = None) -> OfflinePolicy | VLMPolicy | ReadingPolicy:
        """The policy for one question; `timeline` reads the video's occurrences, for a model's coarse overview."""
        from app.policies import OfflinePolicy

        offline = OfflinePolicy(
            self.models.text_embedder, self.config.agent.abstain_below, self.config.agent.search_top_k, self._offline_sketching()
        )
        return self._with_vlm(offline, timeline=timeline)

    def _with_vlm(
        self, offline: Any, tools: list[dict] | None = None, timeline: Callable[[], Sequence[Occurrence]] | None = None
    ) -> Any:
        """The offline policy alone without a VLM; with one, the VLM's policy over it, or the VLM as its reader
        (`agent.vlm_role`)."""
        if not self.models.available("vlm"):
            return offline
        from app.policies import VLMPolicy
        from app.policies.reading import ReadingPolicy
        from app.reader import Reader

        if self.config.agent.vlm_role == "reader":
            return ReadingPolicy(offline, Reader(self.models.vlm))
        return VLMPolicy(self.models.vlm, offline, tools, hand_over_after=self.config.agent.max_invalid - 1, moments=timeline)

    def _toolbox(self, video: str) -> Toolbox:
        from app.sketching import Sketcher
        from app.toolbox import Toolbox, VideoMemories

        store = self.frames(video)
        memories = VideoMemories(
            video, self.episodic, self.semantic, self.visual, self.working, store, self.timeline, self._text_to_image()
        )
        return Toolbox(memories, Sketcher(self._sketch_folder(), self.models, store=store, video=video))

    def ask_image(
        self, image: str | Path | np.ndarray | Image.Image, question: str, options: Sequence[str] | None = None
    ) -> Answer:
        """Answer a question about one image; its sketches are saved under <home>/sketches/."""
        return _final(self.ask_image_stream(image, question, options))

    def ask_image_stream(
        self, image: str | Path | np.ndarray | Image.Image, question: str, options: Sequence[str] | None = None
    ) -> Iterator[Step | Answer]:
        """Yield each step, then the `Answer`. The image is checked now: ImageError before any step."""
        from app.agent import Agent
        from app.images import load_image
        from app.sketching import Sketcher
        from app.toolbox import Toolbox

        pixels, _ = load_image(image)
        sketcher = Sketcher(self._sketch_folder(), self.models, image=pixels)
        agent = Agent(
            Toolbox.for_image(sketcher), self._image_policy(), self.config.agent.max_steps, self.config.agent.max_invalid
        )
        height, width = pixels.shape[:2]
        shown = [(pixels, f"the image (frame 'image', {width}x{height} px)")]
        return agent.run(question, tuple(options or ()), images=shown)

    def _image_policy(self) -> ImagePolicy | VLMPolicy | ReadingPolicy:
        from app.policies.offline_sketch import ImagePolicy
        from app.toolbox import action_schemas

        return self._with_vlm(ImagePolicy(self._offline_sketching()), action_schemas(video=False))

    def _offline_sketching(self) -> OfflineSketching:
        from app.policies.offline_sketch import OfflineSketching

        return OfflineSketching(self.models.available("detector"), self.config.agent.abstain_below)

    def _sketch_folder(self) -> Path:
        """A fresh folder name per question; created only when a sketch is saved."""
        from app.sketching import new_question_id

        return self.config.home / "sketches" / new_question_id()

    @cached_property
    def working(self) -> WorkingMemory:
        from memory.working import WorkingMemory

        return WorkingMemory(self.episodic, self.visual, self.frames, self._text_to_image(), timeline=self.timeline)

    def _text_to_image(self) -> Callable[[str], np.ndarray] | None:
        """An image-text model's text tower where one is configured and its weights are here, loaded by the
        first query that searches frames by text (a question that never does never imports torch)."""
        if not self.models.available("image_embedding"):
            return None
        models = self.models
        return lambda query: models.image_embedder.embed_text([query])[0]


def _final(run: Iterator[Step | Answer]) -> Answer:
    """The agent's last yield is its Answer (Agent.run's contract)."""
    *_, answer = run
    return cast("Answer", answer)
