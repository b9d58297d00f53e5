"""The Python API: one `Longshot` per library home, sharing models and the frame cache."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from memory.build import Ingestor, IngestProgress, IngestResult
from memory.episodic import EpisodicMemory
from memory.frames import FrameCache, FrameStore
from memory.semantic import SemanticMemory
from memory.store import Library, VideoRecord
from memory.visual import VisualMemory
from perception.config import Config, load_config
from perception.models import Models


class Longshot:
    """Ingest videos once, then ask about them. Thread-safe: the web app shares one instance."""

    def __init__(self, home: str | Path | None = None, config: Config | None = None, **overrides: Any):
        """`home` and `overrides` (dotted keys as `ingest__sample_fps=2`) win over `config`."""
        config = config or load_config()
        if home is not None:
            overrides["home"] = Path(home).expanduser()
        self.config = config.replace(**overrides) if overrides else config

    @cached_property
    def library(self) -> Library:
        return Library(self.config.home)

    @cached_property
    def models(self) -> Models:
        return Models(self.config)

    @cached_property
    def cache(self) -> FrameCache:
        return FrameCache(self.config.frames.frame_cache_mb * 2**20)

    @cached_property
    def episodic(self) -> EpisodicMemory:
        return EpisodicMemory(self.library, self.models.text_embedder)

    @cached_property
    def semantic(self) -> SemanticMemory:
        return SemanticMemory(self.library, self.models.text_embedder)

    @cached_property
    def visual(self) -> VisualMemory:
        return VisualMemory(self.library)

    @cached_property
    def _ingestor(self) -> Ingestor:
        return Ingestor(self.library, self.models, self.config, self.cache)

    def ingest(self, path: str | Path, progress: Callable[[IngestProgress], None] | None = None) -> IngestResult:
        """Watch a video once and commit its memories batch by batch; a second call does nothing."""
        return self._ingestor.ingest(path, progress=progress)

    def videos(self) -> list[VideoRecord]:
        return self.library.videos()

    def video(self, key: str) -> VideoRecord:
        """A video by id, unique id prefix, or file name."""
        return self.library.video(key)

    def forget(self, key: str) -> None:
        self.library.forget(self.video(key).id)

    def frames(self, key: str) -> FrameStore:
        """The frame store of a video, served through this instance's shared cache."""
        return self._ingestor.frame_store(self.video(key))
