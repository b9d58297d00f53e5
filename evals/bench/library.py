"""`longshot bench library --hours 10,100,1000`: search and ask across libraries of that many hours.

Libraries are grown in one home, smallest size first (the 100 h library is the 10 h one and 90 h
more), from real ingests replicated into distinct videos (app.replica). At each
size, in processes of their own so each peak RSS is its own:

- index: the library-wide index rebuilt from the catalogue: seconds, peak RSS, size on disk;
- serve: a fresh Longshot opens that index and answers `searches` searches (needle codes, phrases
  the seeds said or showed, every fourth with a modality filter, every fifth with a date filter),
  then `asks` questions across the library (`ask --all`) about needles: latency median and p95,
  whether the top moment is the needle's video and moment (and the answer names its video); RSS
  with the text embedder loaded, while searching (the difference is the index's), and the peak
  once the agent's models are loaded too;

then the catalogue's size on disk. The goals (at 1000 h): search median <= 200 ms, RSS <= 1 GB.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import psutil

from app.replica import SEED_CLIPS, grow_library, needles_of
from evals.bench.common import CACHE_DIR, MB, measure_in_child, print_figures
from evals.needle import build_needle
from evals.needles.media import resolve_media

AIM_SEARCH_MS = 200.0
AIM_RSS_MB = 1024.0  # of the searching process
PHRASES = ("judge a book by its cover", "peach open movie project", "people walking on a path", "sense and sensibility",
           "elinor and marianne", "scene changes", "a parked car", "the notice on screen")  # fmt: skip


def run(
    hours: Sequence[float] = (10, 100, 1000), searches: int = 200, asks: int = 10, root: Path | None = None
) -> dict[str, Any]:
    root = Path(root or CACHE_DIR / "library")
    seeds = ensure_seeds(root / "seeds")
    home = root / "home"
    sizes: dict[str, dict[str, Any]] = {}
    for target in sorted(hours):
        built = measure_in_child(grow_library, str(seeds), str(home), float(target))
        index = measure_in_child(index_once, str(home))
        serve = measure_in_child(serve_once, str(home), searches, asks)
        sizes[f"{target:g}h"] = {**_summary(built, index, serve), "catalogue_mb": _catalogue_mb(home)}
    return {
        "sizes": sizes,
        "aims": {"search_median_ms": AIM_SEARCH_MS, "rss_searching_mb": AIM_RSS_MB},
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def ensure_seeds(home: Path) -> Path:
    """The seed library: the shared clips and a 10-minute needle video, ingested once and kept."""
    from app import Longshot

    done = home / "seeds-done.json"
    if done.is_file():
        return home
    longshot = Longshot(home=home, models__vlm="none")
    needle = build_needle(CACHE_DIR / "needle-10min", minutes=10)
    footage = resolve_media() / "video"
    for path in [footage / clip for clip in SEED_CLIPS if (footage / clip).is_file()] + [needle.video]:
        longshot.ingest(path)
    done.write_text(json.dumps([v.name for v in longshot.videos()]))
    return home


def index_once(home: str) -> dict[str, Any]:
    """Rebuild the library-wide index from the catalogue (runs in a child process)."""
    from app import Longshot

    longshot = Longshot(home=home)
    longshot.library_search.dim  # noqa: B018 (the embedder is loaded before the clock starts)
    started = time.perf_counter()
    generation = longshot.library_search.rebuild()
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in generation.folder.rglob("*") if f.is_file())
    kind = type(generation.dense).__name__ if generation.dense is not None else "none"
    return {"index_s": seconds, "documents": len(generation), "index_mb": size / MB, "dense_index": kind}


def serve_once(home: str, searches: int, asks: int) -> dict[str, Any]:
    """Open the index and search and ask across the library as a server would (runs in a child process)."""
    from app import Longshot

    rng = random.Random(1)
    needles = needles_of(home)
    longshot = Longshot(home=home)
    process = psutil.Process()
    longshot.models.text_embedder.embed(["warm up"])
    base_rss = process.memory_info().rss
    started = time.perf_counter()
    longshot.search("warm up", k=5)
    open_s = time.perf_counter() - started
    created = sorted(v.created for v in longshot.videos())
    timings, hits, asked = [], [], []
    for i in range(searches):
        needle = rng.choice(needles)
        query = f"case file {needle.code} {needle.word}" if i % 2 == 0 else rng.choice(PHRASES)
        filters: dict[str, Any] = {}
        if i % 4 == 1:
            filters["modalities"] = [rng.choice(["speech", "text", "caption"])]
        if i % 5 == 2:
            filters["added_after"] = created[len(created) // 2]
        began = time.perf_counter()
        found = longshot.search(query, k=10, **filters)
        timings.append(time.perf_counter() - began)
        if i % 2 == 0 and not filters:
            hits.append(bool(found) and (found[0].video, found[0].start) == (needle.video, needle.start))
    search_rss = process.memory_info().rss
    longshot.ask("What is shown on screen?")  # loads the agent's models before the clock starts
    right = []
    for needle in rng.sample(needles, min(asks, len(needles))):
        began = time.perf_counter()
        answer = longshot.ask(f"What does case file {needle.code} say?")
        asked.append(time.perf_counter() - began)
        right.append(answer.video == needle.video and needle.word.upper() in answer.text)
    return {
        "open_s": open_s,
        "search_median_ms": statistics.median(timings) * 1000,
        "search_p95_ms": _p95(timings) * 1000,
        "needle_top1": sum(hits) / len(hits) if hits else float("nan"),
        "ask_median_s": statistics.median(asked) if asked else float("nan"),
        "ask_p95_s": _p95(asked) if asked else float("nan"),
        "ask_right_video": sum(right) / len(right) if right else float("nan"),
        "rss_models_mb": base_rss / MB,
        "rss_searching_mb": search_rss / MB,
        "rss_index_mb": (search_rss - base_rss) / MB,
        "serve_rss_end_mb": process.memory_info().rss / MB,
    }


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _catalogue_mb(home: Path) -> float:
    return sum(f.stat().st_size for f in home.glob("catalogue.sqlite*")) / MB


def _summary(built: dict[str, Any], index: dict[str, Any], serve: dict[str, Any]) -> dict[str, Any]:
    return {
        "videos": built["videos"],
        "hours": built["hours"],
        "documents": index["documents"],
        "index_s": index["index_s"],
        "index_rss_peak_mb": index["rss_peak_mb"],
        "index_mb": index["index_mb"],
        "dense_index": index["dense_index"],
        "open_s": serve["open_s"],
        "search_median_ms": serve["search_median_ms"],
        "search_p95_ms": serve["search_p95_ms"],
        "needle_top1": serve["needle_top1"],
        "ask_median_s": serve["ask_median_s"],
        "ask_p95_s": serve["ask_p95_s"],
        "ask_right_video": serve["ask_right_video"],
        "rss_searching_mb": serve["rss_searching_mb"],
        "rss_index_mb": serve["rss_index_mb"],
        "serve_rss_peak_mb": serve["rss_peak_mb"],
        "grow_s": built["grow_s"],
    }


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    for size, row in figures["sizes"].items():
        print_figures(f"library of {size}", row, file)
    print_figures("", {"aims": figures["aims"], "cpu_count": figures["cpu_count"], "load_average": figures["load_average"]}, file)
