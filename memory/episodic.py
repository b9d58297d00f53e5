"""Episodic memory: what happened when, as captioned segments at several time scales.

A segment is identified by (video, scale, start): adding it again updates it in place
(same id, so facts linked to it stay linked) and is a no-op when nothing changed. Each
segment carries a text embedding, stored in the catalogue next to it: a finest-scale segment's
is of its caption (less what `embedded_caption` leaves out: motion, and the times of set
phrases), speech and on-screen text; a coarser one's is the mean of its children's.

Search is hybrid (see memory/hybrid.py: cosine on the embeddings plus BM25 over caption,
OCR and speech text, fused by a weighted sum of normalised scores) within one scale or
across all of them. Readers keep, per (video, scale), the embedding matrix and BM25 index
of the committed segments, keyed by the video's episodic revision, so a question asked
during ingest sees each newly committed batch and nothing uncommitted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.compose import embedded_caption
from memory.hybrid import HybridIndex, QueryVectors, committed_view, stack_vectors
from memory.lru import LruCache
from memory.store import Library

MEMORY = "episodic"
_COLUMNS = 'id, video, scale, start, "end", caption, ocr_text, speech_text, objects, keyframes'


def _seconds(value: float) -> float:
    """Times are kept to the millisecond so that (scale, start) compares exactly."""
    return round(float(value), 3)


@dataclass(frozen=True)
class SegmentDraft:
    """A segment to be added: what the ingest pipeline has made of one span of video."""

    scale: float
    start: float
    end: float
    caption: str = ""
    ocr_text: str = ""
    speech_text: str = ""
    objects: tuple[str, ...] = ()
    keyframes: tuple[int, ...] = ()  # frame-store indices

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        object.__setattr__(self, "keyframes", tuple(int(i) for i in self.keyframes))
        if self.scale <= 0 or self.end < self.start:
            raise ValueError(f"segment needs scale > 0 and end >= start, got {self}")


@dataclass(frozen=True)
class Segment:
    """A stored segment."""

    id: int
    video: str
    scale: float
    start: float
    end: float
    caption: str
    ocr_text: str
    speech_text: str
    objects: tuple[str, ...]
    keyframes: tuple[int, ...]

    @property
    def text(self) -> str:
        """What the segment says in words: caption, speech, on-screen text."""
        return segment_text(self)


@dataclass(frozen=True)
class SegmentHit:
    """A search result: the segment, its fused score and the two scores fused."""

    segment: Segment
    score: float
    dense: float
    lexical: float


def segment_text(segment: Segment | SegmentDraft) -> str:
    """The text that is indexed for a segment, for search by its words."""
    return _lines(segment.caption, segment.speech_text, segment.ocr_text)


def embedded_text(segment: Segment | SegmentDraft) -> str:
    """The text that is embedded for a segment, for search by meaning (`embedded_caption` says what it leaves out)."""
    return _lines(embedded_caption(segment.caption), segment.speech_text, segment.ocr_text)


def _lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part.strip())


def segment_from_row(row: sqlite3.Row) -> Segment:
    """A Segment from a row selected with the segment columns."""
    return Segment(
        id=row["id"],
        video=row["video"],
        scale=row["scale"],
        start=row["start"],
        end=row["end"],
        caption=row["caption"],
        ocr_text=row["ocr_text"],
        speech_text=row["speech_text"],
        objects=tuple(json.loads(row["objects"])),
        keyframes=tuple(json.loads(row["keyframes"])),
    )


_CONTENT_COLUMNS = ("end", "caption", "ocr_text", "speech_text", "objects", "keyframes")


def _key(draft: SegmentDraft) -> tuple[float, float]:
    return _seconds(draft.scale), _seconds(draft.start)


def _content(draft: SegmentDraft) -> tuple:
    return (
        _seconds(draft.end),
        draft.caption,
        draft.ocr_text,
        draft.speech_text,
        json.dumps(list(draft.objects)),
        json.dumps(list(draft.keyframes)),
    )


@dataclass(frozen=True)
class _Corpus:
    """The committed segments of one (video, scale), ordered by end time, ready to search."""

    revision: int
    segments: list[Segment]
    ends: np.ndarray
    index: HybridIndex
    positions: dict[int, int]  # segment id -> row

    def visible(self, until: float | None) -> int:
        """How many segments end by `until` (a prefix, since they are ordered by end)."""
        return len(self.segments) if until is None else int(np.searchsorted(self.ends, until, side="right"))


class EpisodicMemory:
    """Segments per scale, their embeddings, and hybrid search over them."""

    def __init__(self, library: Library, embedder, max_cached: int = 32):
        self.library = library
        self.embedder = embedder  # .embed(texts) -> (N, d) float32 unit rows, or None: lexical only
        self._corpora: LruCache[tuple[str, float | None], _Corpus] = LruCache(max_cached)
        self._query_vector = QueryVectors(embedder)

    # -- writing --------------------------------------------------------------------------

    def add(self, conn: sqlite3.Connection, video: str, drafts: Sequence[SegmentDraft]) -> list[Segment]:
        """Store segments inside the caller's transaction; returns them in the order given.

        A draft whose (scale, start) is already stored updates that row (re-embedding only
        when its text changed); an identical draft changes nothing. Scales are stored finest
        first, so a parent given with its children finds them stored (see `_vectors`).
        """
        latest = {_key(draft): draft for draft in drafts}  # a repeated (scale, start): the last wins
        changed = False
        for scale in sorted({scale for scale, _ in latest}):
            changed |= self._add_scale(conn, video, {key: d for key, d in latest.items() if key[0] == scale})
        if changed:
            self.library.bump(conn, video, MEMORY)
        return [segment_from_row(self._written(conn, video, draft)) for draft in drafts]

    def _add_scale(self, conn: sqlite3.Connection, video: str, latest: dict[tuple[float, float], SegmentDraft]) -> bool:
        """Insert or update the drafts of one scale; whether any row changed."""
        existing = {key: self._find(conn, video, draft) for key, draft in latest.items()}
        needs_vector = [
            key
            for key, row in existing.items()
            if row is None or embedded_text(segment_from_row(row)) != embedded_text(latest[key])
        ]
        vectors = dict(zip(needs_vector, self._vectors(conn, video, [latest[key] for key in needs_vector])))
        changed = False
        for key, draft in latest.items():
            row = existing[key]
            if row is None:
                conn.execute(
                    'INSERT INTO segments(video, scale, start, "end", caption, ocr_text, speech_text, objects, '
                    "keyframes, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (video, *key, *_content(draft), vectors[key]),
                )
                changed = True
            elif _content(draft) != tuple(row[name] for name in _CONTENT_COLUMNS):
                conn.execute(
                    'UPDATE segments SET "end" = ?, caption = ?, ocr_text = ?, speech_text = ?, objects = ?, '
                    "keyframes = ?, embedding = COALESCE(?, embedding) WHERE id = ?",
                    (*_content(draft), vectors.get(key), row["id"]),
                )
                changed = True
        return changed

    def _find(self, conn: sqlite3.Connection, video: str, draft: SegmentDraft) -> sqlite3.Row | None:
        return conn.execute(
            f"SELECT {_COLUMNS} FROM segments WHERE video = ? AND scale = ? AND start = ?",
            (video, *_key(draft)),
        ).fetchone()

    def _written(self, conn: sqlite3.Connection, video: str, draft: SegmentDraft) -> sqlite3.Row:
        """The row `add` has just inserted or updated for `draft`, in this same transaction, so it is there."""
        row = self._find(conn, video, draft)
        assert row is not None, f"segment {_key(draft)} of video {video} is missing right after it was written"
        return row

    def _vectors(self, conn: sqlite3.Connection, video: str, drafts: Sequence[SegmentDraft]) -> list[bytes | None]:
        """Each draft's embedding. A parent's is the normalised mean of its children's (the stored
        segments of the next finer scale that start inside it): it then stands for the whole of its
        span, where the encoder reads only the first 256 tokens of its text, and costs no encoder
        call, which on a talk was half of the tokens embedded. A segment with nothing finer under
        it embeds its own text."""
        made = [self._children_mean(conn, video, draft) for draft in drafts]
        embedded = iter(self._embed([embedded_text(draft) for draft, vector in zip(drafts, made) if vector is None]))
        return [next(embedded) if vector is None else vector for vector in made]

    def _children_mean(self, conn: sqlite3.Connection, video: str, draft: SegmentDraft) -> bytes | None:
        if self.embedder is None:
            return None
        rows = conn.execute(
            "SELECT embedding FROM segments WHERE video = ? AND start >= ? AND start < ? AND embedding IS NOT NULL "
            "AND scale = (SELECT MAX(scale) FROM segments WHERE video = ? AND scale < ?)",
            (video, _seconds(draft.start), _seconds(draft.end), video, _seconds(draft.scale)),
        ).fetchall()
        children = [np.frombuffer(row[0], np.float32) for row in rows if len(row[0]) == 4 * self.embedder.dim]
        if not children:
            return None
        mean = np.mean(children, axis=0)
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32).tobytes() if norm > 0 else None

    def _embed(self, texts: list[str]) -> list[bytes | None]:
        if not texts or self.embedder is None:
            return [None] * len(texts)
        matrix = np.asarray(self.embedder.embed(texts), np.float32)
        return [row.tobytes() for row in matrix]

    # -- reading --------------------------------------------------------------------------

    def segments(
        self,
        video: str,
        scale: float | None = None,
        start: float | None = None,
        end: float | None = None,
        until: float | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> list[Segment]:
        """Segments in time order; [start, end] keeps those overlapping it (half-open:
        a segment ending exactly at `start` is left out); `until` keeps those ending by then.

        `conn` reads through a given connection (a writer's, to see its own uncommitted rows);
        by default this thread's connection, which is the same one inside `transaction()`.
        """
        clauses: list[str] = ["video = ?"]
        params: list[str | float] = [video]
        for clause, value in (
            ("scale = ?", None if scale is None else _seconds(scale)),
            ('"end" > ?', start),
            ("start <= ?", end),
            ('"end" <= ?', until),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        rows = (conn or self.library.connect()).execute(
            f"SELECT {_COLUMNS} FROM segments WHERE {' AND '.join(clauses)} ORDER BY start, scale", params
        )
        return [segment_from_row(row) for row in rows]

    def scales(self, video: str) -> list[float]:
        """The scales (segment lengths in seconds) stored for a video, finest first."""
        rows = self.library.connect().execute("SELECT DISTINCT scale FROM segments WHERE video = ? ORDER BY scale", (video,))
        return [row[0] for row in rows]

    def search(
        self, video: str, query: str, scale: float | None = None, k: int = 5, until: float | None = None
    ) -> list[SegmentHit]:
        """The `k` segments most relevant to `query`, best first; scale None searches all scales."""
        corpus = self._committed(video, None if scale is None else _seconds(scale))
        ranked = corpus.index.rank(query, self._query_vector(query), k, corpus.visible(until))
        return [SegmentHit(corpus.segments[r.position], r.score, r.dense, r.lexical) for r in ranked]

    def embeddings(self, video: str, ids: Sequence[int]) -> np.ndarray:
        """The stored text embeddings of segments, one row per id in order (zeros for an unknown id).

        (N, 0) without an embedder.
        """
        corpus = self._committed(video, None)
        matrix = corpus.index.matrix
        if matrix is None:
            return np.zeros((len(ids), 0), np.float32)
        rows = np.zeros((len(ids), matrix.shape[1]), np.float32)
        for row, segment_id in enumerate(ids):
            if segment_id in corpus.positions:
                rows[row] = matrix[corpus.positions[segment_id]]
        return rows

    def _committed(self, video: str, scale: float | None) -> _Corpus:
        return committed_view(
            self.library,
            self._corpora,
            (video, scale),
            video,
            MEMORY,
            lambda conn, revision: self._load(conn, video, scale, revision),
        )

    def _load(self, conn: sqlite3.Connection, video: str, scale: float | None, revision: int) -> _Corpus:
        where, params = ("video = ?", [video]) if scale is None else ("video = ? AND scale = ?", [video, scale])
        rows = conn.execute(
            f'SELECT {_COLUMNS}, embedding FROM segments WHERE {where} ORDER BY "end", start, scale', params
        ).fetchall()
        segments = [segment_from_row(row) for row in rows]
        matrix = None if self.embedder is None else stack_vectors([row["embedding"] for row in rows], self.embedder.dim)
        ends = np.array([segment.end for segment in segments], np.float64)
        positions = {segment.id: row for row, segment in enumerate(segments)}
        return _Corpus(revision, segments, ends, HybridIndex([s.text for s in segments], matrix), positions)
