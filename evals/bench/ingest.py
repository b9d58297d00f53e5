"""`longshot bench ingest`: how fast ingest runs with the offline stack, and whether its memory
stays flat as videos get longer.

For each length (default 10 and 60 minutes) it builds (once, cached) a needle video: real
footage from `../shared/media/video` looped to that length with real LibriVox speech and
on-screen notices at known times (`evals.needle.build_needle`). Each is ingested into a fresh
library home in a process of its own, so each run's peak RSS is its own, from model loading
to the last commit. Right after each run, in the same parent process, `bench decode` measures
the decode floor of the same file (PyAV decoding only what 1 fps sampling needs), so the ratio
of ingest time to floor is taken on the same machine under the same load.

Beside them, a lecture (evals/bench/lecture.py: the same kind of footage under continuous
LibriVox reading, default 10 minutes), where speech recognition sets the pace; its run adds
the word error rate of the transcript the ingest kept against the words said.

Figures per run: video seconds per wall second (with and without loading the models), each
stage's busy seconds (stages overlap: OCR and speech run beside decoding and commits), OCR
looks and reads, seconds of audio transcribed, peak RSS; then the ratio of the longest needle
run's peak to the shortest's (the goal is at most 1.15) and the load average, since the CPU
may be shared.

Motion's cost, in the same run: the longest needle video is ingested again in interleaved pairs,
with motion on and off (`ingest.motion = false`), each pair in the other order than the last, and
the overhead is the median over pairs of the extra CPU and wall time with it (the aim is at most
15%). One pair is not enough: on a quiet machine three pairs of the same code measured +10% to +26%
CPU. Then a still video as long (the motion set's empty room, looped)
against that busy needle video: motion's busy time per video second on each, since a still
scene should cost less than a busy one.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from evals.bench.common import CACHE_DIR, make_long_video, measure_in_child, print_figures
from evals.bench.decode import run as decode_run
from evals.bench.lecture import build_lecture
from evals.metrics import word_error_rate, words
from evals.needle import build_needle
from evals.needles.media import resolve_media
from evals.needles.motion_media import still_room

AIM_SPEED = 30.0  # video seconds per wall second: an hour in two minutes
AIM_FLOOR_RATIO = 3.0
AIM_PEAK_RATIO = 1.15
AIM_MOTION_OVERHEAD = 0.15
MOTION_PAIRS = 3
STILL_CLIP_S = 60.0  # the still room is encoded this long once, then looped by copying packets


def run(
    minutes: Sequence[float] = (10, 60),
    media: str | Path | None = None,
    lecture_minutes: float = 10,
    motion_pairs: int = MOTION_PAIRS,
) -> dict[str, Any]:
    """Ingest a needle video of each length, then the lecture (unless `lecture_minutes` is 0), each in
    its own process; figures per run and across the needle runs; with `motion_pairs` above 0, motion's
    overhead on the longest needle video in that many on/off pairs, and a still video as long against it."""
    load_before = os.getloadavg()
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="longshot-bench-ingest-") as scratch:
        for length in sorted(minutes):
            needle = build_needle(CACHE_DIR / f"needle-{length:g}min", minutes=length, media=media)
            home = Path(scratch) / f"home-{length:g}"
            runs[f"{length:g}min"] = _against_floor(measure_in_child(ingest_once, needle.video, home), needle.video)
            shutil.rmtree(home, ignore_errors=True)
        if lecture_minutes > 0:
            lecture = build_lecture(lecture_minutes, resolve_media(media))
            home = Path(scratch) / "home-lecture"
            figures = measure_in_child(ingest_lecture, lecture.video, home, lecture.reference)
            runs[f"lecture {lecture_minutes:g}min"] = _against_floor(figures, lecture.video)
        cost = None
        if motion_pairs > 0:
            needle = build_needle(CACHE_DIR / f"needle-{max(minutes):g}min", minutes=max(minutes), media=media)
            cost = motion_cost(needle.video, runs[f"{max(minutes):g}min"], max(minutes), media, Path(scratch), motion_pairs)
    peaks = [r["rss_peak_mb"] for name, r in runs.items() if not name.startswith("lecture")]
    longest = runs[f"{max(minutes):g}min"]
    return {
        "runs": runs,
        "peak_rss_ratio": max(peaks) / min(peaks),
        "hour_projected_s": 3600 / longest["video_s_per_wall_s"],
        "motion": cost,
        "aims": {
            "video_s_per_wall_s": AIM_SPEED,
            "ingest_vs_floor": AIM_FLOOR_RATIO,
            "peak_rss_ratio": AIM_PEAK_RATIO,
            "motion_overhead": AIM_MOTION_OVERHEAD,
        },
        "cpu_count": os.cpu_count(),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", "none (glibc's defaults)"),  # see app.allocator
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def _against_floor(figures: dict[str, Any], video: Path) -> dict[str, Any]:
    """The run's figures with the decode floor of its video, measured now, and the ratio of ingest to it."""
    floor = decode_run(video)
    floor_s = floor["video_s"] / floor["floor_video_s_per_wall_s"]
    return {**figures, "decode_floor_s": floor_s, "ingest_vs_floor": figures["ingest_s"] / floor_s}


