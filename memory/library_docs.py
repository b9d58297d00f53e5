"""What library-wide search indexes, read from the catalogue: one document per base segment of
every video (its caption, speech and on-screen text, embedded at ingest), with its moment, its
modalities and a keyframe.

A segment holds several modalities at once; its document records which (a bit per modality
of MODALITIES, the timeline's names), so a search can keep only moments where something was
said, or shown on screen. Each video is read in one snapshot together with its episodic
revision, so an index knows exactly which state of each video it holds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from memory.episodic import MEMORY as EPISODIC
from memory.episodic import Segment, segment_from_row
from memory.hybrid import stack_vectors
from memory.store import Library
from perception.errors import LongshotError

MODALITIES = ("speech", "subtitle", "text", "scene", "object", "caption")
SEGMENT = 0  # the source of a document: a segment (timeline occurrences will be another)


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
    ref: np.ndarray  # int64: segment id
    start: np.ndarray  # float64
    end: np.ndarray  # float64
    modality: np.ndarray  # uint8 bits
    keyframe: np.ndarray  # int32 frame-store index, -1 when none
    texts: list[str]
    vectors: np.ndarray | None  # (n, dim) float32, None without an embedder

    def __len__(self) -> int:
        return len(self.ref)


def library_videos(library: Library) -> dict[str, VideoState]:
    """Every video of the catalogue with its current episodic revision."""
    rows = library.connect().execute(
        "SELECT v.id, v.name, v.created, COALESCE(r.rev, 0) AS rev FROM videos v "
        "LEFT JOIN revisions r ON r.video = v.id AND r.memory = ?",
        (EPISODIC,),
    )
    return {row["id"]: VideoState(row["id"], row["name"], row["created"], row["rev"]) for row in rows}


def library_revision(library: Library, video: str) -> int:
    """A video's current episodic revision."""
    return library.revision(library.connect(), video, EPISODIC)


def video_documents(library: Library, video: str, dim: int | None) -> tuple[int, Documents]:
    """The revision of a video's episodic memory and its base segments' documents, read in one snapshot."""
    with library.snapshot() as conn:
        revision = library.revision(conn, video, EPISODIC)
        rows = _base_segments(conn, video)
    segments = [segment_from_row(row) for row in rows]
    return revision, Documents(
        source=np.full(len(rows), SEGMENT, np.uint8),
        ref=np.array([s.id for s in segments], np.int64),
        start=np.array([s.start for s in segments], np.float64),
        end=np.array([s.end for s in segments], np.float64),
        modality=np.array([segment_bits(s) for s in segments], np.uint8),
        keyframe=np.array([s.keyframes[len(s.keyframes) // 2] if s.keyframes else -1 for s in segments], np.int32),
        texts=[s.text for s in segments],
        vectors=None if dim is None else stack_vectors([row["embedding"] for row in rows], dim),
    )


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
