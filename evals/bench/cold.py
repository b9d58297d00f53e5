"""`longshot bench cold`: what a user waits for when each command starts in a fresh process.

A user at a shell pays for the interpreter, every import and every model load on each command,
not only for the work. Each command here runs `repeats` times as a fresh `longshot` process on
a needle library (evals/needle.py, built and ingested once, then reused), beside `python -c pass`
in the same run, so the cost of starting Python itself is on the same machine under the same
load. Per command: median and best wall time, median CPU time (user and system: what the
command costs whatever else the machine is doing, so on a shared machine the nearer guide to
its wall time on a quiet one), peak RSS (the kernel's high-water mark for that process, from
wait4), which heavy packages it imported (each run lists its modules on its way out), and the
lines on stderr that look like warnings or third-party banners.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from evals.bench.common import CACHE_DIR, PROJECT_ROOT, measure_in_child, print_figures
from evals.needle import build_needle

HEAVY = (
    "torch",
    "torchvision",
    "open_clip",
    "ultralytics",
    "sentence_transformers",
    "transformers",
    "gradio",
    "faster_whisper",
    "ctranslate2",
    "rapidocr",
    "onnxruntime",
)
NOISE = re.compile(r"warning|ultralytics|settings|loading weights|banner|deprecat", re.IGNORECASE)
AIMS = {"ask": (2.0, 600.0), "doctor": (2.0, None), "videos": (0.5, None)}  # command: (wall s, peak MB) the issue asks
LAUNCHER = (  # runs argv with stdout discarded; prints its wall seconds, peak RSS in kB, exit code and CPU seconds (wait4)
    "import os, sys, time; started = time.perf_counter(); "
    "pid = os.posix_spawn(sys.executable, [sys.executable, *sys.argv[1:]], os.environ, "
    "file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]); "
    "_, status, usage = os.wait4(pid, 0); "
    "print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime)"
)
# Where a command writes the top-level packages it imported, on its way out (not LONGSHOT_*: configuration reads those).
MODULES_FILE = "BENCH_COLD_MODULES"
LONGSHOT = (
    "import atexit, os, sys\n"
    "def imported():\n"
    f"    with open(os.environ['{MODULES_FILE}'], 'w') as out:\n"
    "        out.write('\\n'.join(sorted({name.partition('.')[0] for name in sys.modules})))\n"
    "atexit.register(imported)\n"
    "sys.argv[0] = 'longshot'\n"
    "from evals.cli import main\n"
    "main()\n"
)


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]  # what follows `python`


def run(minutes: float = 30, repeats: int = 3, root: str | Path | None = None) -> dict[str, Any]:
    """Build (or reuse) a needle library of `minutes`, then time every command `repeats` times, cold."""
    from evals.bench.ask import ingest_needle

    root = Path(root) if root is not None else CACHE_DIR / "cold"
    needle = build_needle(root / f"needle-{minutes:g}min", minutes=minutes)
    home = root / "home"
    video = measure_in_child(ingest_needle, str(needle.video), str(home))["video"]
    load_before = os.getloadavg()
    results = {command.name: measure(command, repeats) for command in commands(home, video, needle.items)}
    return {
        "library_minutes": needle.duration / 60,
        "repeats": repeats,
        "commands": results,
        "aims": {name: {"wall_s": wall, "rss_peak_mb": rss} for name, (wall, rss) in AIMS.items()},
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def commands(home: Path, video: str, items) -> list[Command]:
    """`python -c pass`, then the library's read-only commands and a question of each kind the needle set asks."""

    def longshot(*args: str) -> tuple[str, ...]:
        return ("-c", LONGSHOT, *args, "--home", str(home))

    when = next(item for item in items if item.buckets.get("kind") == "when")
    choice = next(item for item in items if item.buckets.get("kind") == "choice")
    options = tuple(arg for option in choice.options for arg in ("-o", option))
    return [
        Command("python -c pass", ("-c", "pass")),
        Command("help", ("-c", LONGSHOT, "--help")),
        Command("videos", longshot("videos")),
        Command("doctor", longshot("doctor")),
        Command("memory", longshot("memory", video, "--json")),
        Command("ask", longshot("ask", video, when.question)),
        Command("ask choice", longshot("ask", video, choice.question, *options)),
    ]


def measure(command: Command, repeats: int, watch: tuple[str, ...] = HEAVY) -> dict[str, Any]:
    """Wall, CPU and peak RSS over `repeats` fresh runs, which of `watch` they imported, and their noise."""
    walls, cpus, peaks, noise, codes, modules = [], [], [], {}, set(), set()
    with tempfile.TemporaryDirectory(prefix="longshot-bench-cold-") as scratch:
        for _ in range(repeats):
            wall, cpu, peak, code, stderr = _run_once(command.argv, Path(scratch) / "modules")
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
            codes.add(code)
            noise.update(dict.fromkeys(line for line in stderr.splitlines() if NOISE.search(line)))
            with contextlib.suppress(FileNotFoundError):  # a command that is not ours reports nothing
                modules.update((Path(scratch) / "modules").read_text().split())
    return {
        "wall_median_s": statistics.median(walls),
        "wall_best_s": min(walls),
        "cpu_median_s": statistics.median(cpus),
        "rss_peak_mb": max(peaks),
        "exit_codes": sorted(codes),
        "heavy_imports": sorted(modules & set(watch)),
        "noise_lines": list(noise),
    }


def _run_once(argv: tuple[str, ...], modules: Path) -> tuple[float, float, float, int, str]:
    """(wall s, CPU s, peak RSS MB, exit code, stderr) of one fresh `python argv...`, started by a small launcher;
    a `longshot` command writes the packages it imported to `modules`.

    The launcher is itself a fresh, bare Python: a process's peak RSS starts from its parent's at
    fork and survives exec, so spawned from this (large) process every command would seem as big.
    """
    env = {**os.environ, MODULES_FILE: str(modules)}
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    wall, peak_kb, code, cpu = done.stdout.split()
    return float(wall), float(cpu), int(peak_kb) / 1024, int(code), done.stderr


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    base = figures["commands"]["python -c pass"]["wall_median_s"]
    rows: dict[str, Any] = {"library": f"{figures['library_minutes']:.0f} min needle video, {figures['repeats']} runs each"}
    for name, result in figures["commands"].items():
        rows[name] = (
            f"{result['wall_median_s']:.2f} s median, {result['wall_best_s']:.2f} best, "
            f"{result['wall_median_s'] - base:+.2f} over python; "
            f"{result['cpu_median_s']:.2f} s CPU; {result['rss_peak_mb']:.0f} MB peak"
            + _aim(figures["aims"].get(name.split()[0]))
        )
        rows[f"{name} imports"] = ", ".join(result["heavy_imports"]) or "-"
        if result["noise_lines"]:
            rows[f"{name} noise"] = " | ".join(result["noise_lines"])[:300]
        if result["exit_codes"] != [0]:
            rows[f"{name} exit codes"] = result["exit_codes"]
    rows["cpu_count"] = figures["cpu_count"]
    rows["load_average_before"] = " ".join(f"{x:.2f}" for x in figures["load_average_before"])
    rows["load_average_after"] = " ".join(f"{x:.2f}" for x in figures["load_average_after"])
    print_figures("bench cold: each command in a fresh process", rows, file)


def _aim(aim: dict[str, float | None] | None) -> str:
    if not aim:
        return ""
    memory = f", <= {aim['rss_peak_mb']:g} MB" if aim.get("rss_peak_mb") else ""
    return f"  (aim <= {aim['wall_s']:g} s{memory})"