def ingest_lecture(video: str, home: str, reference: str) -> dict[str, Any]:
    """`ingest_once`, then the word error rate of the speech its base segments keep, in time order (in the child)."""
    from app import Longshot

    figures = ingest_once(video, home)
    longshot = Longshot(home=home, models__vlm="none")
    record = longshot.video(Path(video).name)
    base = min(longshot.episodic.scales(record.id))
    heard = words(" ".join(segment.speech_text for segment in longshot.episodic.segments(record.id, scale=base)))
    said = words(reference)
    return {**figures, "words_said": len(said), "words_heard": len(heard), "word_error_rate": word_error_rate(said, heard)}


def motion_cost(
    needle: Path, busy: dict[str, Any], minutes: float, media: str | Path | None, scratch: Path, pairs: int
) -> dict[str, Any]:
    """Motion's overhead on the needle video, the median of `pairs` on/off pairs in alternating order,
    and a still video as long against `busy` (its run with motion)."""
    on: list[dict[str, Any]] = []
    off: list[dict[str, Any]] = []
    for pair in range(pairs):
        for motion in (False, True) if pair % 2 == 0 else (True, False):
            home = scratch / f"home-motion-{motion}"
            (on if motion else off).append(measure_in_child(ingest_once, needle, home, motion))
            shutil.rmtree(home, ignore_errors=True)
    clip = still_room(CACHE_DIR / f"still-room-{STILL_CLIP_S:g}s.mp4", resolve_media(media), STILL_CLIP_S)
    home = scratch / "home-still"
    still = measure_in_child(ingest_once, make_long_video(clip, minutes * 60), home)
    shutil.rmtree(home, ignore_errors=True)
    cpu = [w["cpu_s"] / wo["cpu_s"] - 1 for w, wo in zip(on, off)]
    wall = [w["ingest_s"] / wo["ingest_s"] - 1 for w, wo in zip(on, off)]
    motion = busy["stage_busy_s"].get("motion", 0.0)
    return {
        "video": busy["video"],
        "pairs": pairs,
        "cpu_s_with": statistics.median(r["cpu_s"] for r in on),
        "cpu_s_without": statistics.median(r["cpu_s"] for r in off),
        "ingest_s_with": statistics.median(r["ingest_s"] for r in on),
        "ingest_s_without": statistics.median(r["ingest_s"] for r in off),
        "overhead_cpu": statistics.median(cpu),
        "overhead_wall": statistics.median(wall),
        "overhead_cpu_per_pair": " ".join(f"{x:+.3f}" for x in cpu),
        "overhead_wall_per_pair": " ".join(f"{x:+.3f}" for x in wall),
        "motion_busy_s": motion,
        "still_video_s": still["video_s"],
        "still_motion_busy_s": still["stage_busy_s"].get("motion", 0.0),
        "still_ingest_s": still["ingest_s"],
        "still_cpu_s": still["cpu_s"],
        "busy_motion_ms_per_video_s": 1000 * motion / busy["video_s"],
        "still_motion_ms_per_video_s": 1000 * still["stage_busy_s"].get("motion", 0.0) / still["video_s"],
    }


def ingest_once(video: str, home: str, motion: bool = True) -> dict[str, Any]:
    """One ingest into an empty home with the offline stack (runs in a child process); `motion` off to measure its cost."""
    from app import Longshot

    started = time.perf_counter()
    cpu_started = _cpu_with_children()
    result = Longshot(home=home, models__vlm="none", ingest__motion=motion).ingest(video)
    wall = time.perf_counter() - started
    cpu = _cpu_with_children() - cpu_started
    stages = dict(sorted(result.stage_seconds.items(), key=lambda kv: -kv[1]))
    load = stages.get("load", 0.0)
    return {
        "video": Path(video).name,
        "video_s": result.video.duration,
        "wall_s": wall,
        "load_s": load,
        "ingest_s": wall - load,
        "video_s_per_wall_s": result.video.duration / wall,
        "video_s_per_ingest_s": result.video.duration / (wall - load),
        "cpu_s": cpu,
        "cores_used": cpu / wall,  # under 2 on two cores: a stage waits on another, or others' load
        "stage_busy_s": stages,
        "counters": result.counters,
        "warnings": list(result.warnings),
    }


def _cpu_with_children() -> float:
    """CPU seconds of this process and of its children that have ended: motion's process among them,
    whose work is ingest's as much as any thread's."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    for name, run_figures in figures["runs"].items():
        flat = {k: v for k, v in run_figures.items() if not isinstance(v, (dict, list))}
        flat.update({f"busy {stage} s": seconds for stage, seconds in run_figures["stage_busy_s"].items()})
        flat.update(run_figures["counters"])
        print_figures(f"bench ingest: {name} ({run_figures['video']}), offline stack", flat, file)
    summary = {
        "peak_rss_ratio": figures["peak_rss_ratio"],
        "hour_projected_s": figures["hour_projected_s"],
        "cpu_count": figures["cpu_count"],
        "load_average_before": " ".join(f"{x:.2f}" for x in figures["load_average_before"]),
        "load_average_after": " ".join(f"{x:.2f}" for x in figures["load_average_after"]),
        "glibc_tunables": figures["glibc_tunables"],
    }
    summary.update({f"aim {k}": v for k, v in figures["aims"].items()})
    print_figures("bench ingest: across runs", summary, file)
    if figures.get("motion"):
        title = "bench ingest: motion, on and off in interleaved pairs (medians), and a still video against the busy one"
        print_figures(title, figures["motion"], file)
