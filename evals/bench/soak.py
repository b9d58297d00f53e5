"""`longshot bench soak`: a bounded run of mixed ingest and questions, to show that memory stays flat.

One Longshot over a temporary library home, shared by every thread as the web app shares it. An
ingest thread first ingests a one-minute synthetic sample made like `longshot demo`'s, kept
throughout, then goes round other small videos (another synthetic minute, short clips from
../shared/media/video when present), ingesting each and forgetting the oldest once more than
`keep` of them are in the library, so the disk stays bounded. `askers` threads
meanwhile ask questions about the videos in the library, ready or still being ingested, half of
them about the sample, whose text and speech make questions go all the way (search, inspect, sketch).

Every `every` seconds a line of a table is printed: elapsed time, RSS now and its peak so far,
videos ingested, questions answered, errors. At the end come the figures: throughput (ingests,
video seconds and questions per minute; question latency median and p95), errors by type, the RSS
samples, and the slope of RSS over the second half of the run in MB per minute (least squares):
models load and caches fill up to their bounds in the first half, so the second half says
whether anything keeps growing. Errors a user could meet by design (asking about a video another
thread has just forgotten: VideoNotFoundError) are counted apart from the unexpected ones.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import psutil

from app import Longshot
from app.sample_video import ANNOUNCEMENTS, FOOTAGE_QUESTIONS, SAMPLE_QUESTIONS, SCENES, make_sample
from evals.bench.common import MB, print_figures
from evals.needles.media import find_media
from perception.config import Config, load_config
from perception.errors import LongshotError, VideoNotFoundError

CLIPS = ("cup.mp4", "flipping_a_pancake.mkv", "Megamind.avi", "arm_wrestling.mp4", "yoga.mp4", "bottle-detection.mp4")
QUESTIONS = (*SAMPLE_QUESTIONS, *FOOTAGE_QUESTIONS, "How many people are there?", "What colour is the background?")
SAMPLE_SECONDS = 1  # RSS is sampled every second, for the peak between table lines
KEPT_NAME = "kept-sample.mp4"
SAMPLE_SHARE = 0.5  # of questions go to the synthetic sample: it has text and speech, so they search, inspect and sketch
EXPECTED = (VideoNotFoundError.__name__,)  # asking about a video the ingest thread has just forgotten


@dataclass
class _Tally:
    """What the threads have done, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ingests: int = 0
    video_seconds: float = 0.0
    questions: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def error(self, where: str, err: BaseException) -> None:
        kind = f"{where}: {type(err).__name__}"
        with self.lock:
            self.errors[kind] += 1
            self.examples.setdefault(kind, str(err)[:300])


def run(
    minutes: float = 20.0,
    askers: int = 3,
    every: float = 10.0,
    keep: int = 2,
    media: str | Path | None = None,
    config: Config | None = None,
    out: TextIO | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Soak for `minutes`; the figures (see the module's docstring). Table lines go to `out` (stdout)."""
    out = out or sys.stdout
    work = Path(tempfile.mkdtemp(prefix="longshot-soak-"))
    try:
        sample, rounds = _videos(work, find_media(media))
        longshot = Longshot(config=(config or load_config()).replace(home=work / "home"))
        return _soak(longshot, sample, rounds, minutes * 60, askers, every, keep, out, seed)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _videos(work: Path, media: Path | None) -> tuple[Path, list[Path]]:
    """The sample (kept in the library throughout) and the videos that go round: another synthetic
    minute and the real clips."""
    made = []
    for name, scenes, said in (("kept", SCENES[:2], ANNOUNCEMENTS[:1]), ("round", SCENES[2:4], ANNOUNCEMENTS[1:2])):
        folder = work / name
        folder.mkdir()
        path, _ = make_sample(folder, scenes, said)  # a minute, one spoken announcement
        made.append(path.rename(work / f"{name}-sample.mp4"))
    sample, other = made
    clips = [media / "video" / name for name in CLIPS if (media / "video" / name).is_file()] if media else []
    return sample, [other, *clips]


def _soak(
    longshot: Longshot,
    sample: Path,
    rounds: Sequence[Path],
    seconds: float,
    askers: int,
    every: float,
    keep: int,
    out: TextIO,
    seed: int,
) -> dict[str, Any]:
    process = psutil.Process()
    tally = _Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=_ingest_loop, args=(longshot, sample, rounds, keep, tally, stop), name="soak-ingest", daemon=True)
    ]
    threads += [
        threading.Thread(
            target=_ask_loop, args=(longshot, tally, stop, random.Random(seed + i)), name=f"soak-ask-{i}", daemon=True
        )
        for i in range(askers)
    ]
    samples: list[tuple[float, float]] = []  # (elapsed s, RSS MB)
    peak = 0.0
    started = time.monotonic()
    print(f"{'elapsed':>8} {'rss MB':>8} {'peak MB':>8} {'ingests':>8} {'questions':>10} {'errors':>7}", file=out, flush=True)
    for thread in threads:
        thread.start()
    next_line = every
    while (elapsed := time.monotonic() - started) < seconds:
        rss = process.memory_info().rss / MB
        peak = max(peak, rss)
        samples.append((elapsed, rss))
        if elapsed >= next_line:
            with tally.lock:
                done, asked, errors = tally.ingests, tally.questions, sum(tally.errors.values())
            print(f"{elapsed:8.0f} {rss:8.0f} {peak:8.0f} {done:8d} {asked:10d} {errors:7d}", file=out, flush=True)
            next_line += every
        time.sleep(min(SAMPLE_SECONDS, max(0.0, seconds - elapsed)))
    stop.set()
    for thread in threads:
        thread.join(timeout=600)  # an ingest in progress finishes its video first
    elapsed = time.monotonic() - started
    samples.append((elapsed, process.memory_info().rss / MB))
    return _figures(tally, samples, peak, elapsed, askers, [t.name for t in threads if t.is_alive()])


