"""`longshot bench frames VIDEO`: time windows from the frame store against the source.

Builds a frame store from the video at 1 fps (as ingest does), then reads the same random
time windows three ways in one call: from the store with an empty frame cache ("cold";
the bundles are also dropped from the OS page cache where the OS allows), from the store
again with the frames resident ("warm"), and by decoding them from the source with decord
at the same working resolution. Then, each in a process of its own so the peaks are
separate, it reads every stored frame through a small cache, and holds every frame in RAM.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

import decord
import numpy as np

from app import FrameCache, FrameStore
from evals.bench.common import MB, measure_in_child, median_ms, print_figures
from perception.video import VideoReader

VIDEO_ID = "bench"


def run(
    video: str | Path,
    windows: int = 200,
    window_frames: int = 8,
    fps: float = 1.0,
    max_side: int = 448,
    cache_mb: int = 1024,
    stream_cache_mb: int = 64,
    seed: int = 0,
) -> dict[str, Any]:
    """Figures for `windows` random windows of `window_frames` frames sampled at `fps`.

    `cache_mb` must hold every window's frames for the warm pass to be all hits (the
    figures say how many were); `stream_cache_mb` is the cache for reading every frame.
    """
    video = Path(video)
    with tempfile.TemporaryDirectory(prefix="longshot-bench-frames-") as folder:
        root = Path(folder) / "frames"
        build_s = _build_store(video, root, fps, max_side)
        store = FrameStore(root, VIDEO_ID, FrameCache(cache_mb * MB), max_side=max_side)
        spans = _random_windows(store.times, window_frames / fps, windows, seed)
        dropped = _drop_from_page_cache(root)

        cold, window_times = _read_windows(store, spans, window_frames)
        cold_stats = store.stats
        warm, _ = _read_windows(store, spans, window_frames)
        warm_stats = {name: store.stats[name] - cold_stats[name] for name in cold_stats}
        shape = store.get(0).shape
        source = _decord_windows(video, window_times, shape)

        streamed = measure_in_child(read_every_frame, root, stream_cache_mb * MB)
        held = measure_in_child(hold_every_frame, root)
        disk_bytes = sum(path.stat().st_size for path in root.iterdir())

    cold_ms, warm_ms, source_ms = median_ms(cold), median_ms(warm), median_ms(source)
    return {
        "video": video.name,
        "video_s": float(store.times[-1]),
        "stored_frames": len(store),
        "frame_shape": "x".join(map(str, shape)),
        "store_build_s": build_s,
        "store_disk_mb": disk_bytes / MB,
        "windows": len(spans),
        "window_frames": window_frames,
        "page_cache_dropped": dropped,
        "cold_median_ms": cold_ms,
        "warm_median_ms": warm_ms,
        "decord_median_ms": source_ms,
        "cold_speedup_vs_decord": source_ms / cold_ms,
        "warm_speedup_vs_decord": source_ms / warm_ms,
        "cold_bundle_reads_per_window": cold_stats["bundle_reads"] / len(spans),
        "cold_kb_read_per_window": cold_stats["bytes_read"] / len(spans) / 1024,
        "warm_hit_rate": warm_stats["hits"] / max(1, warm_stats["hits"] + warm_stats["misses"]),
        "warm_kb_read": warm_stats["bytes_read"] / 1024,
        "all_frames_mb": len(store) * int(np.prod(shape)) / MB,
        "stream_cache_mb": stream_cache_mb,
        "stream_cache_peak_mb": streamed["cache_peak_mb"],
        "stream_peak_growth_mb": streamed["rss_growth_mb"],
        "hold_all_peak_growth_mb": held["rss_growth_mb"],
        "child_rss_before_mb": streamed["rss_before_mb"],
    }


def read_every_frame(root: str, cache_bytes: int) -> dict[str, Any]:
    """Read every stored frame in order, a bundle's worth at a time, through a small cache."""
    cache = FrameCache(cache_bytes)
    store = FrameStore(Path(root), VIDEO_ID, cache)
    peak = 0
    for start in range(0, len(store), 16):
        frames = store.at(range(start, min(len(store), start + 16)))
        peak = max(peak, cache.nbytes)
        del frames
    return {"frames": len(store), "cache_peak_mb": peak / MB}


def hold_every_frame(root: str) -> dict[str, Any]:
    """Read every stored frame and keep them all: what the store saves a reader from."""
    store = FrameStore(Path(root), VIDEO_ID, FrameCache(0))
    held = [store.at(range(start, min(len(store), start + 16))) for start in range(0, len(store), 16)]
    return {"frames": sum(len(frames) for frames in held)}


def _build_store(video: Path, root: Path, fps: float, max_side: int) -> float:
    started = time.perf_counter()
    store = FrameStore(root, VIDEO_ID, FrameCache(0), source=video, max_side=max_side)
    with VideoReader(video, max_side=max_side) as reader:
        for batch in reader.sample(fps=fps, batch_size=32):
            store.append(batch.frames, batch.times)
    return time.perf_counter() - started


def _random_windows(times: np.ndarray, span: float, count: int, seed: int) -> list[tuple[float, float]]:
    """`count` windows [start, start + span) placed uniformly at random over the stored times."""
    rng = np.random.default_rng(seed)
    last = max(float(times[0]), float(times[-1]) - span)
    starts = rng.uniform(float(times[0]), last, size=count)
    return [(float(start), float(start) + span - 1e-6) for start in starts]


def _drop_from_page_cache(root: Path) -> bool:
    """Ask the OS to forget the bundles' pages, so cold reads come from the disk."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in root.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def _read_windows(
    store: FrameStore, spans: list[tuple[float, float]], window_frames: int
) -> tuple[list[float], list[np.ndarray]]:
    """Seconds each window took to read from the store, and the times of its frames."""
    seconds, times = [], []
    for start, end in spans:
        started = time.perf_counter()
        _, window_times, _ = store.window(start, end, window_frames)
        seconds.append(time.perf_counter() - started)
        times.append(window_times)
    return seconds, times


def _decord_windows(video: Path, window_times: list[np.ndarray], shape: tuple[int, ...]) -> list[float]:
    """Seconds to decode each window's frames from the source with decord, at working resolution.

    One reader serves every window, as a long-lived reader would; each window seeks.
    """
    reader = decord.VideoReader(str(video), ctx=decord.cpu(0), width=shape[1], height=shape[0])
    source_times = reader.get_frame_timestamp(np.arange(len(reader)))[:, 0]
    seconds = []
    for times in window_times:
        indices = np.clip(np.searchsorted(source_times, times - 1e-3), 0, len(reader) - 1)
        started = time.perf_counter()
        reader.get_batch(indices.tolist()).asnumpy()
        seconds.append(time.perf_counter() - started)
    return seconds


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    print_figures("bench frames: frame store windows against decoding the source", figures, file)
