"""The library: one home folder holding a SQLite catalogue and one folder per video.

Layout::

    <home>/catalogue.sqlite     videos, segments, entities, facts, frame embeddings, occurrences (WAL mode)
    <home>/videos/<id>/         frame bundles and index files of one video
    <home>/locks/<id>.lock      ingest locks (flock), kept so waiters never lock a deleted inode

The catalogue is the source of truth; files under a video folder are caches or bulk data
written with `write_atomic`, so a crash never leaves a half-written file in place.

Concurrency: every thread gets its own connection. Writers take `transaction()` (BEGIN
IMMEDIATE, so a write never fails half way on a lock); readers outside a transaction see
only committed data, which is how questions run while a video is being ingested. Each
memory bumps a per-video revision inside the writer's transaction so reader-side caches
know when to reload (`revision`).
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from perception.errors import DiskFullError, StorageError, UnreadableVideoError, VideoNotFoundError, VideoReferenceError

SCHEMA_VERSION = 2  # 2: the event timeline (occurrences)
BUSY_TIMEOUT_S = 5.0
LOCKED_RETRY_S = 30.0  # total time `transaction` keeps retrying a busy BEGIN before giving up
MIN_PREFIX = 6
_ID = re.compile(r"[0-9a-f]{6,64}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, path TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    duration REAL NOT NULL, fps REAL NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    has_audio INTEGER NOT NULL, status TEXT NOT NULL, committed_until REAL NOT NULL,
    frames INTEGER NOT NULL, sample_fps REAL NOT NULL, settings TEXT NOT NULL, error TEXT,
    created REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_name ON videos(name);
CREATE TABLE IF NOT EXISTS revisions (
    video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, memory TEXT NOT NULL,
    rev INTEGER NOT NULL, PRIMARY KEY (video, memory)
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY, video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    scale REAL NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL, caption TEXT NOT NULL,
    ocr_text TEXT NOT NULL, speech_text TEXT NOT NULL, objects TEXT NOT NULL,
    keyframes TEXT NOT NULL, embedding BLOB, UNIQUE (video, scale, start)
);
CREATE INDEX IF NOT EXISTS segments_time ON segments(video, scale, "end");
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY, video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    name TEXT NOT NULL, norm TEXT NOT NULL, kind TEXT NOT NULL, embedding BLOB,
    UNIQUE (video, norm)
);
CREATE TABLE IF NOT EXISTS entity_aliases (
    entity INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    alias TEXT NOT NULL, norm TEXT NOT NULL, seen REAL NOT NULL, UNIQUE (video, norm)
);
CREATE INDEX IF NOT EXISTS entity_aliases_entity ON entity_aliases(entity);
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY, video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    entity INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    relation TEXT NOT NULL, object TEXT NOT NULL, object_norm TEXT NOT NULL,
    source TEXT NOT NULL, embedding BLOB, object_embedding BLOB
);
CREATE INDEX IF NOT EXISTS facts_subject ON facts(video, entity, relation);
CREATE TABLE IF NOT EXISTS fact_segments (
    fact INTEGER NOT NULL REFERENCES facts(id) ON DELETE CASCADE,
    segment INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    start REAL NOT NULL, "end" REAL NOT NULL, confidence REAL NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY (fact, segment)
);
CREATE INDEX IF NOT EXISTS fact_segments_segment ON fact_segments(segment);
CREATE TABLE IF NOT EXISTS visual_spaces (
    video TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
    embedder TEXT NOT NULL, dim INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS visual_frames (
    video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    time REAL NOT NULL, embedding BLOB NOT NULL, PRIMARY KEY (video, idx)
);
CREATE TABLE IF NOT EXISTS occurrences (
    id INTEGER PRIMARY KEY, video TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    modality TEXT NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL, text TEXT NOT NULL,
    data TEXT NOT NULL, segment INTEGER REFERENCES segments(id) ON DELETE SET NULL, embedding BLOB
);
CREATE INDEX IF NOT EXISTS occurrences_time ON occurrences(video, start);
CREATE INDEX IF NOT EXISTS occurrences_end ON occurrences(video, modality, "end");
CREATE INDEX IF NOT EXISTS occurrences_segment ON occurrences(segment);
"""


class VideoBusyError(StorageError):
    """Another thread or process is ingesting this video right now."""


@dataclass(frozen=True)
class VideoRecord:
    """One video in the library, as the catalogue knows it."""

    id: str
    name: str
    path: str
    size_bytes: int
    duration: float
    fps: float
    width: int
    height: int
    has_audio: bool
    status: str  # "ingesting" | "ready" | "failed"
    committed_until: float  # seconds of video whose memory is committed
    frames: int  # frames committed in the frame store
    sample_fps: float
    settings: dict  # ingest settings used (scales, segment_seconds, embedder names...)
    error: str | None
    created: float
    updated: float


_FIELDS = [field.name for field in dataclasses.fields(VideoRecord)]


def _record(row: sqlite3.Row) -> VideoRecord:
    values = dict(row)
    values["has_audio"] = bool(values["has_audio"])
    values["settings"] = json.loads(values["settings"])
    return VideoRecord(**values)


