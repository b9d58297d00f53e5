"""`longshot bench crash --kills N`: ingest killed with SIGKILL at N random moments and resumed,
the library checked after every kill.

The kills fall four ways, a quarter of N each: the local ingest process (`IngestChild`) while it
ingests a long video, or a batch of short ones one after another, as `longshot ingest` does; and
a Ray actor while it ingests the long video, or one of the batch (`ingest_batch` on a local Ray
with two actors, each writing its video's shard; the batch hands a dead actor's video to the
next actor, which resumes it). A round starts from an empty library and lasts until every video
is in; its kill moments are drawn uniformly over a window sized so that about KILLS_PER_ROUND
land inside it, and rounds follow one another until the kills are spent.

After every kill, `audit.problems` (SQLite's integrity check and foreign keys, a row for every
folder, every committed frame and index readable) for the library and for every shard no live
worker holds: each is a corruption. And every video's committed memory must be a prefix of the
uninterrupted run's, a finished one equal to it: each difference is a loss. At the end of every
round every video's memory must equal the uninterrupted run's, with no temp file, no folder
without its row and no shard left.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import psutil

from app import audit
from app.ingest_batch import BatchProgress, ingest_batch
from app.sample_video import SCENES, Scene, make_sample
from evals.bench.common import print_figures
from evals.bench.ingest_child import IngestChild
from perception.config import load_config
from perception.errors import VideoNotFoundError
from perception.video import probe

SETTINGS = {
    "models__speech": "none",
    "models__detector": "none",
    "models__image_embedding": "none",
    "ingest__batch_frames": 10,  # a commit every 10 s of video: many moments between commits and at them
}
KILLS_PER_ROUND = 8
LONG_REPEATS = 3  # the sample's five scenes three times over: a 7:30 video
BATCH_VIDEOS = 3  # short videos of two scenes each
RAY_WORKERS = 2
RAY_ACTOR = "ray::IngestWorker.run"  # the process title of an actor while it runs a call
RUN_TIMEOUT_S = 1800.0
MODES = ("local long", "local batch", "ray long", "ray batch")


@dataclass
class Tally:
    """Counts of one way of killing, and the first few problems found, in words."""

    kills: int = 0
    before_first_commit: int = 0  # a video under way had no committed batch yet
    mid_video: int = 0  # a video under way had some of its batches committed
    between_videos: int = 0  # nothing was under way: every video started was finished
    rounds: int = 0
    corruptions: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "kills": self.kills,
            "mid_video": self.mid_video,
            "before_first_commit": self.before_first_commit,
            "between_videos": self.between_videos,
            "rounds": self.rounds,
            "corruptions": len(self.corruptions),
            "losses": len(self.losses),
            "seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True)
class Reference:
    """The uninterrupted run of one group of videos: each video's memory, and how long ingest took."""

    videos: tuple[Path, ...]
    expected: dict[str, dict[str, Any]]  # video id -> audit.snapshot
    seconds: float


def make_media(folder: Path, long_repeats: int = LONG_REPEATS, batch_videos: int = BATCH_VIDEOS) -> dict[str, tuple[Path, ...]]:
    """A long video (the sample's scenes `long_repeats` times, each notice numbered) and a batch of short ones."""
    long_scenes = [_moved(scene, k * SCENES[-1].end, f" ({k + 1})") for k in range(long_repeats) for scene in SCENES]
    long_video = _sample(folder / "long", long_scenes)
    batch = tuple(
        _sample(folder / f"short-{i}", [_moved(scene, -SCENES[i].start) for scene in SCENES[i : i + 2]])
        for i in range(batch_videos)
    )
    return {"long": (long_video,), "batch": batch}


def _moved(scene: Scene, by: float, mark: str = "") -> Scene:
    start, end = scene.notice_at
    return replace(
        scene, start=scene.start + by, end=scene.end + by, notice=scene.notice + mark, notice_at=(start + by, end + by)
    )


