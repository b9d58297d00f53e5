"""What a library on disk must satisfy after anything (a crash, a full disk, a hostile file, a shard
commit), and what a video's memory holds, to compare two runs by.

`problems(home)` opens the catalogue the way a fresh process would and lists every broken promise
in words: integrity and foreign keys, a folder for every row and a row for every folder, every
committed frame readable, every saved index loadable and whole. `snapshot(home, video)` is
everything a video's memory holds, keyed so that two runs compare equal when they wrote the same:
its record, segments, facts, entities, frames and, through `memory.video_rows`, the rows of every
table that belongs to a video (a table added later included). `prefix_problems` says where a
killed run's memory is not a prefix of an uninterrupted run's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from memory.episodic import EpisodicMemory
from memory.frames import FrameCache, FrameStore
from memory.semantic import SemanticMemory
from memory.store import Library, VideoRecord
from memory.video_rows import canonical_rows

READ_BATCH = 64
FRAME_SAMPLE_EVERY = 7  # frames compared byte for byte: every 7th, enough to catch a shifted or damaged store
TIME_TOLERANCE = 1e-3  # times are stored to the millisecond


def integrity(home: Path) -> list[str]:
    """SQLite's own checks of the catalogue, through a plain connection (no Longshot code)."""
    conn = sqlite3.connect(Path(home) / "catalogue.sqlite", timeout=30)
    try:
        found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        broken = [f"foreign key: {tuple(row)}" for row in conn.execute("PRAGMA foreign_key_check")]
    finally:
        conn.close()
    return ([] if found == ["ok"] else [f"integrity_check: {found[:5]}"]) + broken


