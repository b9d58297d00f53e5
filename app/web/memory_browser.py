"""The Memory tab: a video's timeline at each scale (a plot and a table), its entities, and its facts
with the moments they came from; a fact can be deleted.

The rows and the figure are plain functions of the library.
"""

from collections.abc import Sequence
from typing import Any

import gradio as gr
import matplotlib

matplotlib.use("Agg")  # the web app draws off-screen, in worker threads

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from app.web.evidence import FrameView, moment_frames
from app.web.page import Page, shown, table
from perception.timefmt import format_span, format_time

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
    def remove_fact(self, current, fact_id):
        if fact_id is None:
            raise gr.Error("Click a fact first.")
        gr.Info(delete_fact(self.page.longshot, int(fact_id)))
        return self.load(current)
