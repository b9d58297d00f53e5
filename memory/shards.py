"""Per-video shards: a video ingested away from the library, then committed into it by the one
process that writes the library's catalogue. SQLite's locking is not safe over network
filesystems, so workers on other machines never write that catalogue.

A shard is a library home of its own holding one video: its catalogue (the video's rows in every
table that belongs to a video, `memory.video_rows`) and the video's folder (frame bundles, index
files). A worker ingests into it as into any library, so a worker killed mid-video leaves the
shard at its last commit and the next worker resumes it from there. A finished shard is sealed
(its write-ahead log folded into the catalogue file, so the shard is plain files that can be
shipped), then committed: the folder's files linked into the library (copied across
filesystems), then every row in one transaction, then the shard removed. Readers of the library
see the video absent, then whole; a crash at any point leaves the library as it was, or with the
video whole, and the shard in place until its commit is done.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from memory.audit import video_state
from memory.frame_disk import sync_folder
from memory.store import Library, check_id
from memory.video_rows import copy_video
from perception.errors import StorageError

CATALOGUE = "catalogue.sqlite"
_NO_LINKS = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK)


@dataclass(frozen=True)
class ShardCommit:
    """What committing one shard did: rows per table and files placed, or nothing when the library had the video already."""

    video: str
    rows: dict[str, int]
    files: int
    already: bool


def shard_home(root: Path, video: str) -> Path:
    """The shard of `video` under the shard root `root`."""
    return Path(root) / check_id(video)


def seal(home: Path) -> None:
    """Fold the shard's write-ahead log into its catalogue file and leave WAL mode, so the shard is
    plain files. Whoever ingested into it must have closed its connections."""
    conn = sqlite3.connect(Path(home) / CATALOGUE, isolation_level=None, timeout=30)
    try:
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
    except sqlite3.Error as err:
        raise StorageError(f"cannot seal the shard {home}: {err}") from err
    finally:
        conn.close()
    if mode.lower() != "delete":
        raise StorageError(f"cannot seal the shard {home}: its catalogue stays in {mode} mode (still open elsewhere?)")


def commit_shard(library: Library, home: Path, video: str) -> ShardCommit:
    """Commit the finished shard at `home` into `library` and remove it. A partial ingest of the
    same video in the library is replaced; a finished one is kept and the shard dropped."""
    home = Path(home)
    state = video_state(home, video)
    if state is None or state[0] != "ready":
        raise StorageError(f"the shard {home} does not hold a finished ingest of {video} ({state}); ingest it again to resume it")
    with library.ingest_lock(video):
        row = library.connect().execute("SELECT status FROM videos WHERE id = ?", (video,)).fetchone()
        if row is not None and row[0] == "ready":
            shutil.rmtree(home, ignore_errors=True)
            return ShardCommit(video, {}, 0, True)
        if row is not None:
            library.drop(video)  # what an earlier ingest into the library itself left part-done
        files = _place(home / "videos" / video, library.video_dir(video))
        try:
            rows = _copy_rows(library, home / CATALOGUE, video)
        except BaseException:
            shutil.rmtree(library.video_dir(video), ignore_errors=True)  # the shard keeps its own links
            raise
    shutil.rmtree(home, ignore_errors=True)
    return ShardCommit(video, rows, files, False)


def _place(source: Path, target: Path) -> int:
    """Link (or copy) every file under `source` into `target`, replacing whatever an interrupted
    commit left there; returns the number of files. Temp files of killed writers stay behind."""
    shutil.rmtree(target, ignore_errors=True)
    placed = 0
    for folder, _, names in os.walk(source):
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name.endswith(".tmp"):
                continue
            try:
                os.link(Path(folder) / name, into / name)
            except OSError as err:
                if err.errno not in _NO_LINKS:
                    raise StorageError(f"cannot place {name} of shard {source}: {err}") from err
                shutil.copy2(Path(folder) / name, into / name)
            placed += 1
        sync_folder(into)
    return placed


def _copy_rows(library: Library, catalogue: Path, video: str) -> dict[str, int]:
    conn = library.connect()
    conn.execute("ATTACH DATABASE ? AS shard", (str(catalogue),))
    try:
        ours = conn.execute("PRAGMA main.user_version").fetchone()[0]
        theirs = conn.execute("PRAGMA shard.user_version").fetchone()[0]
        if ours != theirs:
            raise StorageError(
                f"the shard {catalogue.parent} has catalogue version {theirs}, the library {ours}: "
                "ingest with the same Longshot version on every worker"
            )
        with library.transaction() as tx:
            return copy_video(tx, "shard", video)
    finally:
        conn.execute("DETACH DATABASE shard")
