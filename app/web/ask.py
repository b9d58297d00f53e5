"""The Ask tab: a chat whose replies stream the agent's steps, the evidence frames (a click plays the
video from that moment), a player, and the sketches the agent drew.

Each browser tab keeps its own chat per video (a gr.State), so picking another video and back
brings its conversation back.
"""

from typing import Any

import gradio as gr

from app.web.chat import chat_stream
from app.web.evidence import all_evidence, evidence_frames, frame_at, player_html, sketch_images
from app.web.page import Page, shown


class AskTab:
    """The tab's layout and its handlers, over one page."""

    def __init__(self, page: Page):
        self.page = page

    def build(self) -> None:
        page = self.page
        with gr.Tab("Ask", id="ask", elem_id="ls-tab-ask"):
            chats = gr.State({})  # video id -> chat messages, for this browser tab
            frame_times = gr.State([])  # time of each evidence frame shown, for click-to-play
            with gr.Row(equal_height=False):
                with gr.Column(scale=5):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        height=600,
                        elem_id="ls-chat",
                        feedback_options=None,
                        buttons=["copy"],
                        placeholder="Ask about the picked video. Each step the agent takes appears here as it happens.",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            show_label=False,
                            scale=6,
                            elem_id="ls-question",
                            submit_btn=False,
                            placeholder="e.g. What code is shown on screen?  When does the speaker mention the gate?",
                        )
                        ask = gr.Button("Ask", variant="primary", scale=1, min_width=90, elem_id="ls-ask")
                with gr.Column(scale=4):
                    player = gr.HTML(player_html(page.home, None), elem_id="ls-player")
                    gallery = gr.Gallery(
                        label="Evidence frames · click one to play the video from there",
                        columns=3,
                        height="auto",
                        object_fit="contain",
                        allow_preview=False,
                        fit_columns=False,
                        elem_id="ls-evidence",
                    )
                    sketches = gr.Gallery(
                        label="Sketches the agent drew",
                        columns=3,
                        height="auto",
                        fit_columns=False,
                        visible=False,
                        object_fit="contain",
                        elem_id="ls-sketches",
                    )

        video = page.video
        video.change(self.pick_video, [video, chats], [chatbot, gallery, frame_times, sketches, player], api_name="pick")
        outputs = [chatbot, question, gallery, frame_times, sketches, chats]
        options: dict[str, Any] = {
            "concurrency_limit": page.web.ask_concurrency,
            "concurrency_id": "ask",
            "show_progress": "minimal",
        }
        ask.click(self.ask, [video, question, chats], outputs, api_name="ask", **options)
        question.submit(self.ask, [video, question, chats], outputs, api_visibility="private", **options)
        gallery.select(self.play_from, [video, frame_times], [player], api_name="play")

    def show_player(self, current, start: float, still_at: float | None = None) -> str:
        """The player at `start`, with the frame at `still_at` (default `start`) as its picture."""
        record = self.page.record(current)
        longshot = self.page.longshot
        still = frame_at(longshot, record.id, start if still_at is None else still_at) if record and record.frames else None
        return player_html(self.page.home, record, start, still)

    def pick_video(self, current, chat_by_video):
        record = self.page.record(current)
        player = self.show_player(current, 0.0, record.duration / 3 if record else None)
        return chat_by_video.get(current, []), [], [], gr.update(value=[], visible=False), player

    @shown
    def ask(self, current, text, chat_by_video):
        history = chat_by_video.get(current, [])
        longshot = self.page.longshot
        for messages, answer in chat_stream(longshot, current, text, history):
            if answer is None:
                yield messages, "", gr.skip(), gr.skip(), gr.skip(), gr.skip()
                continue
            found = all_evidence(answer)
            frames = evidence_frames(longshot, current, found)
            drawn = sketch_images(found)
            yield (
                messages,
                "",
                [(f.image, f.caption) for f in frames],
                [f.time for f in frames],
                gr.update(value=drawn, visible=bool(drawn)),
                {**chat_by_video, current: messages},
            )

    def play_from(self, current, times, evt: gr.SelectData):
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        return self.show_player(current, times[index] if 0 <= index < len(times) else 0.0)
