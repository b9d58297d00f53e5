"""The Ask tab: a chat whose replies stream the agent's steps, the evidence frames (a click plays the
video from that moment), a player, and the sketches the agent drew.

Each browser tab keeps its own chat per video (a gr.State), so picking another video and back
brings its conversation back.
"""

from typing import Any

import gradio as gr

from app.web.chat import chat_stream
from app.web.evidence import all_evidence, evidence_frames, frame_at, player_at, player_html, plays_whole, sketch_images
from app.web.page import Page, frame_gallery, shown

CUTTING = "cutting a clip to play"


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
                    gallery = frame_gallery("Evidence frames · click one to play the video from there", "ls-evidence")
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
        picked = video.change(self.pick_video, [video, chats], [chatbot, gallery, frame_times, sketches, player], api_name="pick")
        picked.then(self.first_player, [video], [player], api_visibility="private")  # a clip may take seconds to cut
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
        return player_at(self.page.longshot, self.page.home, self.page.record(current), start, still_at)

    def pick_video(self, current, chat_by_video):
        """The picked video's chat, and its player at once: a still where a clip has yet to be cut."""
        record = self.page.record(current)
        home = self.page.home
        if record is not None and record.frames and not plays_whole(home, record):
            player = player_html(home, record, 0.0, frame_at(self.page.longshot, record.id, record.duration / 3), CUTTING)
        else:
            player = self.show_player(current, 0.0, record.duration / 3 if record else None)
        return chat_by_video.get(current, []), [], [], gr.update(value=[], visible=False), player

    def first_player(self, current):
        """The player from the start of the picked video, once its clip is cut (only the player changes)."""
        record = self.page.record(current)
        if record is None or plays_whole(self.page.home, record):
            return gr.skip()
        return self.show_player(current, 0.0, record.duration / 3)

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
