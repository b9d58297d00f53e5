"""The memory browser as plain data: the timeline at each scale, entities, and facts with their moments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the web app draws off-screen, in worker threads

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from app.web_chat import FrameView, moment_frames
from perception.timefmt import format_time

TIMELINE_HEADERS = ["Scale", "Start", "End", "Caption", "On screen", "Speech"]
ENTITY_HEADERS = ["Entity", "Kind", "Seen", "Sightings", "Also called"]
FACT_HEADERS = ["Id", "Subject", "Relation", "Object", "When", "Source", "Conf.", "Moments"]
LANE_COLOURS = ("#4f46e5", "#0891b2", "#059669", "#d97706", "#db2777")
ALL_SCALES = "all"


def scale_choices(longshot: Any, video: str) -> list[tuple[str, str]]:
    """("every scale", "all") then one choice per stored scale, finest first."""
    return [("every scale", ALL_SCALES)] + [(f"{format_time(s)} segments", str(s)) for s in longshot.episodic.scales(video)]


def timeline_rows(longshot: Any, video: str, scale: str | float | None = None) -> list[list[str]]:
    chosen = None if scale in (None, "", ALL_SCALES) else float(scale)
    return [
        [format_time(s.scale), format_time(s.start), format_time(s.end), s.caption, s.ocr_text.replace("\n", "; "), s.speech_text]
        for s in longshot.episodic.segments(video, scale=chosen)
    ]


def timeline_figure(longshot: Any, video: str) -> Figure:
    """One lane per scale (finest on top) with a bar per segment, and a lane of facts' moments."""
    record = longshot.video(video)
    scales = longshot.episodic.scales(video)
    facts = longshot.semantic.facts(video)
    lanes = [f"{format_time(s)} segments" for s in scales] + (["facts"] if facts else [])
    figure, axes = plt.subplots(figsize=(10, 0.6 + 0.55 * max(1, len(lanes))), dpi=100)
    for row, scale in enumerate(scales):
        segments = longshot.episodic.segments(video, scale=scale)
        colour = LANE_COLOURS[row % len(LANE_COLOURS)]
        spans = [(s.start, max(s.end - s.start, 0.1)) for s in segments]
        axes.broken_barh(spans, (row - 0.35, 0.7), facecolors=colour, edgecolors="white", linewidth=1.5, alpha=0.85)
    if facts:
        row = len(scales)
        axes.broken_barh(
            [(f.start, max(f.end - f.start, 0.5)) for f in facts],
            (row - 0.25, 0.5),
            facecolors="#f43f5e",
            edgecolors="white",
            linewidth=1,
            alpha=0.6,
        )
    if record.status == "ingesting":
        axes.axvline(record.committed_until, color="#64748b", linestyle="--", linewidth=1)
        axes.text(record.committed_until, -0.6, " ingested so far", color="#64748b", fontsize=8, va="bottom")
    axes.set_xlim(0, max(record.duration, 1.0))
    axes.set_ylim(len(lanes) - 0.5, -0.7)
    axes.set_yticks(range(len(lanes)), lanes)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 3, 5, 6, 10]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_time(max(0.0, round(x)))))
    axes.set_xlabel("time in the video")
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="y", length=0)
    axes.grid(axis="x", color="#e2e8f0", linewidth=0.8)
    axes.set_axisbelow(True)
    figure.tight_layout()
    plt.close(figure)  # the app keeps no pyplot state between requests
    return figure


def entity_rows(longshot: Any, video: str) -> list[list[Any]]:
    return [
        [e.name, e.kind, f"{format_time(e.first_seen)}–{format_time(e.last_seen)}", e.count, ", ".join(e.aliases)]
        for e in longshot.semantic.entities(video)
    ]


def fact_rows(longshot: Any, video: str) -> list[list[Any]]:
    rows = []
    for fact in longshot.semantic.facts(video):
        _, segments = longshot.semantic.trace(fact.id)
        moments = ", ".join(f"{format_time(s.start)}–{format_time(s.end)}" for s in segments)
        rows.append(
            [
                fact.id,
                fact.subject,
                fact.relation,
                fact.object,
                f"{format_time(fact.start)}–{format_time(fact.end)}",
                fact.source,
                round(fact.confidence, 2),
                moments,
            ]
        )
    return rows


def fact_moments(longshot: Any, video: str, fact_id: int) -> tuple[str, list[FrameView]]:
    """A fact in words and the frames of the moments it came from."""
    fact, segments = longshot.semantic.trace(fact_id)
    text = f"**Fact #{fact.id}:** {fact.subject} — {fact.relation} — {fact.object} ({fact.source}, seen {len(segments)}×)"
    return text, moment_frames(longshot, video, segments)


def delete_fact(longshot: Any, fact_id: int) -> str:
    """Remove a fact (and an entity left without facts); what was removed, in words."""
    fact, _ = longshot.semantic.trace(fact_id)
    longshot.semantic.delete(fact_id)
    return f"Deleted fact #{fact.id}: {fact.subject} — {fact.relation} — {fact.object}"


def fact_id_at(rows: Sequence[Sequence[Any]], row: int) -> int | None:
    """The fact id in row `row` of the facts table, if there is one."""
    if 0 <= row < len(rows) and rows[row] and str(rows[row][0]).strip().isdigit():
        return int(rows[row][0])
    return None