def _ingest_loop(
    longshot: Longshot, sample: Path, rounds: Sequence[Path], keep: int, tally: _Tally, stop: threading.Event
) -> None:
    """The sample first, then the other videos in turn, forgetting the oldest of them past `keep`."""
    turn = -1
    while not stop.is_set():
        video = sample if turn < 0 else rounds[turn % len(rounds)]
        turn += 1
        try:
            ready = [v for v in longshot.videos() if v.status == "ready" and v.name != sample.name]
            for old in ready[: max(0, len(ready) - keep + 1)]:  # room for the one about to come in
                longshot.forget(old.id)
            result = longshot.ingest(video)
            with tally.lock:
                tally.ingests += 1
                tally.video_seconds += result.video.duration
        except LongshotError as err:
            tally.error("ingest", err)
        except Exception as err:
            tally.error("ingest (unexpected)", err)


def _ask_loop(longshot: Longshot, tally: _Tally, stop: threading.Event, rng: random.Random) -> None:
    while not stop.is_set():
        try:
            present = longshot.videos()
        except Exception as err:
            tally.error("list", err)
            continue
        if not present:
            stop.wait(0.2)
            continue
        sample = [v for v in present if v.name == KEPT_NAME]
        video = sample[0] if sample and rng.random() < SAMPLE_SHARE else rng.choice(present)
        started = time.perf_counter()
        try:
            longshot.ask(video.id, rng.choice(QUESTIONS))
        except LongshotError as err:
            tally.error("ask", err)
            continue
        except Exception as err:
            tally.error("ask (unexpected)", err)
            continue
        with tally.lock:
            tally.questions += 1
            tally.latencies.append(time.perf_counter() - started)


def _figures(
    tally: _Tally, samples: list[tuple[float, float]], peak: float, elapsed: float, askers: int, stuck: list[str]
) -> dict[str, Any]:
    minutes = elapsed / 60
    times = np.array([t for t, _ in samples]) / 60
    rss = np.array([r for _, r in samples])
    half = times >= times[-1] / 2
    slope = float(np.polyfit(times[half], rss[half], 1)[0]) if half.sum() >= 3 else float("nan")
    unexpected = {kind: n for kind, n in tally.errors.items() if not kind.endswith(EXPECTED)}
    latencies = sorted(tally.latencies)
    return {
        "minutes": minutes,
        "askers": askers,
        "ingests": tally.ingests,
        "ingests_per_minute": tally.ingests / minutes if minutes else 0.0,
        "video_seconds_per_minute": tally.video_seconds / minutes if minutes else 0.0,
        "questions": tally.questions,
        "questions_per_minute": tally.questions / minutes if minutes else 0.0,
        "latency_median_s": statistics.median(latencies) if latencies else float("nan"),
        "latency_p95_s": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "errors": sum(tally.errors.values()),
        "unexpected_errors": sum(unexpected.values()),
        "errors_by_kind": dict(tally.errors),
        "error_examples": dict(tally.examples),
        "rss_start_mb": float(rss[0]),
        "rss_end_mb": float(rss[-1]),
        "rss_peak_mb": max(peak, float(rss.max())),
        "rss_peak_first_half_mb": float(rss[~half].max()) if (~half).any() else float("nan"),
        "rss_peak_second_half_mb": float(rss[half].max()),
        "rss_slope_second_half_mb_per_min": slope,
        "rss_samples": [(round(t, 1), round(r, 1)) for t, r in samples[:: max(1, len(samples) // 60)]],
        "threads_still_running": stuck,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    shown = {k: v for k, v in figures.items() if k not in ("rss_samples", "errors_by_kind", "error_examples")}
    print_figures("soak: mixed ingest and questions", shown, file)
    for kind, count in figures["errors_by_kind"].items():
        print(f"  error {kind} x{count}: {figures['error_examples'][kind]}", file=file or sys.stdout)
