"""Ingest on the workers of a local process pool and of a local Ray (`ray.init(num_cpus=2)`): a folder
of the shared videos gives the memories a serial run gives, and a worker SIGKILLed mid-video has its
video resumed by another worker, with the same memories in the end."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest

from app import Longshot
from app.ingest_batch import BatchProgress
from memory.audit import problems, snapshot, temp_files

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CLIPS = ("one-by-one-person-detection.mp4", "cup.mp4", "Megamind.avi", "flipping_a_pancake.mkv")
OFFLINE = {
    "models__speech": "none",
    "models__text_embedding": "none",
    "models__image_embedding": "none",
    "models__detector": "none",
    # Four frames a second, a commit every 10 s of video: the long clip takes seconds, not one poll of
    # the batch's progress (0.5 s), so a kill lands mid-video, with commits before and after it.
    "ingest__sample_fps": 4.0,
    "ingest__batch_frames": 40,
}
WORKER = {  # how each executor's worker process shows in its command line
    "local": lambda cmdline: any("spawn_main" in part for part in cmdline),
    "ray": lambda cmdline: cmdline[:1] == ["ray::IngestWorker.run"],
}


@pytest.fixture(scope="module")
def folder(media: Path, tmp_path_factory) -> Path:
    """The shared clips (linked, not copied) and a text file, in one folder."""
    folder = tmp_path_factory.mktemp("folder")
    for name in CLIPS:
        (folder / name).symlink_to(media / "video" / name)
    (folder / "README.txt").write_text("not a video\n")
    return folder


@pytest.fixture(scope="module")
def serial(folder: Path, tmp_path_factory) -> Path:
    """The folder ingested serially, in this process."""
    home = tmp_path_factory.mktemp("serial") / "home"
    report = Longshot(home=home, **OFFLINE).ingest_many([folder])
    assert [o.status for o in report.outcomes] == ["ingested"] * len(CLIPS) and report.not_videos == 1
    return home


class KillOnce:
    """A progress callback that SIGKILLs one worker process of ours once a video is part committed."""

    def __init__(self, is_worker):
        self.is_worker = is_worker
        self.killed: tuple[str, float, int] | None = None  # the video under way, how far it was, the pid killed

    def __call__(self, event: BatchProgress) -> None:
        under_way = [(name, p.done) for name, p in event.running if 0 < p.done < p.total]
        if self.killed is not None or not under_way:
            return
        workers = [p for p in psutil.Process().children(recursive=True) if self.is_worker(_cmdline(p))]
        if workers:
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=30)
            self.killed = (*under_way[0], workers[0].pid)


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_worker_killed_mid_video_is_resumed_elsewhere_and_memories_equal_the_serial_run(executor, folder, serial, tmp_path):
    if executor == "ray":
        ray = pytest.importorskip("ray")
        assert not ray.is_initialized()
    home = tmp_path / "home"
    killer = KillOnce(WORKER[executor])

    report = Longshot(home=home, **OFFLINE).ingest_many([folder], executor=executor, workers=2, progress=killer)

    assert killer.killed is not None, "no worker was killed"
    assert [o.status for o in report.outcomes] == ["ingested"] * len(CLIPS), report.outcomes
    assert max(o.attempts for o in report.outcomes) == 2  # the lost video went to a worker again, once
    for outcome in report.outcomes:
        assert snapshot(home, outcome.video) == snapshot(serial, outcome.video), outcome.path.name
    assert problems(home) == [] and temp_files(home) == []
    assert not (home / "shards").exists() or not any((home / "shards").iterdir())
    print(f"\n{executor}: killed pid {killer.killed[2]} while {killer.killed[0]} was committed to {killer.killed[1]:.0f} s")
