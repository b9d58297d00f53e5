"""Benchmark adapters: each reads a benchmark's published annotation files into `Item`s.

    from evals.datasets import get_dataset
    dataset = get_dataset("videomme", "~/data/Video-MME", subtitles=True)
    for item in dataset.items(limit=10): ...

`DATASETS` maps each name to a factory `factory(root, **options) -> Dataset`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from evals.datasets.base import Dataset, DatasetError, Item, describe
from evals.datasets.egoschema import EgoSchema
from evals.datasets.jsonl import JsonlDataset
from evals.datasets.longvideobench import LongVideoBench
from evals.datasets.lvbench import LVBench
from evals.datasets.mlvu import MLVU
from evals.datasets.nextqa import NExTQA
from evals.datasets.sketchpad import TASKS as SKETCHPAD_TASKS
from evals.datasets.sketchpad import Sketchpad
from evals.datasets.videomme import VideoMME


def _needle(root: str | Path, variant: str = "full", **options: Any) -> Dataset:
    """A needle set built from real media: full, heldout, heldout2 or ci (evals/needles), the motion sets motion,
    motion_heldout and motion_ci (evals/needles/motion_suite.py), or classic (evals/needle.py).

    Imported on use: those modules import this package.
    """
    if variant.startswith("motion"):
        from evals.needles.motion_suite import MotionSuite

        return _build(f"needle:{variant}", partial(MotionSuite, variant=variant), root, options)
    if variant == "classic":
        from evals.needle import NeedleDataset

        return _build("needle:classic", NeedleDataset, root, options)
    from evals.needles.suite import NeedleSuite

    return _build(f"needle:{variant}", partial(NeedleSuite, variant=variant), root, options)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "videomme": VideoMME,
    "videomme_subs": partial(VideoMME, subtitles=True),
    "egoschema": EgoSchema,
    "mlvu": MLVU,
    "lvbench": LVBench,
    "longvideobench": LongVideoBench,
    "nextqa": NExTQA,
    "jsonl": JsonlDataset,
    "sketchpad": Sketchpad,
    **{task: partial(Sketchpad, tasks=(task,)) for task in SKETCHPAD_TASKS},
    "needle": _needle,
}

ALIASES = {"video_mme": "videomme", "video_mme_subs": "videomme_subs", "next_qa": "nextqa", "lvb": "longvideobench"}


def get_dataset(name: str, root: str | Path, **options: Any) -> Dataset:
    """The adapter called `name` over the benchmark folder (or file) `root`; "name:variant" passes variant=... (needle:ci)."""
    key, _, variant = name.strip().lower().replace("-", "_").partition(":")
    key = ALIASES.get(key, key)
    if key not in DATASETS:
        raise DatasetError(f"no dataset called {name!r}; known: {', '.join(sorted(DATASETS))}")
    if variant:
        options = {"variant": variant, **options}
    return _build(key, DATASETS[key], root, options)


def _build(name: str, factory: Callable[..., Dataset], root: str | Path, options: dict[str, Any]) -> Dataset:
    """Call the factory, turning options it does not take into an error that lists those it does."""
    try:
        inspect.signature(factory).bind(root, **options)
    except TypeError:
        accepted = [p for p in inspect.signature(factory).parameters if p != "root"]
        raise DatasetError(
            f"dataset {name!r} does not take the options {sorted(options)}; it takes {', '.join(accepted) or 'none'}"
        ) from None
    return factory(root, **options)


__all__ = ["DATASETS", "Dataset", "DatasetError", "Item", "describe", "get_dataset"]
