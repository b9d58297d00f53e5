"""`longshot serve`: the Gradio web app. A thin layer: it lays out what app.web_* compute.

Ingests run in a background registry (app.web_jobs), so a page reload loses nothing: a
timer polls their status. Uploads are checked before they reach the library
(app.web_uploads), the server serves files from the library's uploads folder only, heavy
events (ingest) and light ones (questions) have their own concurrency limits, and every
LongshotError reaches the page as a message.
"""

import functools
import inspect
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from app.web_chat import (
    all_evidence,
    chat_stream,
    evidence_frames,
    frame_at,
    image_chat_stream,
    player_html,
    sketch_images,
)
from app.web_jobs import IngestJobs
from app.web_library import DOCTOR_HEADERS, LIBRARY_HEADERS, doctor_rows, jobs_html, library_rows, video_choices
from app.web_limits import UPLOAD_WINDOW_S, upload_quota
from app.web_memory import (
    ENTITY_HEADERS,
    FACT_HEADERS,
    TIMELINE_HEADERS,
    delete_fact,
    entity_rows,
    fact_id_at,
    fact_moments,
    fact_rows,
    scale_choices,
    timeline_figure,
    timeline_rows,
)
from app.web_uploads import VIDEO_SUFFIXES, UploadRejectedError, accept_upload, discard_upload, uploads_dir
from perception.config import WebConfig
from perception.errors import LongshotError
from perception.timefmt import format_time

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
RECENT_JOB_SECONDS = 300.0

INTRO = """## Longshot
Ask questions about long videos. Upload a video in **Library**, then ask in **Ask**: the agent searches its
memories, shows each step, and answers with the frames and moments it relied on."""

CSS = """
.gradio-container {max-width: 1480px !important; margin: auto;}
#ls-header {align-items: flex-end;}
#ls-header h2 {margin-bottom: 2px;}
.ls-jobs {display: flex; flex-wrap: wrap; gap: 8px; margin: 2px 0 6px;}
.ls-job {flex: 1 1 320px; border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 12px;
         background: var(--background-fill-secondary);}
.ls-job-head {display: flex; justify-content: space-between; font-size: 14px;}
.ls-bar {height: 8px; background: var(--neutral-200); border-radius: 4px; overflow: hidden; margin: 6px 0 4px;}
.ls-bar > div {height: 100%; background: var(--color-accent); transition: width .6s ease;}
.ls-failed .ls-bar > div {background: #ef4444;}
.ls-done .ls-bar > div {background: #10b981;}
.ls-job-note {font-size: 12px; color: var(--body-text-color-subdued);}
#ls-doctor td {overflow-wrap: anywhere;}
#ls-timeline td, #ls-facts td, #ls-entities td, #ls-library td, #ls-doctor td {font-family: var(--font);}
#ls-sketches .thumbnail-item, #ls-image-sketches .thumbnail-item {aspect-ratio: 4 / 3;}
.ls-player {width: 100%; max-height: 300px; border-radius: 10px; background: #000;}
.ls-player-empty {padding: 28px 16px; text-align: center; color: var(--body-text-color-subdued);
                  border: 1px dashed var(--border-color-primary); border-radius: 10px; font-size: 14px;}
.ls-player-caption {font-size: 12px; color: var(--body-text-color-subdued); margin-top: 4px;}
"""


def page_error(err: LongshotError) -> gr.Error:
    """Our error as a message on the page, titled by its kind ("NotAVideoError" -> "Not a video")."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(err).__name__.removesuffix("Error")).lower().capitalize()
    return gr.Error(str(err), title=words or "Error", print_exception=False)


def shown(fn: Callable) -> Callable:
    """Turn our typed errors into a message on the page (gr.Error) instead of a stack trace."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except LongshotError as err:
                raise page_error(err) from err

        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LongshotError as err:
            raise page_error(err) from err

    return call


