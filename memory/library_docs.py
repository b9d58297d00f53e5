"""What library-wide search indexes, read from the catalogue, for every video: one document per
base segment (its caption, speech and on-screen text, embedded at ingest) and one per timeline
occurrence of the modalities in INDEXED (an utterance, a subtitle cue, a run of on-screen text,
a detection run, at their own times), each with its moment, its modalities and a keyframe.

A segment holds several modalities at once; its document records which (a bit per modality
of MODALITIES, the timeline's names), so a search can keep only moments where something was
said, or shown on screen; an occurrence holds one. The timeline's scene changes ("scene change",
the same words everywhere) and captions (a base segment's caption again) add nothing a library
search could rank, so they are left to each video's own timeline. Each video is read in one
snapshot together with its revision (its episodic and timeline revisions summed: both only
grow), so an index knows exactly which state of each video it holds.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from memory.episodic import MEMORY as EPISODIC
from memory.episodic import Segment, segment_from_row
from memory.hybrid import stack_vectors
from memory.store import Library
from memory.timeline import MEMORY as TIMELINE
from memory.timeline import MODALITIES
from perception.errors import LongshotError

SEGMENT, OCCURRENCE = 0, 1  # the source of a document: a base segment, or a timeline occurrence
INDEXED = ("speech", "subtitle", "text", "object")  # the timeline's modalities indexed library-wide


class UnknownModalityError(LongshotError, ValueError):
    """A modality that is not one of MODALITIES."""


def modality_bits(names: Iterable[str]) -> int:
    """The bit mask of modality names (UnknownModalityError for one not in MODALITIES)."""
    bits = 0
    for name in names:
        if name not in MODALITIES:
            raise UnknownModalityError(f"unknown modality {name!r}; known: {', '.join(MODALITIES)}")
        bits |= 1 << MODALITIES.index(name)
    return bits


def modalities_of(bits: int) -> list[str]:
    return [name for i, name in enumerate(MODALITIES) if bits >> i & 1]


@dataclass(frozen=True)
class VideoState:
    """A video as an index sees it: its name, when it was added, and its memory's revision."""

    id: str
    name: str
    created: float
    revision: int


@dataclass(frozen=True)
class Documents:
    """The documents of one video: arrays with one row each, the texts to index, and the vectors."""

    source: np.ndarray  # uint8
    ref: np.ndarray  # int64: segment id or occurrence id, by source
    start: np.ndarray  # float64
    end: np.ndarray  # float64
    modality: np.ndarray  # uint8 bits
    keyframe: np.ndarray  # int32 frame-store index, -1 when none
    texts: list[str]
    vectors: np.ndarray | None  # (n, dim) float32, None without an embedder

    def __len__(self) -> int:
        return len(self.ref)


def library_videos(library: Library) -> dict[str, VideoState]:
    """Every video of the catalogue with its current revision."""
    rows = library.connect().execute(
        "SELECT v.id, v.name, v.created, COALESCE(SUM(r.rev), 0) AS rev FROM videos v "
        "LEFT JOIN revisions r ON r.video = v.id AND r.memory IN (?, ?) GROUP BY v.id",
        (EPISODIC, TIMELINE),
    )
    return {row["id"]: VideoState(row["id"], row["name"], row["created"], row["rev"]) for row in rows}


class CatalogueVideos:
    """`library_videos`, read again only once the catalogue has changed: a search reads it every time, and
    reading 800 videos' rows took 14 ms of a 90 ms search at 1000 h. Changed means another connection
    committed (SQLite's data_version moved) or this thread's connection wrote (its total_changes moved)."""

    def __init__(self, library: Library):
        self.library = library
        self._held: tuple[sqlite3.Connection, int, int, dict[str, VideoState]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, VideoState]:
        conn = self.library.connect()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        with self._lock:
            held = self._held
        if held is not None and held[0] is conn and held[1:3] == (version, conn.total_changes):
            return held[3]
        current = library_videos(self.library)
        with self._lock:
            self._held = (conn, version, conn.total_changes, current)
        return current


