"""Ingest killed with SIGKILL at seeded random moments: after every kill the catalogue passes SQLite's
integrity and foreign-key checks, every committed frame and every saved index reads back, what is
committed is exactly a prefix of what an uninterrupted run writes, and resuming gives that run's
memory, facts included.

(test_ingest_media.py kills one ingest once, after its first commit; here the moments are spread
over the whole run, before the first commit, mid-batch and during the final index write.)
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evals.bench.ingest_child import IngestChild
from memory.audit import orphan_folders, prefix_problems, problems, snapshot, temp_files
from memory.store import Library
from tests.memory.ingest_support import write_video
from tests.synth import draw_text

KILLS = 8
SEED = 20250808
SECONDS, FPS, EVERY, SHOWN = 120, 2, 15, 6  # a notice every 15 s, on screen for 6 s
SETTINGS = {
    "models__speech": "none",
    "models__detector": "none",
    "models__image_embedding": "none",
    "models__text_embedding": "none",
    "ingest__batch_frames": 10,
    "ingest__scales": (30.0, 60.0),
}
RUN_TIMEOUT_S = 600.0


def notice_frames() -> Iterator[np.ndarray]:
    """A still view with numbered notices: OCR reads each, and each becomes a fact."""
    view = np.full((180, 320, 3), (70, 90, 120), np.uint8)
    for i in range(SECONDS * FPS):
        t = i / FPS
        k = int(t // EVERY)
        yield draw_text(view, f"GATE {chr(65 + k)}{k} OPEN") if t % EVERY < SHOWN else view


@pytest.fixture(scope="module")
def notices(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("media") / "notices.mp4", notice_frames(), FPS)


@pytest.fixture(scope="module")
def reference(notices: Path, tmp_path_factory) -> tuple[Path, str, float]:
    """An uninterrupted run in a child like the killed ones: its library, video id and ingest time."""
    home = tmp_path_factory.mktemp("reference") / "home"
    with IngestChild(home, SETTINGS) as worker:
        done = worker.ingest(notices, RUN_TIMEOUT_S)
    assert done["outcome"] == "ok" and done["status"] == "ready", done
    return home, done["video"], done["seconds"]


@pytest.mark.slow
def test_killed_anywhere_the_library_stays_whole_and_resumes_to_the_same_memory(notices, reference, tmp_path):
    reference_home, video, seconds = reference
    expected = snapshot(reference_home, video)
    assert len(expected["facts"]) >= SECONDS // EVERY - 1  # the notices became facts
    rng = random.Random(SEED)
    delays = [rng.uniform(0.0, 1.0) * seconds for _ in range(KILLS)]
    interrupted = []
    swept = 0
    for attempt, delay in enumerate(delays):
        home = tmp_path / f"kill-{attempt}" / "home"
        worker = IngestChild(home, SETTINGS)
        try:
            worker.send(notices)
            time.sleep(delay)
        finally:
            worker.kill()
            worker.close()
        where = f"killed {delay:.2f} s into a {seconds:.2f} s ingest"

        if orphan_folders(home):  # killed before its first commit: frames with no row yet
            swept += 1
        assert problems(home) == [], where  # opening the library removes such a folder
        library = Library(home)
        records = library.videos()
        library.close()
        if records and records[0].status == "ready":
            assert snapshot(home, video) == expected, where
        else:
            interrupted.append(records[0].committed_until if records else None)
        if records:
            assert prefix_problems(expected, snapshot(home, video), records[0].frames, records[0].committed_until) == [], where

        with IngestChild(home, SETTINGS) as resumer:
            resumed = resumer.ingest(notices, RUN_TIMEOUT_S)
        assert resumed["outcome"] == "ok" and resumed["status"] == "ready", (where, resumed)
        assert problems(home) == [] and temp_files(home) == [], where
        assert snapshot(home, video) == expected, where
    print(
        f"\nkilled {KILLS} ingests; {len(interrupted)} mid-way, committed up to: {interrupted}; "
        f"{swept} left a folder before their first commit, removed on open"
    )
    assert len(interrupted) >= KILLS // 2  # the kills did land inside the work


def test_opening_a_library_removes_the_folder_an_ingest_killed_before_its_first_commit_left(home: Path):
    Library(home).close()
    orphan = home / "videos" / "0123456789abcdef"
    (orphan / "frames").mkdir(parents=True)
    (orphan / "frames" / "0000000000-00016.bundle").write_bytes(b"frames with no row")
    holder = Library(home)
    running = home / "videos" / "fedcba9876543210"  # an ingest under way holds its lock: its folder stays
    with holder.ingest_lock(running.name):
        running.mkdir()
        Library(home).close()
        assert not orphan.exists() and running.exists()
    holder.close()
    Library(home).close()  # that ingest ended without a commit too: its folder goes on the next open
    assert orphan_folders(home) == []
