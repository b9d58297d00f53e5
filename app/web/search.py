"""The Search tab: one box over the whole library. "Search" lists the best moments of every video (with
their keyframes); "Ask the library" runs the agent on the best candidate videos, streaming its steps,
and answers with evidence from each video it names. A click on a frame plays that video from there.

The rows, captions and answer text are plain functions of the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gradio as gr

from app.library_answer import LibraryStep
from app.web.chat import clip, step_title
from app.web.evidence import FrameView, all_evidence, evidence_frames, keyframe_view, player_at
from app.web.page import Page, frame_gallery, shown, table
from perception.timefmt import format_span

MOMENT_HEADERS = ["Video", "When", "Modality", "What", "Score"]
SEARCHABLE = ["speech", "subtitle", "text", "caption", "object"]
MOMENTS_SHOWN = 12
FRAMES_PER_VIDEO = 4
Target = tuple[str, float]  # (video id, second) a gallery item plays


def moment_rows(moments: Sequence[Any]) -> list[list[Any]]:
    return [[m.name, format_span(m.start, m.end), m.modality, clip(m.text, 160), round(m.score, 2)] for m in moments]


def moment_frames(longshot: Any, moments: Sequence[Any]) -> list[tuple[FrameView, Target]]:
    """Each moment's keyframe, captioned with its video, and what a click on it plays."""
    shown = []
    for moment in moments:
        view = keyframe_view(longshot, moment.video, moment.keyframe, moment.name) if moment.keyframe is not None else None
        if view is not None:
            shown.append((view, (moment.video, moment.start)))
    return shown


def answer_frames(longshot: Any, answer: Any) -> list[tuple[FrameView, Target]]:
    """Evidence frames of every video the answer names, a few each, captioned with the video."""
    shown = []
    for found in answer.answers:
        for view in evidence_frames(longshot, found.video, all_evidence(found.answer), FRAMES_PER_VIDEO):
            labelled = FrameView(view.image, view.time, f"{found.name} · {view.caption}")
            shown.append((labelled, (found.video, view.time)))
    return shown


def answer_markdown(answer: Any) -> str:
    """The answer, a line per video it names, and the videos the agent tried."""
    tried = ", ".join(f"{t.name} ({t.support:.2f})" for t in answer.tried) or "none"
    if answer.abstained:
        return f"**{answer.text}**\n\nVideos tried: {tried}."
    lines = "\n".join(
        f"- **{a.name}** · {format_span(*a.answer.span) if a.answer.span else ''} · {a.answer.text}" for a in answer.answers
    )
    letter = f"**({answer.choice})** " if answer.choice else ""
    return f"{letter}{lines}\n\nVideos tried: {tried} · {answer.seconds:.1f} s"


class SearchTab:
    """The tab's layout and its handlers, over one page."""

    def __init__(self, page: Page):
        self.page = page

    def build(self) -> None:
        with gr.Tab("Search", id="search", elem_id="ls-tab-search"):
            targets = gr.State([])  # what each gallery frame plays
            with gr.Row():
                query = gr.Textbox(
                    show_label=False,
                    scale=6,
                    elem_id="ls-search-query",
                    placeholder="Across every video: e.g. the red van · what did the talks say about the budget?",
                )
                search = gr.Button("Search", variant="primary", scale=1, min_width=90, elem_id="ls-search")
                ask = gr.Button("Ask the library", scale=1, min_width=140, elem_id="ls-ask-all")
            modalities = gr.CheckboxGroup(SEARCHABLE, label="Only moments with", elem_id="ls-search-modalities")
            answer = gr.Markdown("", elem_id="ls-library-answer")
            with gr.Row(equal_height=False):
                with gr.Column(scale=5):
                    frames = frame_gallery("Moments · click one to play it", "ls-library-frames", columns=4)
                    moments = table(
                        MOMENT_HEADERS, "Moments across the library", "ls-library-moments", ["20%", "12%", "10%", "50%", "8%"]
                    )
                with gr.Column(scale=4):
                    player = gr.HTML(player_at(self.page.longshot, self.page.home, None, 0.0), elem_id="ls-library-player")
        outputs = [answer, frames, targets, moments]
        search.click(self.search, [query, modalities], outputs, api_name="search_library")
        query.submit(self.search, [query, modalities], outputs, api_visibility="private")
        ask.click(
            self.ask,
            [query],
            outputs,
            api_name="ask_library",
            concurrency_limit=self.page.web.ask_concurrency,
            concurrency_id="ask",
            show_progress="minimal",
        )
        frames.select(self.play, [targets], [player], api_name="play_moment")

    @shown
    def search(self, text, modalities):
        if not (text or "").strip():
            raise gr.Error("Type what to look for first.")
        longshot = self.page.longshot
        found = longshot.search(text, k=MOMENTS_SHOWN, modalities=modalities or None)
        shown_frames = moment_frames(longshot, found)
        note = "" if found else "Nothing in the library matches."
        return note, [(v.image, v.caption) for v, _ in shown_frames], [t for _, t in shown_frames], moment_rows(found)

    @shown
    def ask(self, text):
        if not (text or "").strip():
            raise gr.Error("Type a question first.")
        longshot = self.page.longshot
        yield "Searching the library…", gr.skip(), gr.skip(), gr.skip()
        for item in longshot.ask_library_stream(text):
            if isinstance(item, LibraryStep):
                yield f"Asking **{item.name}** · {step_title(item.step)}…", gr.skip(), gr.skip(), gr.skip()
                continue
            shown_frames = answer_frames(longshot, item)
            frames = [(v.image, v.caption) for v, _ in shown_frames]
            yield answer_markdown(item), frames, [t for _, t in shown_frames], moment_rows(item.moments[:MOMENTS_SHOWN])

    def play(self, targets, evt: gr.SelectData):
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        if not 0 <= index < len(targets):
            return gr.skip()
        video, start = targets[index]
        page = self.page
        return player_at(page.longshot, page.home, page.record(video), float(start))
