"""A library on a real, small disk (a tmpfs mount): writes fail with ENOSPC wherever they fall (frame
bundles, the catalogue's WAL, index files), not only at fsync as test_build.py injects it.

Each case checks the error is DiskFullError with a message that says what to do, nothing committed
is damaged (integrity, every frame reads back, a fresh process opens the library), no temp file is
left, the space the failed ingest took is given back, and after space is freed the ingest resumes
to the memory a run on a roomy disk writes. Needs root for `mount -t tmpfs`; skipped without it.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app import Longshot
from memory.audit import problems, snapshot, temp_files
from memory.frames import FrameCache, FrameStore
from perception.errors import DiskFullError
from tests.memory.ingest_support import write_video

pytestmark = pytest.mark.slow

SETTINGS = {
    "models__ocr": "none",
    "models__speech": "none",
    "models__detector": "none",
    "models__image_embedding": "none",
    "ingest__batch_frames": 10,
    "ingest__scales": (30.0,),
}
SECONDS, FPS = 60, 2


class SmallDisk:
    """A tmpfs of a given size mounted at `path`; `resize` grows or shrinks it in place."""

    def __init__(self, path: Path):
        self.path = path

    def mount(self, kib: int) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(self.path)], check=True, capture_output=True, timeout=30
        )

    def resize(self, kib: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={kib}k", str(self.path)], check=True, capture_output=True, timeout=30)

    def used(self) -> int:
        return shutil.disk_usage(self.path).used

    def unmount(self) -> None:
        if subprocess.run(["umount", str(self.path)], capture_output=True, timeout=30).returncode:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A mount point, not mounted yet. Each mount gets a path of its own: SQLite must never meet, at a
    path it has open, a file of another filesystem (a lazily unmounted one still holds the old files)."""
    small = SmallDisk(tmp_path / "disk")
    try:
        small.mount(64)
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"cannot mount a tmpfs here ({err}); injected ENOSPC is covered by test_build.py")
    small.unmount()
    yield small
    gc.collect()  # connections that helpers left to the garbage collector
    small.unmount()


@pytest.fixture(scope="module")
def noise(tmp_path_factory) -> Path:
    """Frames of noise: JPEG cannot shrink them, so each batch takes about a megabyte on disk."""
    rng = np.random.default_rng(7)
    frames = (rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(SECONDS * FPS))
    return write_video(tmp_path_factory.mktemp("media") / "noise.mp4", frames, FPS)


@pytest.fixture(scope="module")
def reference(noise: Path, tmp_path_factory) -> tuple[Path, str]:
    longshot = Longshot(home=tmp_path_factory.mktemp("roomy") / "home", **SETTINGS)
    return longshot.config.home, longshot.ingest(noise).video.id


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def closed(longshot: Longshot) -> None:
    """Let go of the library's files (this thread's connection), as a process that ends would."""
    longshot.library.close()


def test_disk_full_mid_ingest_fails_clearly_keeps_what_was_committed_and_resumes(disk, noise, reference):
    disk.mount(2048)
    longshot = Longshot(home=disk.path / "home", **SETTINGS)
    with pytest.raises(DiskFullError, match="no space left") as raised:
        longshot.ingest(noise)
    assert "free" in str(raised.value)
    record = longshot.videos()[0]
    assert record.status == "failed" and "no space left" in record.error
    assert 0 < record.committed_until < SECONDS and record.frames > 0
    closed(longshot)

    assert problems(disk.path / "home") == [] and temp_files(disk.path / "home") == []
    store = FrameStore(disk.path / "home" / "videos" / record.id / "frames", record.id, FrameCache(1 << 20))
    assert len(store) == record.frames  # frames stored ahead of the failed batch are given back
    reopened = Longshot(home=disk.path / "home", **SETTINGS)
    assert reopened.video(record.id).frames == record.frames
    answer = reopened.ask(record.id, "What is on screen?")  # questions still run on a full disk
    assert answer.trace and all(e.end <= record.committed_until + 1e-3 for e in answer.evidence)

    disk.resize(64 * 1024)
    resumed = reopened.ingest(noise)
    assert resumed.resumed_from == record.committed_until and resumed.video.status == "ready"
    assert snapshot(disk.path / "home", record.id) == snapshot(*reference)

    full, folder = disk.used(), folder_bytes(disk.path / "home" / "videos" / record.id)
    assert folder > 2**20
    reopened.forget(record.id)
    closed(reopened)
    assert disk.used() <= full - 0.9 * folder  # the frames' megabytes are back
    assert problems(disk.path / "home") == []


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    """Ten minutes of one colour: tiny frames, so the catalogue (embeddings, segments) is what fills the disk."""
    frames = (np.full((120, 160, 3), 90, np.uint8) for _ in range(600))
    return write_video(tmp_path_factory.mktemp("media") / "blank.mp4", frames, 1)


