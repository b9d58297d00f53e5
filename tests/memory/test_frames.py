"""Frame store: round trip, windows, the cache budget, the source tier, crashes, threads.

Frames are `tests.synth` index frames, so every check of identity and order reads the
frame's own index back from its pixels.
"""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import numpy as np
import pytest

from memory.frame_disk import TIMES_FILE, bundle_name
from memory.frames import FrameCache, FrameRef, FrameStore
from perception.errors import StorageError
from perception.video import VideoReader
from tests.synth import index_frame, make_video, read_index

MB = 2**20


def index_frames(start: int, count: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    return np.stack([index_frame(i, size) for i in range(start, start + count)])


def filled_store(root: Path, count: int = 40, cache: FrameCache | None = None, **options) -> FrameStore:
    """A store of `count` index frames, frame i at time i / 2 s."""
    store = FrameStore(root, "vid", cache if cache is not None else FrameCache(64 * MB), **options)
    store.append(index_frames(0, count), np.arange(count) / 2)
    return store


def indices_of(frames: np.ndarray) -> list[int]:
    return [read_index(frame) for frame in frames]


def bundle_files(root: Path) -> list[str]:
    return sorted(path.name for path in root.glob("*.bundle"))


# ---- disk tier ---------------------------------------------------------------------------


def test_round_trip_keeps_identity_order_and_pixels_within_jpeg_tolerance(tmp_path):
    originals = index_frames(0, 40)
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB))
    assert store.append(originals[:25], np.arange(25) / 2) == range(25)
    assert store.append(originals[25:], np.arange(25, 40) / 2) == range(25, 40)

    assert len(store) == 40
    np.testing.assert_array_equal(store.times, np.arange(40) / 2)
    stored = store.at(range(40))
    assert stored.shape == (40, 240, 320, 3) and stored.dtype == np.uint8
    assert indices_of(stored) == list(range(40))
    error = np.abs(stored.astype(np.int16) - originals.astype(np.int16))
    assert error.mean() < 2.0
    assert indices_of(store.at([7, 3, 39, 3])) == [7, 3, 39, 3]
    assert read_index(store.get(12)) == 12


def test_frames_are_resized_to_the_working_resolution(tmp_path):
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB), max_side=160)
    store.append(index_frames(0, 3), np.arange(3.0))
    assert store.get(0).shape == (120, 160, 3)
    assert indices_of(store.at(range(3))) == [0, 1, 2]


def test_batches_that_split_bundles_still_fill_whole_bundles(tmp_path):
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB), bundle_frames=16)
    for start in range(0, 40, 5):
        store.append(index_frames(start, 5), np.arange(start, start + 5) / 2)
    assert bundle_files(tmp_path) == [bundle_name(0, 16), bundle_name(16, 16), bundle_name(32, 8)]
    assert indices_of(store.at(range(40))) == list(range(40))


def test_a_bad_append_is_refused_and_changes_nothing(tmp_path):
    store = filled_store(tmp_path, count=4)
    with pytest.raises(ValueError, match="go back"):
        store.append(index_frames(4, 2), np.array([0.0, 5.0]))
    with pytest.raises(ValueError, match="uint8"):
        store.append(np.zeros((2, 8, 8, 3), dtype=np.float32), np.array([5.0, 6.0]))
    with pytest.raises(ValueError, match="times"):
        store.append(index_frames(4, 2), np.array([5.0]))
    assert len(store) == 4 and store.append(index_frames(4, 1)[:0], np.empty(0)) == range(4, 4)
    with pytest.raises(IndexError):
        store.get(4)
    with pytest.raises(IndexError):
        store.at([-1])


# ---- windows -----------------------------------------------------------------------------


def test_window_returns_the_frames_in_range_in_time_order(tmp_path):
    store = filled_store(tmp_path)
    frames, times, refs = store.window(3.0, 7.5)
    assert indices_of(frames) == list(range(6, 16))
    np.testing.assert_array_equal(times, np.arange(6, 16) / 2)
    assert refs == [FrameRef("vid", i, i / 2) for i in range(6, 16)]


def test_window_thins_evenly_to_max_frames(tmp_path):
    store = filled_store(tmp_path)
    frames, times, refs = store.window(0.0, 19.5, max_frames=4)
    assert indices_of(frames) == [5, 15, 25, 35]
    np.testing.assert_array_equal(times, [2.5, 7.5, 12.5, 17.5])
    assert [ref.index for ref in refs] == [5, 15, 25, 35]
    assert indices_of(store.window(0.0, 19.5, max_frames=40)[0]) == list(range(40))


def test_an_empty_window_has_no_frames_but_the_right_shape(tmp_path):
    store = filled_store(tmp_path)
    frames, times, refs = store.window(100.0, 200.0)
    assert frames.shape == (0, 240, 320, 3) and len(times) == 0 and refs == []
    assert store.window(3.2, 3.4)[0].shape[0] == 0
    assert store.window(0.0, 10.0, max_frames=0)[0].shape[0] == 0


