"""Visual memory: one embedding per stored frame, searched with faiss.

The catalogue rows (video, frame-store index, time, embedding) are the source of truth,
written inside the ingest pipeline's transaction; the faiss index is a cache of them.
Frames are immutable (frame i is always frame i), so rows are only ever appended (adding
an index again is ignored) or deleted with their video: the cached index of a video is
keyed by its row count and last index, and extended with the new rows when only appends
happened.

Index kind: exact inner product (IndexFlatIP) up to `exact_limit` vectors, where it is fast
enough and never wrong; an inverted file (IndexIVFFlat, probing `nprobe` lists) above,
retrained when the video has doubled since training. Rows are kept in time order, so a
question limited to `until` searches a prefix of the index (an IDSelectorRange).
`save_index` writes the index next to the frames; a later process loads it when its size
matches the committed rows, and rebuilds it from the catalogue otherwise.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import faiss
import numpy as np

from memory.lru import LruCache
from memory.store import Library, write_atomic
from perception.errors import LongshotError, StorageError

EXACT_LIMIT = 100_000
INDEX_FILE = "visual.faiss"


class EmbeddingSpaceError(LongshotError):
    """Vectors from a different embedder (or size) than the video's visual memory holds."""


@dataclass(frozen=True)
class FrameHit:
    video: str
    index: int  # frame-store index
    time: float
    score: float  # cosine similarity


@dataclass
class _Index:
    """A faiss index over the first `len(times)` rows of a video, in time order."""

    index: faiss.Index
    indices: np.ndarray  # frame-store index of each position
    times: np.ndarray  # time of each position (non-decreasing)
    trained_on: int  # vectors an IVF index was trained on; 0 for exact
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key(self) -> tuple[int, int]:
        return len(self.indices), int(self.indices[-1]) if len(self.indices) else -1


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.array(vectors, np.float32, copy=True, ndmin=2)
    faiss.normalize_L2(vectors)
    return vectors