def library_revision(library: Library, video: str) -> int:
    """A video's current revision: its episodic and timeline revisions summed."""
    return _revision(library.connect(), library, video)


def _revision(conn: sqlite3.Connection, library: Library, video: str) -> int:
    return library.revision(conn, video, EPISODIC) + library.revision(conn, video, TIMELINE)


def video_documents(library: Library, video: str, dim: int | None) -> tuple[int, Documents]:
    """A video's revision and its documents (base segments, then occurrences), read in one snapshot."""
    with library.snapshot() as conn:
        revision = _revision(conn, library, video)
        rows = _base_segments(conn, video)
        found = _occurrences(conn, video)
    segments = [segment_from_row(row) for row in rows]
    return revision, Documents(
        source=np.array([SEGMENT] * len(rows) + [OCCURRENCE] * len(found), np.uint8),
        ref=np.array([s.id for s in segments] + [row["id"] for row in found], np.int64),
        start=np.array([s.start for s in segments] + [row["start"] for row in found], np.float64),
        end=np.array([s.end for s in segments] + [row["end"] for row in found], np.float64),
        modality=np.array([segment_bits(s) for s in segments] + [modality_bits([row["modality"]]) for row in found], np.uint8),
        keyframe=np.array(
            [_middle(s.keyframes) for s in segments] + [_middle(json.loads(row["keyframes"] or "[]")) for row in found], np.int32
        ),
        texts=[s.text for s in segments] + [row["text"] for row in found],
        vectors=None if dim is None else stack_vectors([row["embedding"] for row in [*rows, *found]], dim),
    )


def _middle(keyframes: Sequence[int]) -> int:
    return keyframes[len(keyframes) // 2] if keyframes else -1


def segment_texts(library: Library, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Each segment's text per modality ("caption", "speech", "text", "object"), for showing results."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = library.connect().execute(
        f"SELECT id, caption, ocr_text, speech_text, objects FROM segments WHERE id IN ({marks})", list(ids)
    )
    return {
        row["id"]: {
            "speech": row["speech_text"],
            "text": row["ocr_text"],
            "caption": row["caption"],
            "object": ", ".join(json.loads(row["objects"])),
        }
        for row in rows
    }


def occurrence_texts(library: Library, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Each occurrence's modality and text, for showing results."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = library.connect().execute(f"SELECT id, modality, text FROM occurrences WHERE id IN ({marks})", list(ids))
    return {row["id"]: (row["modality"], row["text"]) for row in rows}


def _occurrences(conn: sqlite3.Connection, video: str) -> list[sqlite3.Row]:
    """A video's indexed occurrences in time order, with the keyframes of the base segment each starts in."""
    marks = ",".join("?" * len(INDEXED))
    return conn.execute(
        'SELECT o.id, o.modality, o.start, o."end", o.text, o.embedding, s.keyframes FROM occurrences o '
        f"LEFT JOIN segments s ON s.id = o.segment WHERE o.video = ? AND o.modality IN ({marks}) ORDER BY o.start, o.id",
        (video, *INDEXED),
    ).fetchall()


def _base_segments(conn: sqlite3.Connection, video: str) -> list[sqlite3.Row]:
    finest = conn.execute("SELECT MIN(scale) FROM segments WHERE video = ?", (video,)).fetchone()[0]
    if finest is None:
        return []
    return conn.execute(
        'SELECT id, video, scale, start, "end", caption, ocr_text, speech_text, objects, keyframes, embedding '
        "FROM segments WHERE video = ? AND scale = ? ORDER BY start",
        (video, finest),
    ).fetchall()


def segment_bits(segment: Segment) -> int:
    """The modalities a segment holds: speech, on-screen text, a caption, objects."""
    present = {"speech": segment.speech_text, "text": segment.ocr_text, "caption": segment.caption}
    names = [name for name, text in present.items() if text.strip()]
    return modality_bits(names + (["object"] if segment.objects else []))