def _column_value(name: str, value: object) -> object:
    if name == "settings":
        return json.dumps(value, sort_keys=True)
    if name == "has_audio":
        return int(bool(value))
    return value


def check_id(video_id: str) -> str:
    """Return `video_id` if it is a plain lowercase hex id, so it is safe inside a path."""
    if not isinstance(video_id, str) or not _ID.fullmatch(video_id):
        raise VideoNotFoundError(f"{video_id!r} is not a video id (expected 6-64 lowercase hex digits)")
    return video_id


def _is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "database or disk is full" in str(exc)


def _is_io_error(exc: BaseException) -> bool:
    """SQLite's word for a write it could not make, such as the shared-memory file of a WAL on a full disk."""
    return isinstance(exc, sqlite3.OperationalError) and "disk I/O error" in str(exc)


def _no_space_at(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free == 0
    except OSError:
        return False


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("database is locked" in str(exc) or "database is busy" in str(exc))


class Library:
    """The catalogue and the per-video folders under one home."""

    def __init__(self, home: Path):
        self.home = Path(home).expanduser()
        self.catalogue = self.home / "catalogue.sqlite"
        try:
            for folder in (self.home, self.home / "videos", self.home / "locks"):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._storage_error(exc, f"cannot create the library home {self.home}") from exc
        self._local = threading.local()
        # Written only when new or older: a library on a full disk still opens, to read and to forget videos.
        if self.connect().execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            with self.transaction() as conn:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._remove_orphan_folders()

    def _remove_orphan_folders(self) -> None:
        """Delete the video folders that have no catalogue row and no ingest running: what an ingest
        killed before its first commit leaves behind (one that fails cleans up after itself)."""
        try:
            names = [entry.name for entry in os.scandir(self.home / "videos") if entry.is_dir() and _ID.fullmatch(entry.name)]
        except OSError:
            return
        if not names:
            return
        known = {row[0] for row in self.connect().execute("SELECT id FROM videos")}
        for name in set(names) - known:
            try:
                with self.ingest_lock(name, wait=False):  # an ingest under way holds it: its folder stays
                    if self.connect().execute("SELECT 1 FROM videos WHERE id = ?", (name,)).fetchone() is None:
                        shutil.rmtree(self.video_dir(name), ignore_errors=True)
            except (VideoBusyError, OSError):
                continue

    # -- connections and transactions -------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode: statements outside a transaction see committed data)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def _open(self) -> sqlite3.Connection:
        deadline = time.monotonic() + LOCKED_RETRY_S
        while True:
            try:
                conn = sqlite3.connect(self.catalogue, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA synchronous = NORMAL")
                if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                    raise StorageError(f"{self.catalogue} cannot use WAL mode (is it on a network filesystem?)")
                return conn
            except sqlite3.Error as exc:
                if _is_locked(exc) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise self._storage_error(exc, f"cannot open the library catalogue {self.catalogue}") from exc

    def close(self) -> None:
        """Close the calling thread's connection (another call to `connect` reopens one)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write. Nested calls become savepoints of the outer transaction.

        BEGIN IMMEDIATE takes the write lock up front, so the body never meets a lock half
        way; a busy BEGIN is retried for a while so users never see "database is locked".
        """
        conn = self.connect()
        if conn.in_transaction:
            yield from self._savepoint(conn)
            return
        self._begin(conn)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise self._storage_error(exc, "cannot write to the library") from exc
            raise

    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        self._local.depth += 1
        name = f"nested_{self._local.depth}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            self._local.depth -= 1

    def _begin(self, conn: sqlite3.Connection) -> None:
        deadline = time.monotonic() + LOCKED_RETRY_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if _is_locked(exc) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise self._storage_error(exc, "cannot start a write to the library") from exc

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one committed state.

        Inside a write transaction of this thread it simply reuses it (and so sees its own
        uncommitted writes); callers that cache must check `conn.in_transaction` first.
        """
        conn = self.connect()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _storage_error(self, exc: BaseException, what: str) -> StorageError:
        if _is_disk_full(exc) or (_is_io_error(exc) and _no_space_at(self.home)):
            return DiskFullError(
                f"{what}: no space left on the disk holding {self.home}; free some space or move the library home (LONGSHOT_HOME)"
            )
        if _is_locked(exc):
            return StorageError(
                f"{what}: {self.catalogue} stayed locked by another process for over "
                f"{LOCKED_RETRY_S:.0f} s; stop the other Longshot process or try again"
            )
        return StorageError(f"{what}: {exc}")

    # -- revisions: what reader caches key on ---------------------------------------------

    def bump(self, conn: sqlite3.Connection, video_id: str, memory: str) -> None:
        """Mark `memory` of a video as changed, inside the writer's transaction."""
        conn.execute(
            "INSERT INTO revisions(video, memory, rev) VALUES (?, ?, 1) ON CONFLICT(video, memory) DO UPDATE SET rev = rev + 1",
            (video_id, memory),
        )

    def revision(self, conn: sqlite3.Connection, video_id: str, memory: str) -> int:
        """How many committed changes `memory` of a video has seen; 0 when none."""
        row = conn.execute("SELECT rev FROM revisions WHERE video = ? AND memory = ?", (video_id, memory)).fetchone()
        return row[0] if row else 0

    # -- videos -------------------------------------------------------------------------

    def video_dir(self, video_id: str) -> Path:
        """The folder of one video (not created here)."""
        return self.home / "videos" / check_id(video_id)

    def upsert_video(self, conn: sqlite3.Connection, record: VideoRecord) -> None:
        """Insert or replace a video row; a row already there keeps its `created` time."""
        check_id(record.id)
        values = [_column_value(name, getattr(record, name)) for name in _FIELDS]
        updates = ", ".join(f"{name} = excluded.{name}" for name in _FIELDS if name not in ("id", "created"))
        conn.execute(
            f"INSERT INTO videos({', '.join(_FIELDS)}) VALUES ({', '.join('?' * len(_FIELDS))}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}",
            values,
        )

    def update_video(self, conn: sqlite3.Connection, video_id: str, **fields: object) -> None:
        """Change some fields of a video row; `updated` is set to now unless given."""
        unknown = set(fields) - set(_FIELDS) | ({"id"} & set(fields))
        if unknown:
            raise ValueError(f"cannot update video fields {sorted(unknown)}")
        fields.setdefault("updated", time.time())
        assignments = ", ".join(f"{name} = ?" for name in fields)
        cursor = conn.execute(
            f"UPDATE videos SET {assignments} WHERE id = ?",
            [_column_value(name, value) for name, value in fields.items()] + [video_id],
        )
        if cursor.rowcount == 0:
            raise VideoNotFoundError(f"no video {video_id!r} in the library at {self.home}")

    def video(self, key: str) -> VideoRecord:
        """A video by id, by unique id prefix (at least 6 characters), or by name."""
        if not isinstance(key, str):
            raise VideoReferenceError(f"a video is named by its id or file name (a string), not {type(key).__name__}")
        conn = self.connect()
        row = conn.execute("SELECT * FROM videos WHERE id = ?", (key,)).fetchone()
        if row:
            return _record(row)
        rows = conn.execute("SELECT * FROM videos WHERE name = ? ORDER BY created", (key,)).fetchall()
        if not rows and len(key) >= MIN_PREFIX and _ID.fullmatch(key):
            rows = conn.execute("SELECT * FROM videos WHERE id LIKE ? ORDER BY created", (key + "%",)).fetchall()
        if len(rows) == 1:
            return _record(rows[0])
        if rows:
            ids = ", ".join(row["id"] for row in rows)
            raise VideoNotFoundError(f"{key!r} matches {len(rows)} videos ({ids}); name one by its id")
        raise VideoNotFoundError(f"no video {key!r} in the library at {self.home}; ingest it first (`longshot ingest PATH`)")

    def videos(self) -> list[VideoRecord]:
        """Every video, oldest first."""
        rows = self.connect().execute("SELECT * FROM videos ORDER BY created, id").fetchall()
        return [_record(row) for row in rows]

    def forget(self, video_id: str) -> None:
        """Delete a video: its rows (every memory cascades) and its folder.

        Refuses while the video is being ingested (VideoBusyError), so an ingest never
        writes into a video that has just been forgotten.
        """
        with self.ingest_lock(video_id, wait=False):
            self.drop(video_id)

    def drop(self, video_id: str) -> None:
        """`forget` for a caller that holds the video's ingest lock already."""
        with self.transaction() as conn:
            if conn.execute("DELETE FROM videos WHERE id = ?", (video_id,)).rowcount == 0:
                raise VideoNotFoundError(f"no video {video_id!r} in the library at {self.home}")
        shutil.rmtree(self.video_dir(video_id), ignore_errors=True)

    @contextmanager
    def ingest_lock(self, video_id: str, wait: bool = True) -> Iterator[None]:
        """Hold the ingest lock of one video, across threads and processes (flock).

        With `wait=False` a held lock raises VideoBusyError instead of waiting.
        """
        path = self.home / "locks" / f"{check_id(video_id)}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise VideoBusyError(
                    f"video {video_id} is being ingested by another process or thread; wait for it to finish"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a mix.

    Temp file in the same folder, fsync, rename over the target, fsync the folder.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if _is_disk_full(exc):
            raise DiskFullError(f"no space left to write {path}; free some space on that disk") from exc
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


HASH_CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    """A video's id: sha256 over its size and three 1 MiB samples (start, middle, end).

    Sampling keeps it fast on files of many GB; encoded video differs everywhere, so
    three samples plus the size tell different videos apart. 16 hex characters.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        digest = hashlib.sha256(size.to_bytes(8, "little"))
        with path.open("rb") as handle:
            if size <= 3 * HASH_CHUNK:
                digest.update(handle.read())
            else:
                for offset in (0, (size - HASH_CHUNK) // 2, size - HASH_CHUNK):
                    handle.seek(offset)
                    digest.update(handle.read(HASH_CHUNK))
    except OSError as exc:
        raise UnreadableVideoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()[:16]
