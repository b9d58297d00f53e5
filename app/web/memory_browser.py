"""The Memory tab: a video's timeline at each scale (a plot and a table), its entities, and its facts
with the moments they came from; a fact can be deleted.

The rows and the figure are plain functions of the library.
"""

import math
from collections.abc import Sequence
from typing import Any

import gradio as gr
import matplotlib
import numpy as np

matplotlib.use("Agg")  # the web app draws off-screen, in worker threads

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from app.web.evidence import FrameView, moment_frames
from app.web.page import Page, shown, table
from perception.timefmt import format_span, format_time

TIMELINE_HEADERS = ["Scale", "Start", "End", "Caption", "On screen", "Speech"]
ENTITY_HEADERS = ["Entity", "Kind", "Seen", "Sightings", "Also called"]
FACT_HEADERS = ["Id", "Subject", "Relation", "Object", "When", "Source", "Conf.", "Moments"]
LANE_COLOURS = ("#4f46e5", "#0891b2", "#059669", "#d97706", "#db2777")
ALL_SCALES = "all"
NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)  # seconds
MAX_TICKS = 10
PLOT_WIDTH_PX = 800  # about the plotting area of the 10 in x 100 dpi figure, beside the lane names
MIN_BAR_PX = 4.0  # narrower segments are drawn as runs


def scale_choices(longshot: Any, video: str) -> list[tuple[str, str]]:
    """("every scale", "all") then one choice per stored scale, finest first."""
    return [("every scale", ALL_SCALES)] + [(f"{format_time(s)} segments", str(s)) for s in longshot.episodic.scales(video)]


def timeline_rows(longshot: Any, video: str, scale: str | float | None = None) -> list[list[str]]:
    chosen = None if scale in (None, "", ALL_SCALES) else float(scale)
    return [
        [format_time(s.scale), format_time(s.start), format_time(s.end), s.caption, s.ocr_text.replace("\n", "; "), s.speech_text]
        for s in longshot.episodic.segments(video, scale=chosen)
    ]


def round_ticks(duration: float, max_ticks: int = MAX_TICKS) -> list[float]:
    """Tick times on a round step (10 s, 5 min, 30 min, 1 h...) from 0 to `duration`, at most `max_ticks` + 1."""
    duration = max(duration, 1.0)
    step = next((s for s in NICE_STEPS if duration / s <= max_ticks), None)
    if step is None:  # beyond the table: whole multiples of its longest step
        step = NICE_STEPS[-1] * math.ceil(duration / (NICE_STEPS[-1] * max_ticks))
    return [float(t) for t in np.arange(0.0, duration + 1e-9, step)]


def lane_bars(spans: Sequence[tuple[float, float]], seconds_per_px: float) -> tuple[list[tuple[float, float]], bool]:
    """(start, width) bars for one lane, and whether to outline them. Segments wide enough to tell apart are
    drawn one by one with a gap between them; narrower ones (10 s segments over 3 h) are joined into runs
    drawn without outlines, which would otherwise paint the whole lane white; a real gap stays a gap."""
    bars = sorted((start, max(end - start, 0.0)) for start, end in spans)
    widths = sorted(width for _, width in bars)
    if not bars or widths[len(widths) // 2] >= MIN_BAR_PX * seconds_per_px:
        return [(start, max(width, 0.1)) for start, width in bars], True
    runs: list[list[float]] = []
    for start, width in bars:
        if runs and start <= runs[-1][1] + seconds_per_px:
            runs[-1][1] = max(runs[-1][1], start + width)
        else:
            runs.append([start, start + width])
    return [(start, max(end - start, seconds_per_px)) for start, end in runs], False


def timeline_figure(longshot: Any, video: str) -> Figure:
    """One lane per scale (finest on top) with its segments, and a lane of facts' moments, over round times."""
    record = longshot.video(video)
    scales = longshot.episodic.scales(video)
    facts = longshot.semantic.facts(video)
    lanes = [f"{format_time(s)} segments" for s in scales] + (["facts"] if facts else [])
    figure, axes = plt.subplots(figsize=(10, 0.6 + 0.55 * max(1, len(lanes))), dpi=100)
    seconds_per_px = max(record.duration, 1.0) / PLOT_WIDTH_PX
    lane_spans = [[(s.start, s.end) for s in longshot.episodic.segments(video, scale=scale)] for scale in scales]
    looks = [(LANE_COLOURS[row % len(LANE_COLOURS)], 0.7, 0.85) for row in range(len(scales))]
    if facts:
        lane_spans.append([(f.start, max(f.end, f.start + 0.5)) for f in facts])
        looks.append(("#f43f5e", 0.5, 0.6))
    for row, (spans, (colour, height, alpha)) in enumerate(zip(lane_spans, looks)):
        bars, outlined = lane_bars(spans, seconds_per_px)
        edges = {"edgecolors": "white", "linewidth": 1.5} if outlined else {"linewidth": 0}
        axes.broken_barh(bars, (row - height / 2, height), facecolors=colour, alpha=alpha, **edges)
    if record.status == "ingesting":
        axes.axvline(record.committed_until, color="#64748b", linestyle="--", linewidth=1)
        axes.text(record.committed_until, -0.6, " ingested so far", color="#64748b", fontsize=8, va="bottom")
    axes.set_xlim(0, max(record.duration, 1.0))
    axes.set_ylim(len(lanes) - 0.5, -0.7)
    axes.set_yticks(range(len(lanes)), lanes)
    axes.xaxis.set_major_locator(FixedLocator(round_ticks(record.duration)))
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
        [e.name, e.kind, format_span(e.first_seen, e.last_seen), e.count, ", ".join(e.aliases)]
        for e in longshot.semantic.entities(video)
    ]


