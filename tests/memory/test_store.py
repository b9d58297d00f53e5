"""The library catalogue: records, transactions, locks, forgetting, ids."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from memory.store import Library, VideoBusyError, VideoRecord, content_hash, write_atomic
from perception.errors import DiskFullError, VideoNotFoundError
from tests.memory.catalogue import video_record


def record(video_id: str = "0123456789abcdef", name: str = "clip.mp4", **changes) -> VideoRecord:
    return video_record(video_id, name, **{"settings": {"scales": [10, 30], "text_embedder": "minilm"}, **changes})


def test_record_round_trip_and_updates(home: Path) -> None:
    library = Library(home)
    with library.transaction() as conn:
        library.upsert_video(conn, record())
    assert library.video("0123456789abcdef") == record()

    with library.transaction() as conn:
        library.update_video(conn, "0123456789abcdef", status="ready", committed_until=61.5, frames=62)
    updated = Library(home).video("clip.mp4")  # a second library on the same home sees it
    assert (updated.status, updated.committed_until, updated.frames) == ("ready", 61.5, 62)
    assert updated.updated > 1000.0 and updated.settings == {"scales": [10, 30], "text_embedder": "minilm"}

    with library.transaction() as conn:  # upsert replaces fields but keeps the first `created`
        library.upsert_video(conn, record(created=5000.0, status="failed", error="boom"))
    again = library.video("0123456789")
    assert (again.created, again.status, again.error) == (1000.0, "failed", "boom")


def test_catalogue_uses_wal_and_foreign_keys(home: Path) -> None:
    conn = Library(home).connect()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_lookup_by_prefix_name_and_errors(home: Path) -> None:
    library = Library(home)
    with library.transaction() as conn:
        library.upsert_video(conn, record("aaaaaa0000000001", "a.mp4"))
        library.upsert_video(conn, record("aaaaaa0000000002", "same.mp4", created=2000.0))
        library.upsert_video(conn, record("bbbbbb0000000003", "same.mp4", created=3000.0))
    assert library.video("bbbbbb").id == "bbbbbb0000000003"
    assert [v.id for v in library.videos()] == ["aaaaaa0000000001", "aaaaaa0000000002", "bbbbbb0000000003"]
    with pytest.raises(VideoNotFoundError, match="matches 2 videos"):
        library.video("aaaaaa")
    with pytest.raises(VideoNotFoundError, match="matches 2 videos"):
        library.video("same.mp4")
    with pytest.raises(VideoNotFoundError, match="ingest it first"):
        library.video("bbbbb")  # prefixes shorter than 6 do not count
    with pytest.raises(VideoNotFoundError):
        with library.transaction() as conn:
            library.update_video(conn, "cccccc0000000000", status="ready")


def test_transaction_rolls_back_on_error_and_nests_as_savepoint(home: Path) -> None:
    library = Library(home)
    with pytest.raises(RuntimeError):
        with library.transaction() as conn:
            library.upsert_video(conn, record())
            raise RuntimeError("crash mid-batch")
    assert library.videos() == []

    with library.transaction() as conn:
        library.upsert_video(conn, record("aaaaaa0000000001"))
        with pytest.raises(RuntimeError):
            with library.transaction():
                library.upsert_video(conn, record("aaaaaa0000000002"))
                raise RuntimeError("inner fails")
    assert [v.id for v in library.videos()] == ["aaaaaa0000000001"]


def test_reader_sees_only_committed_rows(home: Path) -> None:
    library = Library(home)
    seen: list[int] = []
    inside, checked = threading.Event(), threading.Event()

    def reader() -> None:
        inside.wait()
        seen.append(len(library.videos()))
        checked.set()

    thread = threading.Thread(target=reader)
    thread.start()
    with library.transaction() as conn:
        library.upsert_video(conn, record())
        inside.set()
        checked.wait(10)
    thread.join()
    assert seen == [0] and len(library.videos()) == 1


def test_concurrent_writers_do_not_see_locked_errors(home: Path) -> None:
    library = Library(home)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for k in range(10):
                with library.transaction() as conn:
                    library.upsert_video(conn, record(f"{n:06x}{k:010x}", f"{n}-{k}.mp4"))
                    time.sleep(0.002)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(library.videos()) == 40


def test_full_catalogue_raises_disk_full(home: Path) -> None:
    library = Library(home)
    conn = library.connect()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # the catalogue may not grow: as on a full disk
    with pytest.raises(DiskFullError, match="no space left"):
        with library.transaction() as conn:
            for k in range(500):
                library.upsert_video(conn, record(f"{k:016x}", "x" * 500))
    assert library.videos() == []


def test_ids_with_path_characters_are_rejected(home: Path) -> None:
    library = Library(home)
    for bad in ("../../etc", "abc/def0123", "ABCDEF012345", "", "0123456789abcdef/..", ".." + "0" * 14):
        with pytest.raises(VideoNotFoundError):
            library.video_dir(bad)
        with pytest.raises(VideoNotFoundError):
            with library.ingest_lock(bad):
                pass
    assert library.video_dir("0123456789abcdef") == home / "videos" / "0123456789abcdef"


def test_forget_removes_rows_and_folder(home: Path) -> None:
    library = Library(home)
    with library.transaction() as conn:
        library.upsert_video(conn, record())
        library.upsert_video(conn, record("fedcba9876543210", "other.mp4"))
        conn.execute(
            'INSERT INTO segments(video, scale, start, "end", caption, ocr_text, speech_text, objects, keyframes) '
            "VALUES ('0123456789abcdef', 10, 0, 10, 'a', '', '', '[]', '[]')"
        )
    folder = library.video_dir("0123456789abcdef")
    (folder / "frames").mkdir(parents=True)
    (folder / "frames" / "bundle-0").write_bytes(b"jpeg")

    library.forget("0123456789abcdef")
    assert [v.id for v in library.videos()] == ["fedcba9876543210"]
    assert library.connect().execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 0
    assert not folder.exists()
    with pytest.raises(VideoNotFoundError):
        library.forget("0123456789abcdef")


def test_forget_refuses_while_ingesting(home: Path) -> None:
    library = Library(home)
    with library.transaction() as conn:
        library.upsert_video(conn, record())
    with library.ingest_lock("0123456789abcdef"):
        with pytest.raises(VideoBusyError, match="being ingested"):
            library.forget("0123456789abcdef")
    library.forget("0123456789abcdef")
    assert library.videos() == []


def test_ingest_lock_excludes_a_second_thread(home: Path) -> None:
    library = Library(home)
    order: list[str] = []
    held = threading.Event()

    def second() -> None:
        held.wait()
        with pytest.raises(VideoBusyError):
            with library.ingest_lock("0123456789abcdef", wait=False):
                pass
        with library.ingest_lock("0123456789abcdef"):  # waits for the first holder
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with library.ingest_lock("0123456789abcdef"):
        held.set()
        time.sleep(0.3)
        order.append("first")
    thread.join()
    assert order == ["first", "second"]
    with library.ingest_lock("0123456789abcdef", wait=False):  # free again
        pass


def _hold_lock(home: str, acquired, release) -> None:
    library = Library(Path(home))
    with library.ingest_lock("0123456789abcdef"):
        acquired.set()
        release.wait(30)


def test_ingest_lock_excludes_a_second_process(home: Path) -> None:
    context = multiprocessing.get_context("spawn")
    acquired, release = context.Event(), context.Event()
    child = context.Process(target=_hold_lock, args=(str(home), acquired, release))
    child.start()
    try:
        assert acquired.wait(60), "the child process never took the lock"
        library = Library(home)
        with pytest.raises(VideoBusyError):
            with library.ingest_lock("0123456789abcdef", wait=False):
                pass
        release.set()
        child.join(30)
        with library.ingest_lock("0123456789abcdef", wait=False):
            pass
    finally:
        release.set()
        child.join(30)
    assert child.exitcode == 0


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "index.bin"
    write_atomic(target, b"old")
    write_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["index.bin"]  # no temp file left behind


def test_content_hash_stable_distinct_and_sampled(tmp_path: Path) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"a" * 1000)
    copy = tmp_path / "copy.bin"
    copy.write_bytes(b"a" * 1000)
    other = tmp_path / "other.bin"
    other.write_bytes(b"a" * 999 + b"b")
    assert content_hash(small) == content_hash(copy)
    assert content_hash(small) != content_hash(other)
    assert len(content_hash(small)) == 16 and int(content_hash(small), 16) >= 0

    big = bytearray(b"\x00" * (8 << 20))
    (tmp_path / "big.bin").write_bytes(big)
    big[len(big) // 2] = 1  # the middle sample sees this
    (tmp_path / "big2.bin").write_bytes(big)
    big[len(big) // 2], big[2 << 20] = 0, 1  # outside the samples: same id, by design
    (tmp_path / "big3.bin").write_bytes(big)
    hashes = [content_hash(tmp_path / name) for name in ("big.bin", "big2.bin", "big3.bin")]
    assert hashes[0] != hashes[1] and hashes[0] == hashes[2]
