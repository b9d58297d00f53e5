"""The report's two figures, drawn on matplotlib's Agg canvas (no display, no global pyplot state)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

ACCURACY_PNG = "accuracy_by_bucket.png"
LATENCY_PNG = "latency.png"
SERIES = (("Longshot", "#1f77b4"), ("blind", "#ff7f0e"), ("random (expected)", "#9e9e9e"))


def plot_accuracy(summary: Mapping[str, Any], path: Path) -> Path | None:
    """Accuracy overall and per bucket value, beside the blind and random baselines; None with nothing scored."""
    if summary.get("accuracy") is None:
        return None
    panels = [("overall", {"all": _trio(summary, None, None)})]
    for key, values in summary["buckets"].items():
        if values:
            panels.append((key, {value: _trio(summary, key, value) for value in values}))
    rows = sum(len(values) for _, values in panels)
    figure = Figure(figsize=(7.5, 1.2 + 0.55 * rows + 0.5 * len(panels)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, squeeze=False, height_ratios=[len(v) for _, v in panels])[:, 0]
    height = 0.8 / len(SERIES)
    for axis, (title, values) in zip(axes, panels):
        labels = list(values)
        positions = np.arange(len(labels))
        for s, (name, colour) in enumerate(SERIES):
            accuracies = [values[label][s] for label in labels]
            shown = [a if a is not None else 0.0 for a in accuracies]
            bars = axis.barh(positions + (s - 1) * height, shown, height, color=colour, label=name)
            for bar, accuracy in zip(bars, accuracies):
                text = "n/a" if accuracy is None else f"{accuracy:.0%}"
                axis.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=7)
        axis.set_yticks(positions, labels)
        axis.invert_yaxis()
        axis.set_xlim(0, 1.12)
        axis.xaxis.set_major_formatter(PercentFormatter(1.0))
        axis.set_title(f"accuracy by {title}" if title != "overall" else "accuracy overall", fontsize=9, loc="left")
        axis.tick_params(labelsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside upper right", ncols=len(SERIES), fontsize=7, frameon=False)
    axes[-1].set_xlabel("accuracy")
    figure.savefig(path, dpi=120)
    return path


def _trio(summary: Mapping[str, Any], key: str | None, value: str | None) -> tuple[float | None, ...]:
    """(Longshot, blind, random expected) accuracy overall or for one bucket value."""
    baselines = summary["baselines"]
    runs = [summary, baselines.get("blind"), baselines["random"]["expected"]]
    if key is None:
        return tuple(run["accuracy"] if run else None for run in runs)
    return tuple((run["buckets"].get(key, {}).get(value) or {}).get("accuracy") if run else None for run in runs)


def plot_latency(latencies: Sequence[float], by_bucket: Mapping[str, Sequence[float]], path: Path) -> Path | None:
    """Histogram of seconds per item with median and 90th percentile, and a box per bucket value."""
    if not latencies:
        return None
    values = np.asarray(latencies, dtype=float)
    columns = 2 if by_bucket else 1
    figure = Figure(figsize=(5.5 * columns, 3.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    axes[0].hist(values, bins=min(30, max(5, len(values) // 2)), color=SERIES[0][1])
    for quantile, style in ((50, "-"), (90, "--")):
        at = float(np.percentile(values, quantile))
        axes[0].axvline(at, color="black", linestyle=style, linewidth=1, label=f"p{quantile} {at:.2f} s")
    axes[0].set_xlabel("seconds per item")
    axes[0].set_ylabel("items")
    axes[0].set_title(f"latency of {len(values)} items", fontsize=9, loc="left")
    axes[0].legend(fontsize=7)
    if by_bucket:
        labels = list(by_bucket)
        axes[1].boxplot([list(by_bucket[label]) for label in labels], orientation="horizontal")
        axes[1].set_yticks(range(1, len(labels) + 1), labels)
        axes[1].invert_yaxis()
        axes[1].set_xlabel("seconds per item")
        axes[1].set_title("latency by bucket", fontsize=9, loc="left")
    for axis in axes:
        axis.tick_params(labelsize=8)
    figure.savefig(path, dpi=120)
    return path