def test_disk_full_wherever_it_strikes_the_catalogue_or_the_frames(disk, blank, tmp_path):
    """Disks of several sizes fill at different writes: SQLite's WAL ("database or disk is full") or a bundle."""
    # Motion off: its rows would fill the catalogue first at every size, and the sizes are chosen so that
    # one strikes the catalogue and another a frame bundle.
    settings = dict(SETTINGS, models__text_embedding="none", ingest__motion=False)
    roomy = Longshot(home=tmp_path / "roomy", **settings)
    video = roomy.ingest(blank).video.id
    expected = snapshot(roomy.config.home, video)
    struck = set()
    for kib in (400, 1200, 2000):
        disk = SmallDisk(tmp_path / f"disk-{kib}")
        disk.mount(kib)
        try:
            home = disk.path / "home"
            longshot = Longshot(home=home, **settings)
            with pytest.raises(DiskFullError, match="no space left") as raised:
                longshot.ingest(blank)
            struck.add("catalogue" if "cannot write to the library" in str(raised.value) else "frames")
            record = longshot.video(video)
            assert record.status == "failed" and 0 < record.committed_until < 600, kib
            closed(longshot)
            assert problems(home) == [] and temp_files(home) == [], kib  # opened by a fresh Library on the full disk
            disk.resize(64 * 1024)
            longshot = Longshot(home=home, **settings)
            assert longshot.ingest(blank).video.status == "ready"
            closed(longshot)
            assert snapshot(home, video) == expected, kib
        finally:
            gc.collect()  # snapshot's connections
            disk.unmount()
    assert struck == {"catalogue", "frames"}


def test_disk_full_before_the_first_commit_gives_everything_back(disk, noise):
    disk.mount(1024)  # the catalogue fits, the first batch's frames do not
    longshot = Longshot(home=disk.path / "home", **SETTINGS)
    longshot.videos()
    before = disk.used()
    with pytest.raises(DiskFullError, match="no space left"):
        longshot.ingest(noise)
    assert longshot.videos() == []
    closed(longshot)
    assert list((disk.path / "home" / "videos").iterdir()) == []
    assert temp_files(disk.path / "home") == [] and problems(disk.path / "home") == []
    assert disk.used() <= before + 256 * 1024  # at most the catalogue's journal grew


def test_a_library_home_on_a_full_disk_is_a_disk_full_error(disk, noise):
    disk.mount(512)
    ballast = disk.path / "ballast"
    with pytest.raises(OSError):
        ballast.write_bytes(b"\0" * (1 << 20))  # fills the disk to the last byte
    with pytest.raises(DiskFullError, match="LONGSHOT_HOME"):
        Longshot(home=disk.path / "home", **SETTINGS).ingest(noise)
    ballast.unlink()
    longshot = Longshot(home=disk.path / "home", **SETTINGS)
    assert longshot.videos() == []
    closed(longshot)
    assert problems(disk.path / "home") == []


def test_on_a_disk_full_to_the_last_byte_the_library_says_so_then_forgets_to_make_room(disk, noise):
    """What a user does on a full disk: list what is there and forget a video to get space back."""
    disk.mount(2048)
    home = disk.path / "home"
    longshot = Longshot(home=home, **SETTINGS)
    with pytest.raises(DiskFullError):
        longshot.ingest(noise)
    closed(longshot)
    ballast = disk.path / "ballast"
    with pytest.raises(OSError), ballast.open("wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
    assert shutil.disk_usage(disk.path).free == 0
    with pytest.raises(DiskFullError, match="free some space"):  # not SQLite's "disk I/O error"
        Longshot(home=home, **SETTINGS).videos()

    os.truncate(ballast, ballast.stat().st_size - 128 * 1024)  # a little room, as after deleting a small file
    fresh = Longshot(home=home, **SETTINGS)
    (record,) = fresh.videos()
    assert record.status == "failed" and len(fresh.frames(record.id)) == record.frames
    free, folder = shutil.disk_usage(disk.path).free, folder_bytes(home / "videos" / record.id)
    assert folder > 256 * 1024
    fresh.forget(record.id)
    assert fresh.videos() == [] and shutil.disk_usage(disk.path).free >= free + 0.8 * folder  # less what the WAL grew by
    closed(fresh)
    assert problems(home) == []
