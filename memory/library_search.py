"""Search across the whole library: ranked moments from every video, with filters by video, by date
added and by modality.

The index (memory.library_index) is rebuilt only now and then; between builds videos change.
Each search compares the catalogue with the index: a video the index holds at its current
revision is searched in the index; a video ingested or changed since is "stale" and searched
through its own episodic memory (memory.episodic, cached per revision), and the two rankings
are merged by their fused scores, which mean the same in both (memory.hybrid); a forgotten
video is masked out. Past MAX_STALE stale videos the index is rebuilt first.

Generations live in `<home>/index/<name>/`; `<home>/index/CURRENT` names the one in use and
is replaced atomically, so a reader in another process opens a whole generation or the
previous one, and a builder never disturbs a search. One build at a time per library
(a file lock).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import faiss
import numpy as np

from memory.episodic import EpisodicMemory
from memory.hybrid import QueryVectors, tokenize
from memory.library_docs import (
    MODALITIES,
    VideoState,
    library_videos,
    modalities_of,
    modality_bits,
    segment_texts,
)
from memory.library_index import Generation, build
from memory.store import Library, write_atomic

INDEX = "index"
CURRENT = "CURRENT"
MAX_STALE = 16


@dataclass(frozen=True)
class Moment:
    """One ranked moment: which video, when, what was found there (in which modality), and its keyframe."""

    video: str
    name: str
    start: float
    end: float
    modality: str
    text: str
    keyframe: int | None  # frame-store index of the moment's keyframe
    score: float
    dense: float
    lexical: float
    segment: int  # the segment it comes from


@dataclass(frozen=True)
class _Hit:
    video: str
    segment: int
    start: float
    end: float
    keyframe: int
    bits: int
    score: float
    dense: float
    lexical: float


class LibrarySearch:
    """Library-wide search over one library; thread-safe."""

    def __init__(self, library: Library, episodic: EpisodicMemory, max_stale: int = MAX_STALE, threads: int = 1):
        """`threads`: faiss's OpenMP threads, a process-wide setting capped like every model's
        (models.cpu_threads): two spinning threads on a busy 2-core machine made one exact search of
        36k documents take 66 ms instead of 14 ms."""
        faiss.omp_set_num_threads(max(1, threads))
        self.library = library
        self.episodic = episodic
        self.max_stale = max_stale
        self.folder = library.home / INDEX
        self._generation: Generation | None = None
        self._lock = threading.Lock()
        self._query_vector = QueryVectors(episodic.embedder)

    @property
    def dim(self) -> int | None:
        embedder = self.episodic.embedder
        return None if embedder is None else int(embedder.dim)

    def search(
        self,
        query: str,
        k: int = 10,
        videos: Collection[str] | None = None,
        modalities: Collection[str] | None = None,
        added_after: float | None = None,
        added_before: float | None = None,
    ) -> list[Moment]:
        """The `k` best moments for `query` among the videos allowed (ids; all by default), added within
        [added_after, added_before] (Unix times), where one of `modalities` (MODALITIES) is present."""
        bits = modality_bits(modalities) if modalities else None
        current = library_videos(self.library)
        generation = self.fresh(current)
        allowed = {
            state.id
            for state in current.values()
            if (videos is None or state.id in videos)
            and (added_after is None or state.created >= added_after)
            and (added_before is None or state.created <= added_before)
        }
        held = {v.id: v for v in generation.videos}
        stale = [v for v in sorted(allowed) if v not in held or held[v].revision != current[v].revision]
        vector = self._query_vector(query)
        hits = self._indexed(generation, query, vector, k, allowed - set(stale), bits)
        hits += [hit for video in stale for hit in self._stale(video, query, k, bits)]
        hits.sort(key=lambda hit: -hit.score)
        return self._moments(hits[:k], query, bits, current)

    def fresh(self, current: dict[str, VideoState] | None = None) -> Generation:
        """The index in use, opened or rebuilt first when it is missing or too far behind the catalogue
        (unless another thread or process rebuilt it while this one waited for the build lock)."""
        current = library_videos(self.library) if current is None else current
        generation = self._open()
        if generation is not None and _stale_count(generation, current) <= self.max_stale:
            return generation
        with self._building():
            generation = self._open()
            if generation is not None and _stale_count(generation, library_videos(self.library)) <= self.max_stale:
                return generation
            return self._build(progress=None)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> Generation:
        """Build a generation of every video now in the catalogue, make it the current one, and drop older ones."""
        with self._building():
            return self._build(progress)

    @contextmanager
    def _building(self) -> Iterator[None]:
        """One builder at a time: threads by a lock, processes by a file lock."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.folder / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _build(self, progress: Callable[[int, int], None] | None) -> Generation:
        name = f"g{time.time_ns()}"
        videos = sorted(library_videos(self.library).values(), key=lambda v: (v.created, v.id))
        generation = build(self.library, videos, self.folder / name, self.dim, progress)
        write_atomic(self.folder / CURRENT, name.encode())
        self._generation = generation
        for old in self.folder.iterdir():
            if old.is_dir() and old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        return generation

    def _open(self) -> Generation | None:
        """The generation CURRENT names (None when there is none yet), opened once per generation."""
        try:
            name = (self.folder / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        held = self._generation
        if held is not None and held.folder.name == name:
            return held
        try:
            held = Generation.open(self.folder / name)
        except FileNotFoundError:  # replaced while we read CURRENT: the next one is there
            return self._open() if (self.folder / CURRENT).read_text().strip() != name else None
        self._generation = held
        return held

    def _indexed(
        self, generation: Generation, query: str, vector: np.ndarray | None, k: int, videos: set[str], bits: int | None
    ) -> list[_Hit]:
        positions = [i for i, state in enumerate(generation.videos) if state.id in videos]
        if not positions:
            return []
        columns = generation.columns
        mask = None if len(positions) == len(generation.videos) else np.isin(columns["video"], positions)
        if bits is not None:
            mask = (columns["modality"] & bits) != 0 if mask is None else mask & ((columns["modality"] & bits) != 0)
        hits = []
        for ranked in generation.rank(query, vector, k, mask):
            row = ranked.position
            hits.append(
                _Hit(
                    generation.videos[int(columns["video"][row])].id,
                    int(columns["ref"][row]),
                    float(columns["start"][row]),
                    float(columns["end"][row]),
                    int(columns["keyframe"][row]),
                    int(columns["modality"][row]),
                    ranked.score,
                    ranked.dense,
                    ranked.lexical,
                )
            )
        return hits

    def _stale(self, video: str, query: str, k: int, bits: int | None) -> list[_Hit]:
        """A video the index does not hold as it is now, searched at its finest scale through its own memory."""
        scales = self.episodic.scales(video)
        if not scales:
            return []
        hits = []
        for hit in self.episodic.search(video, query, scale=scales[0], k=k if bits is None else 4 * k):
            segment = hit.segment
            present = [
                n
                for n, t in (("speech", segment.speech_text), ("text", segment.ocr_text), ("caption", segment.caption))
                if t.strip()
            ]
            found = modality_bits(present + (["object"] if segment.objects else []))
            if bits is not None and not found & bits:
                continue
            keyframe = segment.keyframes[len(segment.keyframes) // 2] if segment.keyframes else -1
            hits.append(_Hit(video, segment.id, segment.start, segment.end, keyframe, found, hit.score, hit.dense, hit.lexical))
        return hits[:k]

    def _moments(self, hits: Sequence[_Hit], query: str, bits: int | None, current: dict[str, VideoState]) -> list[Moment]:
        texts = segment_texts(self.library, [hit.segment for hit in hits])
        moments = []
        for hit in hits:
            by_modality = texts.get(hit.segment, {})
            wanted = modalities_of(hit.bits & bits if bits is not None else hit.bits) or ["caption"]
            modality = _best_modality(query, {m: by_modality.get(m, "") for m in wanted})
            moments.append(
                Moment(
                    hit.video,
                    current[hit.video].name,
                    hit.start,
                    hit.end,
                    modality,
                    by_modality.get(modality, ""),
                    hit.keyframe if hit.keyframe >= 0 else None,
                    hit.score,
                    hit.dense,
                    hit.lexical,
                    hit.segment,
                )
            )
        return moments


def _best_modality(query: str, texts: dict[str, str]) -> str:
    """The modality whose text shares the most words with the query (the first listed on a tie)."""
    words = set(tokenize(query))
    return max(texts, key=lambda m: (len(words & set(tokenize(texts[m]))), -MODALITIES.index(m)))


def _stale_count(generation: Generation, current: dict[str, VideoState]) -> int:
    held = {v.id: v.revision for v in generation.videos}
    return sum(1 for v in current.values() if held.get(v.id) != v.revision)