def theme() -> gr.themes.Base:
    """A calm theme with local fonts only: the app must look right with no network."""
    return gr.themes.Soft(
        primary_hue="indigo",
        secondary_hue="sky",
        neutral_hue="slate",
        font=["Inter", "DejaVu Sans", "ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["DejaVu Sans Mono", "ui-monospace", "monospace"],
    )


def build_app(longshot: Any, jobs: IngestJobs, web: WebConfig | None = None) -> gr.Blocks:
    """The Blocks app over one Longshot (shared by every session) and its ingest registry.

    `web` (limits and concurrency) defaults to the Longshot's configuration.
    """
    web = web or longshot.config.web
    home = Path(longshot.config.home)

    def recent_jobs():
        now = time.time()
        return [s for s in jobs.all() if not s.finished or now - s.updated < RECENT_JOB_SECONDS]

    def latest_video() -> str | None:
        choices = video_choices(longshot, jobs)
        return choices[0][1] if choices else None

    def record_or_none(video: str | None):
        try:
            return longshot.video(video) if video else None
        except LongshotError:
            return None

    with gr.Blocks(title="Longshot", analytics_enabled=False, delete_cache=(UPLOAD_WINDOW_S, UPLOAD_WINDOW_S)) as app:
        chats = gr.State({})  # video id -> chat messages, for this browser tab
        frame_times = gr.State([])  # time of each evidence frame shown, for click-to-play
        library_seen = gr.State(None)  # what the picker last showed, so the timer updates it only on change
        picked_fact = gr.State(None)

        with gr.Row(elem_id="ls-header"):
            gr.Markdown(INTRO, elem_id="ls-intro")
            # Custom values pass through: the library checks every id or name, and API clients can name any video.
            video = gr.Dropdown(
                label="Video",
                choices=[],
                value=None,
                scale=0,
                min_width=360,
                elem_id="ls-video",
                allow_custom_value=True,
                info="The video the questions and the memory browser are about.",
            )
        jobs_panel = gr.HTML("", elem_id="ls-jobs")
        timer = gr.Timer(POLL_SECONDS)

        with gr.Tabs(elem_id="ls-tabs") as tabs:
            with gr.Tab("Ask", id="ask", elem_id="ls-tab-ask"):
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
                        player = gr.HTML(player_html(home, None), elem_id="ls-player")
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

            with gr.Tab("Library", id="library", elem_id="ls-tab-library"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        upload = gr.File(
                            label=f"Upload a video (up to {web.max_upload_mb} MB); ingest starts at once",
                            file_types=sorted(VIDEO_SUFFIXES),
                            elem_id="ls-upload",
                            height=150,
                        )
                        ingest_note = gr.Markdown("", elem_id="ls-ingest-note", min_height=90, container=True, padding=True)
                    with gr.Column(scale=3):
                        library = gr.Dataframe(
                            headers=LIBRARY_HEADERS,
                            interactive=False,
                            wrap=True,
                            label="Library",
                            elem_id="ls-library",
                            max_height=360,
                            column_widths=["34%", "10%", "20%", "12%", "24%"],
                        )
                        with gr.Row():
                            resume = gr.Button("Resume the picked video's ingest", size="sm")
                            forget = gr.Button("Forget the picked video", size="sm", variant="stop")

            with gr.Tab("Memory", id="memory", elem_id="ls-tab-memory"):
                memory_title = gr.Markdown("")
                timeline_plot = gr.Plot(
                    label="Timeline: segments at each scale, and the moments facts come from", elem_id="ls-timeline-plot"
                )
                scale = gr.Radio(label="Segments at", choices=[], elem_id="ls-scale")
                timeline = gr.Dataframe(
                    headers=TIMELINE_HEADERS,
                    interactive=False,
                    wrap=True,
                    max_height=360,
                    label="Timeline",
                    elem_id="ls-timeline",
                    column_widths=["7%", "7%", "7%", "45%", "17%", "17%"],
                )
                facts = gr.Dataframe(
                    headers=FACT_HEADERS,
                    interactive=False,
                    wrap=True,
                    max_height=360,
                    label="Facts · click one to see where it came from",
                    elem_id="ls-facts",
                    column_widths=["5%", "15%", "9%", "33%", "10%", "9%", "6%", "13%"],
                )
                fact_text = gr.Markdown("Click a fact to see the moments it came from.", elem_id="ls-fact-text")
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
                entities = gr.Dataframe(
                    headers=ENTITY_HEADERS,
                    interactive=False,
                    wrap=True,
                    max_height=300,
                    label="Entities",
                    elem_id="ls-entities",
                    column_widths=["34%", "12%", "16%", "10%", "28%"],
                )

            with gr.Tab("Image questions", id="image", elem_id="ls-tab-image"):
                gr.Markdown(
                    "Ask about a still image. The agent may draw on it (boxes, marks, crops, text it read) "
                    "and shows each step and the sketches it drew."
                )
                with gr.Row(equal_height=False):
                    with gr.Column():
                        image = gr.Image(type="numpy", label="Image", height=360, elem_id="ls-image")
                        image_question = gr.Textbox(label="Question", elem_id="ls-image-question")
                        image_ask = gr.Button("Ask about the image", variant="primary", elem_id="ls-image-ask")
                    with gr.Column():
                        image_chat = gr.Chatbot(
                            label="Steps and answer", height=360, feedback_options=None, elem_id="ls-image-chat"
                        )
                        image_sketches = gr.Gallery(
                            label="Sketches the agent drew",
                            columns=1,
                            height="auto",
                            object_fit="contain",
                            elem_id="ls-image-sketches",
                        )

            with gr.Tab("Status", id="status", elem_id="ls-tab-status"):
                status_text = gr.Markdown("")
                doctor = gr.Dataframe(
                    headers=DOCTOR_HEADERS,
                    interactive=False,
                    wrap=True,
                    label="Models (longshot doctor)",
                    elem_id="ls-doctor",
                    column_widths=["13%", "15%", "18%", "8%", "46%"],
                )

        # -- library, ingest and the picker --------------------------------------------

        def refresh_library(current=None):
            choices = video_choices(longshot, jobs)
            ids = [c[1] for c in choices]
            value = current if current in ids else (ids[0] if ids else None)
            return gr.update(choices=choices, value=value), library_rows(longshot, jobs), jobs_html(recent_jobs()), tuple(choices)

        def tick(current, seen):
            choices = tuple(video_choices(longshot, jobs))
            panel = jobs_html(recent_jobs())
            if choices == seen:
                return panel, gr.skip(), gr.skip(), seen
            picker = gr.update(choices=list(choices), value=current or (choices[0][1] if choices else None))
            return panel, picker, library_rows(longshot, jobs), choices

        @shown
        def ingest_upload(file, progress=gr.Progress()):  # noqa: B008 (how Gradio injects progress)
            if not file:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
                return
            source = Path(file)
            try:
                path = accept_upload(home, source, source.name, web.max_upload_mb)
            except UploadRejectedError as err:  # said where the upload was made, and kept there
                gr.Warning(str(err), title="Upload rejected")
                yield f"✗ **Not ingested.** {err}", gr.skip(), gr.skip(), gr.skip()
                return
            yield from follow_ingest(jobs.start(path), progress)

        @shown
        def resume_ingest(current, progress=gr.Progress()):  # noqa: B008
            record = record_or_none(current)
            if record is None:
                raise gr.Error("Pick a video to resume first.")
            if record.status == "ready":
                yield f"**{record.name}** is already fully ingested.", gr.skip(), gr.skip(), gr.skip()
                return
            yield from follow_ingest(jobs.start(record.path), progress)

        def follow_ingest(video_id, progress):
            """Progress until the job ends; the video is picked as soon as it is in the library, so
            questions can start on the part already watched."""
            status, picked = None, False
            for status in jobs.follow(video_id, interval=POLL_SECONDS):
                progress(status.fraction, desc=f"{status.name}: {status.describe()}")
                if not picked and status.state == "running" and status.stage != "starting":
                    picked = True
                    picker, rows, _, _ = refresh_library(video_id)
                    yield gr.skip(), picker, rows, gr.skip()
            if status is None or status.state == "failed":
                raise gr.Error(f"Ingest failed: {status.error if status else 'the job disappeared'}")
            picker, rows, _, _ = refresh_library(video_id)
            warnings = "".join(f"\n- ⚠ {w}" for w in status.warnings)
            note = f"✓ **{status.name}**: {status.describe()}. Ask about it in the **Ask** tab.{warnings}"
            yield note, picker, rows, gr.Tabs(selected="ask")

        @shown
        def forget_video(current):
            record = record_or_none(current)
            if record is None:
                raise gr.Error("Pick a video to forget first.")
            longshot.forget(record.id)
            discard_upload(home, record.path)
            gr.Info(f"Forgot {record.name}, its memories and the library's copy of the file.")
            picker, rows, panel, seen = refresh_library(None)
            return picker, rows, panel, seen

        timer.tick(
            tick,
            [video, library_seen],
            [jobs_panel, video, library, library_seen],
            show_progress="hidden",
            concurrency_limit=None,
            api_visibility="private",
        )
        upload.upload(
            ingest_upload,
            [upload],
            [ingest_note, video, library, tabs],
            api_name="ingest",
            concurrency_limit=web.ingest_concurrency,
            concurrency_id="ingest",
            show_progress_on=[ingest_note],
        )
        resume.click(
            resume_ingest,
            [video],
            [ingest_note, video, library, tabs],
            api_name="resume",
            concurrency_limit=web.ingest_concurrency,
            concurrency_id="ingest",
            show_progress_on=[ingest_note],
        )
        forget.click(forget_video, [video], [video, library, jobs_panel, library_seen], api_name="forget")
        app.load(refresh_library, [video], [video, library, jobs_panel, library_seen], api_name="library")

        # -- asking ----------------------------------------------------------------------

        def show_player(current, start: float, still_at: float | None = None) -> str:
            """The player at `start`, with the frame at `still_at` (default `start`) as its picture."""
            record = record_or_none(current)
            still = frame_at(longshot, record.id, start if still_at is None else still_at) if record and record.frames else None
            return player_html(home, record, start, still)

        def pick_video(current, chat_by_video):
            record = record_or_none(current)
            player = show_player(current, 0.0, record.duration / 3 if record else None)
            return chat_by_video.get(current, []), [], [], gr.update(value=[], visible=False), player

        @shown
        def ask_video(current, text, chat_by_video):
            history = chat_by_video.get(current, [])
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

        def play_from(current, times, evt: gr.SelectData):
            index = evt.index if isinstance(evt.index, int) else evt.index[0]
            return show_player(current, times[index] if 0 <= index < len(times) else 0.0)

        video.change(pick_video, [video, chats], [chatbot, gallery, frame_times, sketches, player], api_name="pick")
        ask_outputs = [chatbot, question, gallery, frame_times, sketches, chats]
        ask_options = {"concurrency_limit": web.ask_concurrency, "concurrency_id": "ask", "show_progress": "minimal"}
        ask.click(ask_video, [video, question, chats], ask_outputs, api_name="ask", **ask_options)
        question.submit(ask_video, [video, question, chats], ask_outputs, api_visibility="private", **ask_options)
        gallery.select(play_from, [video, frame_times], [player], api_name="play")

        # -- memory browser ----------------------------------------------------------------

        @shown
        def load_memory(current):
            record = record_or_none(current)
            if record is None:
                empty = gr.update(choices=[], value=None)
                return "Pick a video to browse its memory.", None, empty, [], [], [], *no_fact()
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
                *no_fact(),
            )

        def no_fact():
            return (
                "Click a fact to see the moments it came from.",
                gr.update(value=[], visible=False),
                gr.update(interactive=False, value="Delete this fact"),
                None,
            )

        @shown
        def show_fact(current, rows, evt: gr.SelectData):
            fact_id = fact_id_at(rows.values.tolist() if hasattr(rows, "values") else rows, evt.index[0])
            if fact_id is None:
                return no_fact()
            text, views = fact_moments(longshot, current, fact_id)
            frames = gr.update(value=[(v.image, v.caption) for v in views], visible=True)
            return text, frames, gr.update(interactive=True, value=f"Delete fact #{fact_id}"), fact_id

        @shown
        def remove_fact(current, fact_id):
            if fact_id is None:
                raise gr.Error("Click a fact first.")
            gr.Info(delete_fact(longshot, int(fact_id)))
            return load_memory(current)

        memory_outputs = [memory_title, timeline_plot, scale, timeline, entities, facts, fact_text, moments, delete, picked_fact]
        video.change(load_memory, [video], memory_outputs, api_name="memory")
        scale.change(
            shown(lambda current, chosen: timeline_rows(longshot, current, chosen) if current else []),
            [video, scale],
            [timeline],
            api_visibility="private",
        )
        facts.select(show_fact, [video, facts], [fact_text, moments, delete, picked_fact], api_name="fact")
        delete.click(remove_fact, [video, picked_fact], memory_outputs, api_name="delete_fact")

        # -- image questions and status ------------------------------------------------------

        @shown
        def ask_about_image(picture, text):
            for messages, answer in image_chat_stream(longshot, picture, text):
                drawn = sketch_images(all_evidence(answer), timed=False) if answer is not None else gr.skip()
                yield messages, drawn

        image_ask.click(
            ask_about_image,
            [image, image_question],
            [image_chat, image_sketches],
            api_name="ask_image",
            concurrency_limit=web.ask_concurrency,
            concurrency_id="ask",
            show_progress="minimal",
        )

        @shown
        def load_status():
            text = (
                f"**Library home:** `{home}` · **videos:** {len(longshot.videos())} · "
                f"**uploads up to** {web.max_upload_mb} MB · **ingests at once:** {web.ingest_concurrency} · "
                f"**questions at once:** {web.ask_concurrency}"
            )
            return text, doctor_rows(longshot)

        app.load(load_status, None, [status_text, doctor], api_name="status")
    return app


def launch_options(longshot: Any, web: WebConfig | None = None) -> dict[str, Any]:
    """launch() arguments that make the app safe: files from the uploads folder only, uploads bounded in
    size and in number per hour (web_limits)."""
    uploads = uploads_dir(longshot.config.home)
    uploads.mkdir(parents=True, exist_ok=True)
    return {
        "allowed_paths": [str(uploads)],
        "max_file_size": f"{(web or longshot.config.web).max_upload_mb}mb",
        "app_kwargs": {"middleware": [upload_quota((web or longshot.config.web).max_upload_mb)]},
        "show_error": True,
        "state_session_capacity": 50,  # old sessions' state is dropped, so a flood of clients cannot grow memory
        "footer_links": ["api"],
        "theme": theme(),
        "css": CSS,
    }


def serve(longshot: Any, web: WebConfig | None = None, open_browser: bool = False, block: bool = True) -> tuple[gr.Blocks, str]:
    """Start the web app on `web.host` (127.0.0.1 unless configured otherwise); its Blocks and URL.

    With `block=False` it returns at once and the server runs in the background (`app.close()` stops it).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    web = web or longshot.config.web
    app = build_app(longshot, IngestJobs(longshot, web.ingest_concurrency), web)
    app.queue(max_size=64, default_concurrency_limit=web.ask_concurrency)
    _, url, _ = app.launch(
        server_name=web.host,
        server_port=web.port,
        inbrowser=open_browser,
        prevent_thread_lock=not block,
        quiet=not block,
        **launch_options(longshot, web),
    )
    return app, url
