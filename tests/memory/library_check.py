"""What a library on disk must satisfy after anything: a crash, a full disk, a hostile file.

`problems(home)` opens the catalogue the way a fresh process would and lists every broken
promise in words: integrity and foreign keys, a folder for every row and a row for every
folder, every committed frame readable, every saved index loadable and whole.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import faiss
import numpy as np

from memory.frames import FrameCache, FrameStore
from memory.store import Library

READ_BATCH = 64


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


def _video_problems(library: Library, record) -> list[str]:
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
        'SELECT COUNT(*) FROM segments WHERE video = ? AND "end" > ?', (record.id, record.committed_until + 1e-3)
    ).fetchone()[0]  # times are stored to the ms
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


def library_state(home: Path) -> dict:
    """A library's contents, to compare before and after something that must not write: every table's
    rows (a logical dump, so page reuse does not count) and every file under videos/."""
    conn = sqlite3.connect(f"file:{Path(home) / 'catalogue.sqlite'}?mode=ro", uri=True)
    try:
        dump = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
        counts = {
            name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    finally:
        conn.close()
    files = {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((Path(home) / "videos").rglob("*"))
        if p.is_file()
    }
    return {"dump": dump, "counts": counts, "files": files}