def orphan_folders(home: Path) -> list[str]:
    """Video folders with no catalogue row, read without opening a Library (which removes them)."""
    home = Path(home)
    folders = {p.name for p in (home / "videos").iterdir() if p.is_dir()} if (home / "videos").is_dir() else set()
    if not folders or not (home / "catalogue.sqlite").exists():
        return sorted(folders)
    conn = sqlite3.connect(f"file:{home / 'catalogue.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        rows = {row[0] for row in conn.execute("SELECT id FROM videos")}
    except sqlite3.OperationalError:  # killed before the schema was written
        rows = set()
    finally:
        conn.close()
    return sorted(folders - rows)


def problems(home: Path) -> list[str]:
    """Every way the library at `home` breaks its promises, as a fresh process opening it finds it;
    empty when it keeps them all."""
    home = Path(home)
    if not (home / "catalogue.sqlite").exists():
        return []
    found = integrity(home)
    library = Library(home)
    try:
        records = {record.id: record for record in library.videos()}
        found += [f"folder videos/{name} has no catalogue row" for name in orphan_folders(home)]
        for record in records.values():
            found += _video_problems(library, record)
    finally:
        library.close()
    return found


def _video_problems(library: Library, record: VideoRecord) -> list[str]:
    found = []
    conn = library.connect()
    store = FrameStore(library.video_dir(record.id) / "frames", record.id, FrameCache(8 << 20))
    if len(store) < record.frames:
        found.append(f"{record.id}: {record.frames} frames committed, {len(store)} in the store")
    for start in range(0, min(record.frames, len(store)), READ_BATCH):
        indices = list(range(start, min(start + READ_BATCH, record.frames)))
        try:
            frames = store.at(indices)
        except Exception as err:
            found.append(f"{record.id}: frames {indices[0]}-{indices[-1]} do not read back: {err!r}")
            break
        if frames.shape[0] != len(indices) or frames.dtype != np.uint8:
            found.append(f"{record.id}: frames {indices[0]}-{indices[-1]} read back as {frames.shape} {frames.dtype}")
    rows = conn.execute("SELECT COUNT(*), COALESCE(MAX(idx), -1) FROM visual_frames WHERE video = ?", (record.id,)).fetchone()
    if rows[0] != record.frames or rows[1] != record.frames - 1:
        found.append(f"{record.id}: {rows[0]} visual rows (last {rows[1]}) for {record.frames} committed frames")
    late = conn.execute(
        'SELECT COUNT(*) FROM segments WHERE video = ? AND "end" > ?', (record.id, record.committed_until + TIME_TOLERANCE)
    ).fetchone()[0]
    if late:
        found.append(f"{record.id}: {late} segments end after committed_until {record.committed_until}")
    index_file = library.video_dir(record.id) / "visual.faiss"
    if index_file.exists():
        try:
            index = faiss.deserialize_index(np.fromfile(index_file, np.uint8))
        except RuntimeError as err:
            found.append(f"{record.id}: visual.faiss does not load: {err}")
        else:
            if record.status == "ready" and index.ntotal != record.frames:
                found.append(f"{record.id}: visual.faiss holds {index.ntotal} vectors for {record.frames} frames")
    elif record.status == "ready" and record.frames:
        found.append(f"{record.id}: ready but no visual.faiss")
    return found


def temp_files(home: Path) -> list[Path]:
    """Files an interrupted atomic write may leave: they must not outlive a failed ingest."""
    return sorted(p for p in Path(home).rglob("*") if p.is_file() and p.name.endswith(".tmp"))


def video_state(home: Path, video: str) -> tuple[str, float] | None:
    """(status, committed_until) of a video in the catalogue at `home`, read without writing anything
    (another process may be ingesting it); None while it has no row, or no readable catalogue yet."""
    catalogue = Path(home) / "catalogue.sqlite"
    if not catalogue.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{catalogue}?mode=ro", uri=True, timeout=1.0)
        try:
            row = conn.execute("SELECT status, committed_until FROM videos WHERE id = ?", (video,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:  # being created, or recovering after a killed writer
        return None
    return None if row is None else (row[0], row[1])


def snapshot(home: Path, video: str) -> dict[str, Any]:
    """Everything a video's memory holds, keyed so that two runs compare equal when they wrote the same."""
    library = Library(home)
    try:
        return _snapshot(library, video)
    finally:
        library.close()


def _snapshot(library: Library, video: str) -> dict[str, Any]:
    record = library.video(video)
    episodic, semantic = EpisodicMemory(library, None), SemanticMemory(library, None)
    segments = episodic.segments(video)
    where = {s.id: (s.scale, s.start) for s in segments}
    conn = library.connect()
    frames = conn.execute("SELECT idx, time, embedding FROM visual_frames WHERE video = ? ORDER BY idx", (video,)).fetchall()
    store = FrameStore(library.video_dir(video) / "frames", video, FrameCache(0))
    tables = canonical_rows(conn, video)
    del tables["videos"]  # the record's memory fields are under "record"; the rest is where and when it was ingested
    return {
        "record": (record.status, record.committed_until, record.frames, record.duration),
        "segments": [(s.scale, s.start, s.end, s.caption, s.ocr_text, s.speech_text, s.objects, s.keyframes) for s in segments],
        "facts": sorted(
            (
                f.subject,
                f.relation,
                f.object,
                f.start,
                f.end,
                round(f.confidence, 6),
                f.source,
                tuple(where[i] for i in f.segments),
            )
            for f in semantic.facts(video)
        ),
        "entities": sorted((e.name, e.kind, e.aliases, e.first_seen, e.last_seen, e.count) for e in semantic.entities(video)),
        "visual": [(row["idx"], row["time"], bytes(row["embedding"])) for row in frames],
        "frames": (
            len(store),
            store.times.tolist(),
            [bytes(store.get(i).tobytes()[:4096]) for i in range(0, len(store), FRAME_SAMPLE_EVERY)],
        ),
        "tables": tables,
    }


def prefix_problems(expected: dict[str, Any], now: dict[str, Any], frames: int, committed_until: float) -> list[str]:
    """Where the memory `now` of a run stopped at `committed_until` with `frames` committed frames is
    not what the uninterrupted run's snapshot `expected` holds up to there (segments, frame
    embeddings, frame times); empty when it is a prefix."""
    until = committed_until + TIME_TOLERANCE
    found = []
    if now["segments"] != [s for s in expected["segments"] if s[2] <= until]:
        found.append(f"segments up to {committed_until} s differ from the uninterrupted run's")
    if now["visual"] != expected["visual"][:frames]:
        found.append(f"the first {frames} frame embeddings differ from the uninterrupted run's")
    if now["frames"][1][:frames] != expected["frames"][1][:frames]:
        found.append(f"the first {frames} frame times differ from the uninterrupted run's")
    return found
