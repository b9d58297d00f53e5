"""`longshot bench embed`: the text embedder on onnxruntime against sentence-transformers, same model.

Each way runs in a fresh process of its own: the onnx backend building its graph into an
empty cache (a library's first use), the onnx backend from that cache (every later start),
and sentence-transformers (torch). Each reports its cold load (imports included), its peak
RSS above the bare child, and its embedding throughput for one sentence and for 64, with
the CPU threads the configuration gives models.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from evals.bench.common import measure_in_child, print_figures

BACKENDS = ("onnx-first-use", "onnx-cached", "sentence-transformers")
TEXT = (
    "the announcer said train platform departs delayed vault code seven screen shows astronaut walked on the moon "
    "lecture slide explains gradient descent meeting agenda budget quarter speaker notes camera pans across the room"
)


def run(threads: int = 1, repeats: int = 5) -> dict[str, Any]:
    """Figures per backend, each measured in a child of its own, one after the other."""
    with tempfile.TemporaryDirectory(prefix="longshot-bench-embed-") as cache:
        return {backend: measure_in_child(embed_in_child, backend, cache, threads, repeats) for backend in BACKENDS}


def sentences(count: int) -> list[str]:
    """`count` caption-like sentences of 6 to 40 words, the same every run."""
    words = TEXT.split()
    return [" ".join(words[(index * 7 + step * 3) % len(words)] for step in range(6 + index * 11 % 35)) for index in range(count)]


def embed_in_child(backend: str, cache: str, threads: int, repeats: int) -> dict[str, Any]:
    start = time.perf_counter()
    if backend == "sentence-transformers":
        import torch

        from perception.text_embed import SentenceEmbedder, locate_sentence_model

        torch.set_num_threads(threads)
        embedder: Any = SentenceEmbedder(locate_sentence_model("all-MiniLM-L6-v2"))
    else:
        from perception.text_embed import OnnxSentenceEmbedder, locate_onnx_sentence_model

        embedder = OnnxSentenceEmbedder(locate_onnx_sentence_model("all-MiniLM-L6-v2"), Path(cache), threads)
    load_s = time.perf_counter() - start
    one, batch = sentences(1), sentences(64)
    embedder.embed(batch)  # warm-up: first-call allocations are not throughput
    one_s = _median_of(lambda: embedder.embed(one), repeats * 10)
    batch_s = _median_of(lambda: embedder.embed(batch), repeats)
    return {"load_s": load_s, "one_per_s": 1 / one_s, "batch64_per_s": 64 / batch_s, "one_ms": one_s * 1000}


def _median_of(call, repeats: int) -> float:
    """The median of `repeats` timings, in seconds: robust to a neighbour's burst on a shared machine."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def report(figures: dict[str, Any], file: TextIO | None = None) -> None:
    for backend, row in figures.items():
        shown = {name: row[name] for name in ("load_s", "rss_growth_mb", "rss_peak_mb", "one_ms", "one_per_s", "batch64_per_s")}
        print_figures(backend, shown, file)
