"""Search across the whole library: ranked moments from every video, with filters by video, by date
added and by modality.

The index (memory.library_index) is rebuilt only now and then; between builds videos change.
Moments are base segments and timeline occurrences (memory.library_docs); where several of one
video overlap in time, the best stands for them all, so k moments are k different places.

Each search compares the catalogue with the index: a video the index holds at its current
revision is searched in the index; a video ingested or changed since is "stale": its documents
are read from the catalogue (once per revision) and scored with the index's own statistics (its
idf and mean length), so both rank on one scale and are fused together; a forgotten video is
masked out. Past MAX_STALE stale videos the index is rebuilt first.

Generations live in `<home>/index/<name>/`; `<home>/index/CURRENT` names the one in use and
is replaced atomically, so a reader in another process opens a whole generation or the
previous one, and a builder never disturbs a search. One build at a time per library
(a file lock).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from memory.hybrid import QueryVectors, tokenize
from memory.library_docs import (
    MODALITIES,
    SEGMENT,
    CatalogueVideos,
    Documents,
    VideoState,
    library_revision,
    library_videos,
    modalities_of,
    modality_bits,
    occurrence_texts,
    segment_texts,
    video_documents,
)
from memory.library_index import CANDIDATES, Generation, best_lexical, build, fused
from memory.lru import LruCache
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
    source: str  # "segment" (a base segment) or "occurrence" (a timeline occurrence)
    ref: int  # that segment's or occurrence's id


@dataclass(frozen=True)
class _StaleDocs:
    """A changed video's documents, tokenised once per revision."""

    docs: Documents
    tokens: list[list[str]]

    @classmethod
    def read(cls, library: Library, video: str, dim: int | None) -> _StaleDocs:
        _, docs = video_documents(library, video, dim)
        return cls(docs, [tokenize(text) for text in docs.texts])


@dataclass(frozen=True)
class _Hit:
    video: str
    source: int
    ref: int
    start: float
    end: float
    keyframe: int
    bits: int
    score: float
    dense: float
    lexical: float


class LibrarySearch:
    """Library-wide search over one library; thread-safe."""

    def __init__(self, library: Library, embedder: Any, max_stale: int = MAX_STALE, threads: int = 1):
        """`threads`: faiss's OpenMP threads, a process-wide setting capped like every model's
        (models.cpu_threads): two spinning threads on a busy 2-core machine made one exact search of
        36k documents take 66 ms instead of 14 ms."""
        faiss.omp_set_num_threads(max(1, threads))
        self.library = library
        self.embedder = embedder  # .embed(texts), .dim; None: lexical search only
        self.max_stale = max_stale
        self.folder = library.home / INDEX
        self._generation: Generation | None = None
        self._lock = threading.Lock()
        self._query_vector = QueryVectors(embedder)
        self._stale_docs: LruCache[tuple[str, int], _StaleDocs] = LruCache(2 * max_stale)
        self._child: subprocess.Popen | None = None  # a rebuild running in the background
        self._videos = CatalogueVideos(library)

    @property
    def dim(self) -> int | None:
        return None if self.embedder is None else int(self.embedder.dim)

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
        current = self._videos()
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
        tokens, vector, wanted = tokenize(query), self._query_vector(query), max(CANDIDATES, 5 * k)
        hits = self._indexed(generation, tokens, vector, wanted, allowed - set(stale), bits)
        hits += [hit for video in stale for hit in self._stale(generation, video, tokens, vector, wanted, bits)]
        best = best_lexical(np.array([hit.lexical for hit in hits], np.float32))
        dense = None if vector is None else np.array([hit.dense for hit in hits], np.float32)
        score, lexical = fused(np.array([hit.lexical for hit in hits], np.float32), dense, best)
        by_score = np.argsort(-score, kind="stable")
        order = by_score[_apart([hits[i] for i in by_score], k)]
        ranked = [replace(hits[i], score=float(score[i]), lexical=float(lexical[i])) for i in order]
        return self._moments(ranked, query, bits, current)

    def fresh(self, current: dict[str, VideoState] | None = None) -> Generation:
        """The index in use. The first search of a library builds it here; later, one too far behind
        the catalogue is rebuilt in a child process (the build's memory is never this process's, and
        searches go on meanwhile, the changed videos scored as stale ones) and picked up once done."""
        current = self._videos() if current is None else current
        generation = self._open()
        if generation is not None:
            if _stale_count(generation, current) > self.max_stale:
                self._rebuild_in_background()
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

    def wait(self) -> None:
        """Wait for a background rebuild, if one runs, and use what it built."""
        child = self._child
        if child is not None:
            child.wait()
            self._open()

    def _rebuild_in_background(self) -> None:
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                return
            call = f"from memory.library_search import rebuild_library; rebuild_library({str(self.library.home)!r}, {self.dim!r})"
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / "build.log").open("ab") as log:  # what a failed build said, for whoever looks
                self._child = subprocess.Popen([sys.executable, "-c", call], stdout=subprocess.DEVNULL, stderr=log)

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
        self,
        generation: Generation,
        tokens: list[str],
        vector: np.ndarray | None,
        wanted: int,
        videos: set[str],
        bits: int | None,
    ) -> list[_Hit]:
        """Candidates from the index, among `videos` and holding one of the `bits` modalities."""
        positions = [i for i, state in enumerate(generation.videos) if state.id in videos]
        if not positions:
            return []
        columns = generation.columns
        mask = None if len(positions) == len(generation.videos) else np.isin(columns["video"], positions)
        if bits is not None:
            mask = (columns["modality"] & bits) != 0 if mask is None else mask & ((columns["modality"] & bits) != 0)
        found = generation.candidates(tokens, vector, wanted, mask)
        videos_of = [generation.videos[int(i)].id for i in columns["video"][found.positions]]
        return _hits(videos_of, columns, found.positions, found.lexical, found.dense)

    def _stale(
        self, generation: Generation, video: str, tokens: list[str], vector: np.ndarray | None, wanted: int, bits: int | None
    ) -> list[_Hit]:
        """Candidates from a video the index does not hold as it is now: its documents read from the
        catalogue (kept per revision), scored with the index's statistics so that they rank on its scale."""
        revision = library_revision(self.library, video)
        held = self._stale_docs.get_or_load((video, revision), lambda: _StaleDocs.read(self.library, video, self.dim))
        docs = held.docs
        keep = np.ones(len(docs), bool) if bits is None else (docs.modality & bits) != 0
        lexical = generation.postings.score_outside(tokens, held.tokens) * keep
        dense = None if vector is None or docs.vectors is None else np.where(keep, docs.vectors @ vector, -1.0)
        found = np.flatnonzero(lexical)
        chosen = found[np.argsort(-lexical[found], kind="stable")[:wanted]]
        if dense is not None:
            chosen = np.union1d(chosen, np.argsort(-dense, kind="stable")[: min(wanted, int(keep.sum()))])
        columns = {name: getattr(docs, name) for name in ("source", "ref", "start", "end", "keyframe", "modality")}
        return _hits([video] * len(chosen), columns, chosen, lexical[chosen], None if dense is None else dense[chosen])

    def _moments(self, hits: Sequence[_Hit], query: str, bits: int | None, current: dict[str, VideoState]) -> list[Moment]:
        segments = segment_texts(self.library, [hit.ref for hit in hits if hit.source == SEGMENT])
        occurrences = occurrence_texts(self.library, [hit.ref for hit in hits if hit.source != SEGMENT])
        moments = []
        for hit in hits:
            if hit.source == SEGMENT:
                by_modality = segments.get(hit.ref, {})
                wanted = modalities_of(hit.bits & bits if bits is not None else hit.bits) or ["caption"]
                modality = _best_modality(query, {m: by_modality.get(m, "") for m in wanted})
                text = by_modality.get(modality, "")
            else:
                modality, text = occurrences.get(hit.ref, (modalities_of(hit.bits)[0], ""))
            moments.append(
                Moment(
                    hit.video,
                    current[hit.video].name,
                    hit.start,
                    hit.end,
                    modality,
                    text,
                    hit.keyframe if hit.keyframe >= 0 else None,
                    hit.score,
                    hit.dense,
                    hit.lexical,
                    "segment" if hit.source == SEGMENT else "occurrence",
                    hit.ref,
                )
            )
        return moments


