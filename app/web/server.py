"""`longshot serve`: the Gradio app assembled from its tabs, and launched safely.

Each tab is a module of its own with its handlers (ask, library, memory_browser, image,
status); they share a `Page`. Ingests run in a background registry (jobs), uploads are checked
before they reach the library (uploads) and bounded per hour (limits), the server serves files
from the library's uploads folder only, and heavy events (ingest) and light ones (questions)
have their own concurrency limits.
"""

import os
from typing import Any

import gradio as gr

from app.web.ask import AskTab
from app.web.image import image_tab
from app.web.jobs import IngestJobs
from app.web.library import LibraryTab, jobs_strip
from app.web.limits import UPLOAD_WINDOW_S, upload_quota
from app.web.memory_browser import MemoryTab
from app.web.page import Page
from app.web.status import status_tab
from app.web.style import CSS, INTRO, theme
from app.web.uploads import uploads_dir
from perception.config import WebConfig


def video_picker() -> gr.Dropdown:
    """The header: what the app is, and the video the questions and the memory browser are about."""
    with gr.Row(elem_id="ls-header"):
        gr.Markdown(INTRO, elem_id="ls-intro")
        # Custom values pass through: the library checks every id or name, and API clients can name any video.
        return gr.Dropdown(
            label="Video",
            choices=[],
            value=None,
            scale=0,
            min_width=360,
            elem_id="ls-video",
            allow_custom_value=True,
            info="The video the questions and the memory browser are about.",
        )


def build_app(longshot: Any, jobs: IngestJobs, web: WebConfig | None = None) -> gr.Blocks:
    """The Blocks app over one Longshot (shared by every session) and its ingest registry.

    `web` (limits and concurrency) defaults to the Longshot's configuration.
    """
    web = web or longshot.config.web
    with gr.Blocks(title="Longshot", analytics_enabled=False, delete_cache=(UPLOAD_WINDOW_S, UPLOAD_WINDOW_S)) as app:
        video = video_picker()
        panel, timer = jobs_strip()
        with gr.Tabs(elem_id="ls-tabs") as tabs:
            page = Page(longshot, jobs, web, app, video, tabs)
            AskTab(page).build()
            LibraryTab(page, panel, timer).build()
            MemoryTab(page).build()
            image_tab(page)
            status_tab(page)
    return app


def launch_options(longshot: Any, web: WebConfig | None = None) -> dict[str, Any]:
    """launch() arguments that make the app safe: files from the uploads folder only, uploads bounded in
    size and in number per hour (limits)."""
    web = web or longshot.config.web
    uploads = uploads_dir(longshot.config.home)
    uploads.mkdir(parents=True, exist_ok=True)
    return {
        "allowed_paths": [str(uploads)],
        "max_file_size": f"{web.max_upload_mb}mb",
        "app_kwargs": {"middleware": [upload_quota(web.max_upload_mb)]},
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
