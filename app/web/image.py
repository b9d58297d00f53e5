"""The Image questions tab: ask about a still image; the agent may draw on it, and shows each step
and the sketches it drew."""

import gradio as gr

from app.web.chat import image_chat_stream
from app.web.evidence import all_evidence, sketch_images
from app.web.page import Page, shown


def image_tab(page: Page) -> None:
    """The tab's layout and its one handler."""
    with gr.Tab("Image questions", id="image", elem_id="ls-tab-image"):
        gr.Markdown(
            "Ask about a still image. The agent may draw on it (boxes, marks, crops, text it read) "
            "and shows each step and the sketches it drew."
        )
        with gr.Row(equal_height=False):
            with gr.Column():
                image = gr.Image(type="numpy", label="Image", height=360, elem_id="ls-image")
                question = gr.Textbox(label="Question", elem_id="ls-image-question")
                ask = gr.Button("Ask about the image", variant="primary", elem_id="ls-image-ask")
            with gr.Column():
                chat = gr.Chatbot(label="Steps and answer", height=360, feedback_options=None, elem_id="ls-image-chat")
                sketches = gr.Gallery(
                    label="Sketches the agent drew", columns=1, height="auto", object_fit="contain", elem_id="ls-image-sketches"
                )

    @shown
    def ask_about_image(picture, text):
        for messages, answer in image_chat_stream(page.longshot, picture, text):
            drawn = sketch_images(all_evidence(answer), timed=False) if answer is not None else gr.skip()
            yield messages, drawn

    ask.click(
        ask_about_image,
        [image, question],
        [chat, sketches],
        api_name="ask_image",
        concurrency_limit=page.web.ask_concurrency,
        concurrency_id="ask",
        show_progress="minimal",
    )