def rebuild_library(home: str, dim: int | None) -> None:
    """A rebuild in a process of its own (what `_rebuild_in_background` runs): the catalogue is all it needs."""
    LibrarySearch(Library(Path(home)), None if dim is None else _Dimension(dim)).rebuild()


@dataclass(frozen=True)
class _Dimension:
    """What a rebuild needs of the text embedder: the size of its vectors (it reads them, never makes one)."""

    dim: int


def _hits(
    videos: Sequence[str], columns: Mapping[str, np.ndarray], rows: np.ndarray, lexical: np.ndarray, dense: np.ndarray | None
) -> list[_Hit]:
    """Candidates as hits, with their raw BM25 and cosine; `score` is set once every corpus is in."""
    return [
        _Hit(
            video,
            int(columns["source"][row]),
            int(columns["ref"][row]),
            float(columns["start"][row]),
            float(columns["end"][row]),
            int(columns["keyframe"][row]),
            int(columns["modality"][row]),
            0.0,
            0.0 if dense is None else float(dense[i]),
            float(lexical[i]),
        )
        for i, (video, row) in enumerate(zip(videos, rows))
    ]


def _apart(ranked: Sequence[_Hit], k: int) -> list[int]:
    """Positions in `ranked` (best first) of the first `k` hits that overlap no better hit of their video."""
    kept: list[int] = []
    for i, hit in enumerate(ranked):
        if not any(_overlap(hit, ranked[j]) for j in kept):
            kept.append(i)
            if len(kept) == k:
                break
    return kept


def _overlap(a: _Hit, b: _Hit) -> bool:
    return a.video == b.video and ((a.start < b.end and b.start < a.end) or (a.start, a.end) == (b.start, b.end))


def _best_modality(query: str, texts: dict[str, str]) -> str:
    """The modality whose text shares the most words with the query (the first listed on a tie)."""
    words = set(tokenize(query))
    return max(texts, key=lambda m: (len(words & set(tokenize(texts[m]))), -MODALITIES.index(m)))


def _stale_count(generation: Generation, current: dict[str, VideoState]) -> int:
    held = {v.id: v.revision for v in generation.videos}
    return sum(1 for v in current.values() if held.get(v.id) != v.revision)