def test_a_window_reads_only_what_is_not_resident_one_read_per_bundle(tmp_path):
    store = filled_store(tmp_path, bundle_frames=16)
    store.window(5.0, 7.0)  # frames 10-14, all in bundle 0
    assert store.stats == {"hits": 0, "misses": 5, "bundle_reads": 1, "bytes_read": store.stats["bytes_read"], "redecoded": 0}
    store.window(6.0, 10.0)  # frames 12-20: 12-14 resident, 15 in bundle 0, 16-20 in bundle 16
    stats = store.stats
    assert (stats["hits"], stats["misses"], stats["bundle_reads"]) == (3, 11, 3)
    before = stats["bytes_read"]
    store.window(6.0, 10.0)
    assert store.stats["bytes_read"] == before and store.stats["hits"] == 12


# ---- RAM tier ----------------------------------------------------------------------------


def test_the_shared_cache_never_exceeds_its_byte_budget(tmp_path):
    frame_bytes = 240 * 320 * 3
    cache = FrameCache(5 * frame_bytes + 100)
    stores = [filled_store(tmp_path / name, cache=cache) for name in ("a", "b")]
    rng = random.Random(0)
    for _ in range(100):
        store = rng.choice(stores)
        start = rng.uniform(0, 19)
        frames, times, _ = store.window(start, start + rng.uniform(0, 4))
        assert indices_of(frames) == [int(t * 2) for t in times]
        assert cache.nbytes <= cache.max_bytes and len(cache) <= 5
    assert sum(store.stats["hits"] for store in stores) > 0


def test_a_cache_with_no_budget_keeps_nothing_and_still_serves(tmp_path):
    store = filled_store(tmp_path, cache=FrameCache(0))
    assert indices_of(store.at([1, 2, 1])) == [1, 2, 1]
    assert len(store.cache) == 0


# ---- crashes, damage, truncation, reopening ----------------------------------------------


def test_reopen_rebuilds_the_frame_list_from_disk(tmp_path):
    filled_store(tmp_path, count=37)
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB))
    assert len(store) == 37
    np.testing.assert_array_equal(store.times, np.arange(37) / 2)
    assert indices_of(store.at(range(37))) == list(range(37))
    store.append(index_frames(37, 3), np.arange(37, 40) / 2)
    assert indices_of(FrameStore(tmp_path, "vid", FrameCache(64 * MB)).at(range(40))) == list(range(40))


def test_reopen_without_the_times_file_rebuilds_it_from_bundle_headers(tmp_path):
    filled_store(tmp_path, count=40)
    (tmp_path / TIMES_FILE).unlink()
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB))
    np.testing.assert_array_equal(store.times, np.arange(40) / 2)
    assert (tmp_path / TIMES_FILE).stat().st_size == 40 * 8


def test_reopen_after_a_crash_between_bundles_and_times_file_keeps_the_bundles(tmp_path):
    filled_store(tmp_path, count=40)
    os.truncate(tmp_path / TIMES_FILE, 20 * 8 + 3)  # times of the last batch lost, one torn
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB))
    np.testing.assert_array_equal(store.times, np.arange(40) / 2)


def test_reopen_cleans_what_a_crashed_writer_left(tmp_path):
    filled_store(tmp_path, count=20)  # bundles 0+16 and 16+4
    (tmp_path / bundle_name(16, 2)).write_bytes(b"an older, shorter version")
    dead_pid = 2**22 + 12345
    orphan = tmp_path / f".{bundle_name(32, 16)}.{dead_pid}.1.tmp"
    orphan.write_bytes(b"half a bundle")
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB))
    assert bundle_files(tmp_path) == [bundle_name(0, 16), bundle_name(16, 4)]
    assert not orphan.exists()
    assert indices_of(store.at(range(20))) == list(range(20))


def test_truncate_drops_frames_on_disk_and_in_the_cache(tmp_path):
    store = filled_store(tmp_path, count=40)
    assert read_index(store.get(25)) == 25  # now resident
    store.truncate(20)
    assert len(store) == 20 and bundle_files(tmp_path) == [bundle_name(0, 16), bundle_name(16, 4)]
    with pytest.raises(IndexError):
        store.get(20)
    store.append(index_frames(500, 10), np.arange(20, 30) / 2)  # a resumed ingest writes anew
    assert indices_of(store.at(range(18, 28))) == [18, 19, *range(500, 508)]
    reopened = FrameStore(tmp_path, "vid", FrameCache(64 * MB))
    assert len(reopened) == 30 and read_index(reopened.get(25)) == 505
    store.truncate(0)
    assert len(store) == 0 and bundle_files(tmp_path) == []
    assert len(FrameStore(tmp_path, "vid", FrameCache(64 * MB))) == 0


