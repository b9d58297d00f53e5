"""ONNX models with their subnormal weights set to zero, which makes the same network several times faster on a CPU.

A subnormal float (below 1.2e-38 in magnitude) takes a slow path through the CPU's multiply
unit, often a hundred times slower than a normal one. PP-OCRv6's text detector ships with a
tenth of its weights subnormal (255,958 of 2,453,416), mostly in two 1x1 convolutions of its
last stage, which took 80% of a call. With them zero, a 256x128 input costs 6.5 ms instead of
24-28 ms on one thread, and the detector's output maps are bit for bit the same: such a weight
adds less than 1e-35 to any sum, below what float32 keeps. onnxruntime's own
`session.set_denormal_as_zero` does not reach the calling thread, where a one-thread session runs.

The copy is written once beside the other derived models (`perception.model_cache`) and
reused; without a folder to keep it in, the model is used as shipped.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from perception.model_cache import cached_build

log = logging.getLogger(__name__)

FLUSH_VERSION = 1  # bump when what is written here changes, so cached copies are built again
_SMALLEST_NORMAL = np.finfo(np.float32).tiny


def without_subnormals(model: Path) -> bytes:
    """The ONNX model at `model`, serialised, with every subnormal float32 weight set to zero."""
    from onnx import load, numpy_helper

    graph = load(str(model))
    for tensor in graph.graph.initializer:
        weights = numpy_helper.to_array(tensor)
        if weights.dtype != np.float32:
            continue
        tiny = _subnormal(weights)
        if tiny.any():
            tensor.CopyFrom(numpy_helper.from_array(np.where(tiny, np.float32(0), weights), tensor.name))
    return graph.SerializeToString()


def flushed_copy(model: Path, cache_dir: Path | None) -> Path:
    """The path of `model` without subnormal weights, kept in `cache_dir`; `model` itself when there
    is no folder or it cannot be written to (slower, the same output)."""
    if cache_dir is None:
        return model
    try:
        stat = model.stat()
        key = json.dumps({"flush": FLUSH_VERSION, "source": str(model.resolve()), "stamp": [stat.st_size, stat.st_mtime_ns]})
        return cached_build(cache_dir / model.name, key, lambda: without_subnormals(model))
    except OSError as err:
        log.warning("cannot keep a fast copy of %s in %s (%s); using it as shipped", model, cache_dir, err)
        return model


def _subnormal(weights: np.ndarray) -> np.ndarray:
    return (weights != 0) & (np.abs(weights) < _SMALLEST_NORMAL)
