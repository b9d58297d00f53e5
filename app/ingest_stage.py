"""The ingest stage of a library ingest, and the worker that runs it (a process of the local pool,
a Ray actor, or the calling process itself): its models load once and serve every video.

`ingest_into(worker, path, home, shard)` writes one video into the library at `home`: the
library itself when the worker runs on the library's machine, or the video's shard otherwise,
sealed at the end for the library's process to commit (`memory.shards`). It never raises for a
bad video: the error comes back in the result, so one video's failure leaves the others going.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory.build import Ingestor, ProgressFn
from memory.frames import FrameCache
from memory.shards import seal
from memory.store import Library
from perception.config import Config
from perception.models import Models

WORKER_CACHE_MB = 64  # an ingest only writes frames; a worker's cache serves no questions
INGEST_MODELS = (("ocr", "ocr"), ("speech", "speech"), ("text_embedding", "text_embedder"), ("detector", "detector"))


def load_ingest_models(models: Models) -> None:
    """Load now every model an ingest uses that is available, so the first video does not pay for it
    (and a kill timed from an ingest's start lands in ingest work)."""
    for role, attribute in INGEST_MODELS:
        if models.available(role):
            getattr(models, attribute)


@dataclass(frozen=True)
class StageResult:
    """What one ingest call did, as plain values (it travels between processes)."""

    path: str
    video: str | None
    status: str  # "ingested", "already" or "failed"
    seconds: float
    error: str | None = None
    warnings: tuple[str, ...] = ()
    resumed_from: float = 0.0


class IngestWorker:
    """What one process or Ray actor runs: the ingest stage, over models loaded once."""

    def __init__(self, config: Config, models: Models | None = None, cache: FrameCache | None = None):
        """`models` and `cache` are shared when the worker is the calling process; a pool's worker builds
        its own and loads them at once."""
        self.config = config
        self.cache = cache or FrameCache(WORKER_CACHE_MB * 2**20)
        if models is None:  # a worker's model-loading bars would tear the caller's own progress bars
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TQDM_DISABLE", "1")
            models = Models(config)
            load_ingest_models(models)
        self.models = models

    def run(self, stage: str, *args: Any) -> StageResult:
        return STAGES[stage](self, *args)


def ingest_into(
    worker: IngestWorker, path: str, home: str, shard: bool, progress: ProgressFn | None = None, subtitles: str | None = None
) -> StageResult:
    """Ingest the video at `path` (with its `subtitles` file, if named) into the library at `home`
    (resuming what is committed there); a `shard` is sealed once its video is finished."""
    started = time.perf_counter()
    library = Library(Path(home))
    try:
        result = Ingestor(library, worker.models, worker.config.replace(home=Path(home)), worker.cache).ingest(
            path, progress, subtitles
        )
        if shard:
            library.close()
            seal(Path(home))
    except Exception as err:  # one video's failure is its result, not the batch's end
        return StageResult(path, None, "failed", time.perf_counter() - started, f"{type(err).__name__}: {err}")
    finally:
        library.close()
    return StageResult(
        path,
        result.video.id,
        "already" if result.already_done else "ingested",
        time.perf_counter() - started,
        warnings=result.warnings,
        resumed_from=result.resumed_from,
    )


STAGES = {"ingest": ingest_into}