def test_a_truncated_bundle_without_a_source_raises_a_storage_error(tmp_path):
    filled_store(tmp_path, count=32)
    path = tmp_path / bundle_name(16, 16)
    os.truncate(path, path.stat().st_size - 100)
    store = FrameStore(tmp_path, "vid", FrameCache(64 * MB))
    assert len(store) == 32
    assert indices_of(store.at(range(16))) == list(range(16))
    with pytest.raises(StorageError, match="source video is unknown"):
        store.get(20)


def test_a_flipped_byte_in_a_frame_is_caught_by_its_checksum(tmp_path):
    store = filled_store(tmp_path, count=16)
    path = tmp_path / bundle_name(0, 16)
    data = bytearray(path.read_bytes())
    data[-50] ^= 0xFF
    path.write_bytes(bytes(data))
    assert read_index(store.get(0)) == 0  # a frame before the flipped byte
    with pytest.raises(StorageError, match="checksum"):
        store.get(15)


# ---- source tier -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_video(tmp_path_factory) -> Path:
    """6 s of index frames at 10 fps (frame i at i / 10 s)."""
    return make_video(tmp_path_factory.mktemp("source") / "source.mp4", seconds=6, fps=10)


def ingest(root: Path, source: Path) -> FrameStore:
    """Fill a store the way ingest does: frames sampled at 2 fps by the project's reader."""
    store = FrameStore(root, "vid", FrameCache(64 * MB), source=source, max_side=160, bundle_frames=4)
    with VideoReader(source, max_side=160) as reader:
        for batch in reader.sample(fps=2.0, batch_size=5):
            store.append(batch.frames, batch.times)
    return store


def test_a_missing_bundle_is_decoded_again_from_the_source(tmp_path, source_video):
    store = ingest(tmp_path, source_video)
    assert len(store) == 12
    expected = indices_of(store.at(range(12)))
    assert expected == [round(t * 10) for t in store.times]
    (tmp_path / bundle_name(4, 4)).unlink()

    cold = FrameStore(tmp_path, "vid", FrameCache(64 * MB), source=source_video, max_side=160, bundle_frames=4)
    assert indices_of(cold.at(range(12))) == expected
    assert cold.stats["redecoded"] == 4
    assert (tmp_path / bundle_name(4, 4)).exists()  # rewritten, so the next read is from disk
    again = FrameStore(tmp_path, "vid", FrameCache(64 * MB), source=source_video, max_side=160, bundle_frames=4)
    assert indices_of(again.at(range(12))) == expected and again.stats["redecoded"] == 0


def test_a_damaged_bundle_is_rebuilt_from_the_source(tmp_path, source_video):
    store = ingest(tmp_path, source_video)
    expected = [round(t * 10) for t in store.times]
    path = tmp_path / bundle_name(8, 4)
    os.truncate(path, path.stat().st_size // 2)
    frames, _, _ = store.window(0.0, 10.0)
    assert indices_of(frames) == expected and store.stats["redecoded"] == 4
    assert frames.shape[1:] == (120, 160, 3)


def test_a_lost_folder_comes_back_from_the_source_when_the_times_survive(tmp_path, source_video):
    store = ingest(tmp_path, source_video)
    expected = [round(t * 10) for t in store.times]
    for name in bundle_files(tmp_path):
        (tmp_path / name).unlink()
    reopened = FrameStore(tmp_path, "vid", FrameCache(64 * MB), source=source_video, max_side=160, bundle_frames=4)
    assert indices_of(reopened.at(range(12))) == expected
    assert bundle_files(tmp_path) == [bundle_name(i, 4) for i in (0, 4, 8)]


# ---- threads -----------------------------------------------------------------------------


def test_threads_reading_while_one_appends_get_the_right_frames(tmp_path):
    cache = FrameCache(6 * 240 * 320 * 3)  # small, so threads evict each other's frames
    store = filled_store(tmp_path, count=32, cache=cache, bundle_frames=8)
    errors: list[str] = []

    def read(seed: int) -> None:
        try:
            read_at_random(seed)
        except Exception as err:  # a thread's exception must fail the test, not just print
            errors.append(repr(err))

    def read_at_random(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(25):
            count = len(store)  # reads near the end race the appends that refill the last bundle
            indices = [rng.randrange(max(0, count - 8), count) for _ in range(rng.randint(1, 6))]
            got = indices_of(store.at(indices))
            if got != indices:
                errors.append(f"asked {indices}, got {got}")
            start = rng.uniform(0, 15)
            frames, times, refs = store.window(start, start + 3, max_frames=4)
            if indices_of(frames) != [ref.index for ref in refs] or list(times) != [ref.time for ref in refs]:
                errors.append(f"window at {start} mismatched")

    def append() -> None:
        for start in range(32, 80, 6):
            store.append(index_frames(start, 6), np.arange(start, start + 6) / 2)

    threads = [threading.Thread(target=read, args=(seed,)) for seed in range(6)]
    threads.append(threading.Thread(target=append))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert indices_of(store.at(range(80))) == list(range(80))
    assert cache.nbytes <= cache.max_bytes