class VisualMemory:
    """Frame embeddings per video, with exact or approximate nearest-neighbour search."""

    def __init__(self, library: Library, exact_limit: int = EXACT_LIMIT, nprobe: int = 16, max_cached: int = 8):
        self.library = library
        self.exact_limit = exact_limit
        self.nprobe = nprobe
        self._indexes: LruCache[str, _Index] = LruCache(max_cached)
        self._refresh = threading.Lock()  # one thread at a time checks and extends the cached indexes

    # -- writing ----------------------------------------------------------------------------

    def add(
        self,
        conn: sqlite3.Connection,
        video: str,
        indices: Sequence[int],
        times: Sequence[float] | np.ndarray,
        embeddings: np.ndarray,
        embedder_name: str,
    ) -> None:
        """Store frame embeddings inside the caller's transaction; an index already stored is kept."""
        vectors = _unit(embeddings)
        if not (len(indices) == len(times) == len(vectors)):
            raise ValueError(f"{len(indices)} indices, {len(times)} times and {len(vectors)} embeddings differ in number")
        if not len(vectors):
            return
        space = self.space(video, conn)
        if space is None:
            conn.execute(
                "INSERT INTO visual_spaces(video, embedder, dim) VALUES (?, ?, ?)", (video, embedder_name, vectors.shape[1])
            )
        elif space != (embedder_name, vectors.shape[1]):
            raise EmbeddingSpaceError(
                f"video {video} holds {space[0]} frame embeddings of size {space[1]}, not {embedder_name} of size "
                f"{vectors.shape[1]}; forget the video and ingest it again to change the image embedder"
            )
        conn.executemany(
            "INSERT OR IGNORE INTO visual_frames(video, idx, time, embedding) VALUES (?, ?, ?, ?)",
            [(video, int(i), float(t), v.tobytes()) for i, t, v in zip(indices, times, vectors)],
        )

    def space(self, video: str, conn: sqlite3.Connection | None = None) -> tuple[str, int] | None:
        """(embedder name, dimension) of a video's frame embeddings, or None before the first frame."""
        row = (
            (conn or self.library.connect())
            .execute("SELECT embedder, dim FROM visual_spaces WHERE video = ?", (video,))
            .fetchone()
        )
        return None if row is None else (row["embedder"], row["dim"])

    # -- reading ----------------------------------------------------------------------------

    def search(self, video: str, vector: np.ndarray, k: int = 8, until: float | None = None) -> list[FrameHit]:
        """The `k` frames whose embeddings are closest to `vector` (cosine), best first."""
        cached = self._index(video)
        if cached is None or k <= 0:
            return []
        query = _unit(vector)
        if query.shape[1] != cached.index.d:
            space = self.space(video)
            embedder = f": embed it with {space[0]}" if space is not None else ""
            raise EmbeddingSpaceError(
                f"video {video} holds frame embeddings of size {cached.index.d}; the query has size {query.shape[1]}{embedder}"
            )
        with cached.lock:
            visible = len(cached.times) if until is None else int(np.searchsorted(cached.times, until, side="right"))
            if visible == 0:
                return []
            # Field by field: faiss's stubs omit the keyword constructor, which only sets these same fields.
            params: faiss.SearchParameters
            if cached.trained_on:
                params = ivf = faiss.SearchParametersIVF()
                ivf.nprobe = self.nprobe
            else:
                params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorRange(0, visible)
            scores, positions = cached.index.search(query, min(k, visible), params=params)
        return [
            FrameHit(video, int(cached.indices[p]), float(cached.times[p]), float(s))
            for s, p in zip(scores[0], positions[0])
            if p >= 0
        ]

    def vectors(self, video: str, until: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(times, embeddings) of the video's frames in time order, for novelty and scene work."""
        limit, params = ("AND time <= ?", (video, until)) if until is not None else ("", (video,))
        rows = (
            self.library.connect()
            .execute(f"SELECT time, embedding FROM visual_frames WHERE video = ? {limit} ORDER BY time, idx", params)
            .fetchall()
        )
        space = self.space(video)
        dim = space[1] if space else 0
        times = np.array([row[0] for row in rows], np.float64)
        embeddings = np.frombuffer(b"".join(row[1] for row in rows), np.float32).reshape(len(rows), dim)
        return times, embeddings

    def save_index(self, video: str) -> None:
        """Persist the video's index to <video_dir>/visual.faiss (temp file + rename)."""
        cached = self._index(video)
        if cached is None:
            return
        with cached.lock:
            data = faiss.serialize_index(cached.index).tobytes()
        folder = self.library.video_dir(video)
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / INDEX_FILE, data)

    # -- the cached index -------------------------------------------------------------------

    def _index(self, video: str) -> _Index | None:
        """The index of the committed rows: cached, extended, loaded from disk, or rebuilt."""
        conn = self.library.connect()
        if conn.in_transaction:  # rows this thread has not committed may be rolled back: never cache them
            return self._build(conn, video) if self._extent(conn, video)[0] else None
        with self._refresh, self.library.snapshot() as conn:
            count, last = self._extent(conn, video)
            if count == 0:
                return None
            cached = self._indexes.get(video)
            if cached is not None and cached.key == (count, last):
                return cached
            fresh = (
                (cached is not None and self._extend(conn, video, cached, count))
                or self._load(conn, video, count)
                or self._build(conn, video)
            )
            self._indexes.put(video, fresh)
            return fresh

    def _extent(self, conn: sqlite3.Connection, video: str) -> tuple[int, int]:
        """(row count, last frame index) of a video: what a cached index is keyed by."""
        return tuple(
            conn.execute("SELECT COUNT(*), COALESCE(MAX(idx), -1) FROM visual_frames WHERE video = ?", (video,)).fetchone()
        )

    def _extend(self, conn: sqlite3.Connection, video: str, cached: _Index, count: int) -> _Index | None:
        """The cached index with the rows appended since; None when a rebuild is due instead."""
        old = len(cached.indices)
        if (
            count < old
            or (cached.trained_on and count > 2 * cached.trained_on)
            or (not cached.trained_on and count > self.exact_limit)
        ):
            return None
        rows = conn.execute(
            "SELECT idx, time, embedding FROM visual_frames WHERE video = ? AND idx > ? ORDER BY time, idx",
            (video, int(cached.indices[-1])),
        ).fetchall()
        if old + len(rows) != count or (rows and rows[0]["time"] < cached.times[-1]):
            return None
        indices, times, vectors = _columns(rows, cached.index.d)
        with cached.lock:
            cached.index.add(vectors)
            cached.indices = np.concatenate([cached.indices, indices])
            cached.times = np.concatenate([cached.times, times])
        return cached

    def _load(self, conn: sqlite3.Connection, video: str, count: int) -> _Index | None:
        """The index saved by `save_index`, when it holds exactly the committed rows."""
        path = self.library.video_dir(video) / INDEX_FILE
        if not path.is_file():
            return None
        try:
            index = faiss.deserialize_index(np.fromfile(path, np.uint8))
        except (RuntimeError, OSError):  # a damaged file is only a cache: rebuild it
            return None
        if index.ntotal != count:
            return None
        rows = conn.execute("SELECT idx, time FROM visual_frames WHERE video = ? ORDER BY time, idx", (video,)).fetchall()
        ivf = faiss.try_extract_index_ivf(index)
        return _Index(
            index,
            np.array([row[0] for row in rows], np.int64),
            np.array([row[1] for row in rows], np.float64),
            trained_on=count if ivf is not None else 0,
        )

    def _build(self, conn: sqlite3.Connection, video: str) -> _Index:
        space = self.space(video, conn)
        if space is None:
            raise StorageError(f"video {video} has frame rows but no embedding space; forget it and ingest it again")
        rows = conn.execute(
            "SELECT idx, time, embedding FROM visual_frames WHERE video = ? ORDER BY time, idx", (video,)
        ).fetchall()
        indices, times, vectors = _columns(rows, space[1])
        index: faiss.Index
        if len(vectors) <= self.exact_limit:
            index = faiss.IndexFlatIP(space[1])
            trained_on = 0
        else:
            lists = max(1, min(int(4 * math.sqrt(len(vectors))), len(vectors) // 39))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(space[1]), space[1], lists, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
            trained_on = len(vectors)
        index.add(vectors)
        return _Index(index, indices, times, trained_on)


def _columns(rows: Sequence[sqlite3.Row], dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    indices = np.array([row["idx"] for row in rows], np.int64)
    times = np.array([row["time"] for row in rows], np.float64)
    vectors = np.frombuffer(b"".join(row["embedding"] for row in rows), np.float32).reshape(len(rows), dim).copy()
    return indices, times, vectors