def fact_rows(longshot: Any, video: str) -> list[list[Any]]:
    rows = []
    for fact in longshot.semantic.facts(video):
        _, segments = longshot.semantic.trace(fact.id)
        moments = ", ".join(format_span(s.start, s.end) for s in segments)
        rows.append(
            [
                fact.id,
                fact.subject,
                fact.relation,
                fact.object,
                format_span(fact.start, fact.end),
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


NO_FACT_TEXT = "Click a fact to see the moments it came from."


class MemoryTab:
    """The tab's layout and its handlers, over one page."""

    def __init__(self, page: Page):
        self.page = page

    def build(self) -> None:
        with gr.Tab("Memory", id="memory", elem_id="ls-tab-memory"):
            picked_fact = gr.State(None)
            title = gr.Markdown("")
            plot = gr.Plot(label="Timeline: segments at each scale, and the moments facts come from", elem_id="ls-timeline-plot")
            scale = gr.Radio(label="Segments at", choices=[], elem_id="ls-scale")
            timeline = table(TIMELINE_HEADERS, "Timeline", "ls-timeline", ["7%", "7%", "7%", "45%", "17%", "17%"], 360)
            facts = table(
                FACT_HEADERS,
                "Facts · click one to see where it came from",
                "ls-facts",
                ["5%", "15%", "9%", "33%", "10%", "9%", "6%", "13%"],
                360,
            )
            fact_text = gr.Markdown(NO_FACT_TEXT, elem_id="ls-fact-text")
            moments = gr.Gallery(
                label="Moments of the fact",
                columns=5,
                height=280,
                allow_preview=False,
                fit_columns=False,
                object_fit="contain",
                elem_id="ls-moments",
                visible=False,
            )
            delete = gr.Button("Delete this fact", variant="stop", interactive=False, elem_id="ls-delete-fact")
            entities = table(ENTITY_HEADERS, "Entities", "ls-entities", ["34%", "12%", "16%", "10%", "28%"], 300)

        video = self.page.video
        outputs = [title, plot, scale, timeline, entities, facts, fact_text, moments, delete, picked_fact]
        video.change(self.load, [video], outputs, api_name="memory")
        scale.change(self.rows_at, [video, scale], [timeline], api_visibility="private")
        facts.select(self.show_fact, [video, facts], [fact_text, moments, delete, picked_fact], api_name="fact")
        delete.click(self.remove_fact, [video, picked_fact], outputs, api_name="delete_fact")

    @shown
    def load(self, current):
        """Everything the tab shows about the picked video, with no fact picked."""
        longshot = self.page.longshot
        record = self.page.record(current)
        if record is None:
            empty = gr.update(choices=[], value=None)
            return "Pick a video to browse its memory.", None, empty, [], [], [], *self.no_fact()
        title = (
            f"### {record.name}\n{format_time(record.duration)} · {record.status} · "
            f"{format_time(record.committed_until)} ingested · id `{record.id}`"
        )
        return (
            title,
            timeline_figure(longshot, record.id),
            gr.update(choices=scale_choices(longshot, record.id), value="all"),
            timeline_rows(longshot, record.id),
            entity_rows(longshot, record.id),
            fact_rows(longshot, record.id),
            *self.no_fact(),
        )

    @shown
    def rows_at(self, current, chosen):
        return timeline_rows(self.page.longshot, current, chosen) if current else []

    @staticmethod
    def no_fact():
        return NO_FACT_TEXT, gr.update(value=[], visible=False), gr.update(interactive=False, value="Delete this fact"), None

    @shown
    def show_fact(self, current, rows, evt: gr.SelectData):
        fact_id = fact_id_at(rows.values.tolist() if hasattr(rows, "values") else rows, evt.index[0])
        if fact_id is None:
            return self.no_fact()
        text, views = fact_moments(self.page.longshot, current, fact_id)
        frames = gr.update(value=[(v.image, v.caption) for v in views], visible=True)
        return text, frames, gr.update(interactive=True, value=f"Delete fact #{fact_id}"), fact_id

    @shown
    def remove_fact(self, current, fact_id, request: gr.Request):
        self.page.check_may_delete(request)
        if fact_id is None:
            raise gr.Error("Click a fact first.")
        gr.Info(delete_fact(self.page.longshot, int(fact_id)))
        return self.load(current)