def _sample(folder: Path, scenes: Sequence[Scene]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return make_sample(folder, scenes, ())[0]


def reference(videos: tuple[Path, ...], home: Path) -> Reference:
    """Ingest `videos` once, uninterrupted, in a child like the killed ones."""
    seconds = 0.0
    with IngestChild(home, SETTINGS) as child:
        answers = [child.ingest(video, RUN_TIMEOUT_S) for video in videos]
    for answer in answers:
        if answer.get("outcome") != "ok":
            raise RuntimeError(f"the uninterrupted run failed: {answer}")
        seconds += answer["seconds"]
    return Reference(videos, {a["video"]: audit.snapshot(home, a["video"]) for a in answers}, seconds)


def check_library(home: Path, ref: Reference, tally: Tally, where: str) -> bool:
    """The checks after a kill; whether every video of the group is finished."""
    tally.corruptions += [f"{where}: {problem}" for problem in audit.problems(home)]
    finished = 0
    for video, expected in ref.expected.items():
        try:
            now = audit.snapshot(home, video)
        except VideoNotFoundError:  # not in the library yet
            continue
        status, committed_until, frames, _ = now["record"]
        if status == "ready":
            finished += 1
            if now != expected:
                tally.losses.append(f"{where}: {video} is finished but its memory differs from the uninterrupted run's")
        else:
            tally.losses += [f"{where}: {video}: {p}" for p in audit.prefix_problems(expected, now, frames, committed_until)]
    return finished == len(ref.expected)


def check_end(home: Path, ref: Reference, tally: Tally, where: str) -> None:
    """The checks at the end of a round: every memory equal, nothing left behind."""
    if not check_library(home, ref, tally, where):
        tally.losses.append(f"{where}: not every video was finished")
    tally.corruptions += [f"{where}: temp file {p}" for p in audit.temp_files(home)]
    tally.corruptions += [f"{where}: orphan folder {name}" for name in audit.orphan_folders(home)]
    shards = home / "shards"
    if shards.exists() and any(shards.iterdir()):
        tally.corruptions.append(f"{where}: shards left behind: {sorted(p.name for p in shards.iterdir())}")


def count_kill(home: Path, ref: Reference, tally: Tally) -> None:
    """Say where the kill landed, from what the library (or a shard) holds now."""
    states = [_state(home, video) for video in ref.expected]
    states += [_state(shard, shard.name) for shard in (home / "shards").glob("*") if shard.name in ref.expected]
    tally.kills += 1
    if any(state == "committed" for state in states):
        tally.mid_video += 1
    elif any(state == "none" for state in states):
        tally.before_first_commit += 1
    else:
        tally.between_videos += 1


def _state(home: Path, video: str) -> str:
    state = audit.video_state(home, video)
    if state is None:
        return "none"
    return "ready" if state[0] == "ready" else "committed" if state[1] > 0 else "none"


# -- local: the ingest process killed -------------------------------------------------------------


def local_kills(ref: Reference, kills: int, root: Path, rng: random.Random, tally: Tally) -> None:
    window = 2 * ref.seconds / KILLS_PER_ROUND
    while tally.kills < kills:
        tally.rounds += 1
        home = Path(tempfile.mkdtemp(prefix="round-", dir=root)) / "home"
        done = False
        while tally.kills < kills and not done:
            child = IngestChild(home, SETTINGS)
            try:
                child.send(ref.videos[0])
                for video in ref.videos[1:]:
                    child.queue(video)
                time.sleep(rng.uniform(0.0, window))
            finally:
                child.kill()
                child.close()
            count_kill(home, ref, tally)
            done = check_library(home, ref, tally, f"round {tally.rounds}, kill {tally.kills}")
        with IngestChild(home, SETTINGS) as child:  # resume to the end
            for video in ref.videos:
                answer = child.ingest(video, RUN_TIMEOUT_S)
                if answer.get("outcome") != "ok":
                    tally.losses.append(f"round {tally.rounds}: resuming {video.name} failed: {answer}")
        check_end(home, ref, tally, f"round {tally.rounds}, end")
        shutil.rmtree(home.parent, ignore_errors=True)


# -- Ray: an actor killed ----------------------------------------------------------------------


class ActorKiller:
    """A progress callback of `ingest_batch` that SIGKILLs a busy Ray actor at random moments and
    checks the library and the idle shards at once; the batch waits while it runs."""

    def __init__(self, home: Path, ref: Reference, kills: int, window: float, rng: random.Random, tally: Tally):
        self.home, self.ref, self.kills, self.window, self.rng, self.tally = home, ref, kills, window, rng, tally
        self.next_at: float | None = None

    def __call__(self, event: BatchProgress) -> None:
        if self.tally.kills >= self.kills:
            return
        now = time.monotonic()
        if self.next_at is None:
            self.next_at = now + self.rng.uniform(0.0, self.window)
        busy = [p for p in psutil.Process().children(recursive=True) if _title(p) == RAY_ACTOR]
        if now < self.next_at or not busy:
            return
        victim = self.rng.choice(busy)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        self.next_at = None
        count_kill(self.home, self.ref, self.tally)
        where = f"round {self.tally.rounds}, kill {self.tally.kills}"
        check_library(self.home, self.ref, self.tally, where)
        for shard in sorted((self.home / "shards").glob("*")):
            self._check_shard(shard, where)

    def _check_shard(self, shard: Path, where: str) -> None:
        """A shard no live actor holds (the batch waits meanwhile, so none takes it up): whole, and its
        video's memory a prefix of the uninterrupted run's."""
        if shard.name in self.ref.expected and not _held(shard / "locks" / f"{shard.name}.lock"):
            one = Reference(self.ref.videos, {shard.name: self.ref.expected[shard.name]}, self.ref.seconds)
            check_library(shard, one, self.tally, f"{where}, shard {shard.name}")


def _held(lock: Path) -> bool:
    """Whether a live process holds the ingest lock `lock` now."""
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the file releases a lock taken here
    return False


def _title(process: psutil.Process) -> str | None:
    try:
        return (process.cmdline() or [None])[0]
    except psutil.Error:
        return None


def ray_kills(ref: Reference, kills: int, root: Path, rng: random.Random, tally: Tally) -> None:
    window = 2 * ref.seconds / KILLS_PER_ROUND
    videos = [(video, probe(video)) for video in ref.videos]
    while tally.kills < kills:
        tally.rounds += 1
        home = Path(tempfile.mkdtemp(prefix="round-", dir=root)) / "home"
        config = load_config().replace(home=home, **SETTINGS)
        killer = ActorKiller(home, ref, kills, window, rng, tally)
        outcomes = ingest_batch(config, videos, executor="ray", workers=RAY_WORKERS, progress=killer, max_attempts=kills + 2)
        tally.losses += [f"round {tally.rounds}: {o.path.name} {o.status}: {o.error}" for o in outcomes if o.status == "failed"]
        check_end(home, ref, tally, f"round {tally.rounds}, end")
        shutil.rmtree(home.parent, ignore_errors=True)


# -- the benchmark --------------------------------------------------------------------------------


def run(
    kills: int = 100, seed: int = 0, root: Path | None = None, long_repeats: int = LONG_REPEATS, batch_videos: int = BATCH_VIDEOS
) -> dict[str, Any]:
    """Kill ingest `kills` times, a quarter in each way; figures per way and in all. The long video is
    the sample's five scenes `long_repeats` times over; the batch is `batch_videos` videos of one minute."""
    started = time.perf_counter()
    root = Path(root or tempfile.mkdtemp(prefix="longshot-crash-"))
    media = make_media(root / "media", long_repeats, batch_videos)
    refs = {group: reference(videos, root / "reference" / group) for group, videos in media.items()}
    rng = random.Random(seed)
    tallies: dict[str, Tally] = {}
    for index, mode in enumerate(MODES):
        share = kills // len(MODES) + (index < kills % len(MODES))
        if not share:
            continue
        where, group = mode.split()
        tally = tallies[mode] = Tally()
        (root / mode.replace(" ", "-")).mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        (local_kills if where == "local" else ray_kills)(refs[group], share, root / mode.replace(" ", "-"), rng, tally)
        tally.seconds = time.perf_counter() - began
    problems = [p for t in tallies.values() for p in t.corruptions + t.losses]
    return {
        "kills": sum(t.kills for t in tallies.values()),
        "corruptions": sum(len(t.corruptions) for t in tallies.values()),
        "losses": sum(len(t.losses) for t in tallies.values()),
        "seconds": round(time.perf_counter() - started, 1),
        "reference_seconds": {group: round(ref.seconds, 1) for group, ref in refs.items()},
        "videos": {group: [f"{v.parent.name} ({probe(v).duration:.0f} s)" for v in ref.videos] for group, ref in refs.items()},
        "modes": {mode: tally.figures() for mode, tally in tallies.items()},
        "problems": problems[:20],
    }


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    modes = figures.pop("modes")
    problems = figures.pop("problems")
    print_figures("crash: SIGKILL during ingest, then resume", figures, file)
    for mode, numbers in modes.items():
        print_figures(f"  {mode}", numbers, file)
    for problem in problems:
        print(f"  problem: {problem}", file=file)
