"""`longshot serve`: the Gradio app assembled from its tabs, and launched safely.

Each tab is a module of its own with its handlers (ask, search, library, memory_browser, image,
status); they share a `Page`. Ingests run in a background registry (jobs), uploads are checked
before they reach the library (uploads) and bounded per hour (limits), the server serves files
from the library's uploads and clips folders only, and heavy events (ingest) and light ones (questions)
have their own concurrency limits.
"""

import os
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from app.auth import AuthGate, Credentials, gate_options, identity_of, require_credentials
from app.clips import Clips
from app.web.ask import AskTab
from app.web.image import image_tab
from app.web.jobs import IngestJobs
from app.web.library import LibraryTab, jobs_strip
from app.web.limits import UPLOAD_WINDOW_S, upload_quota
from app.web.memory_browser import MemoryTab
from app.web.page import Page
from app.web.search import SearchTab
from app.web.status import status_tab
from app.web.style import CSS, INTRO, theme
from app.web.uploads import uploads_dir
from perception.config import AuthConfig, WebConfig


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


def build_app(longshot: Any, jobs: IngestJobs, web: WebConfig | None = None, auth: AuthConfig | None = None) -> gr.Blocks:
    """The Blocks app over one Longshot (shared by every session) and its ingest registry.

    `web` (limits and concurrency) and `auth` (who may forget and delete) default to the Longshot's configuration.
    """
    web = web or longshot.config.web
    credentials = Credentials.from_config(auth or longshot.config.auth)
    with gr.Blocks(title="Longshot", analytics_enabled=False, delete_cache=(UPLOAD_WINDOW_S, UPLOAD_WINDOW_S)) as app:
        video = video_picker()
        panel, timer = jobs_strip()
        with gr.Tabs(elem_id="ls-tabs") as tabs:
            page = Page(longshot, jobs, web, app, video, tabs, credentials)
            AskTab(page).build()
            SearchTab(page).build()
            LibraryTab(page, panel, timer).build()
            MemoryTab(page).build()
            image_tab(page)
            status_tab(page)
    return app


def launch_options(longshot: Any, web: WebConfig | None = None, auth: AuthConfig | None = None) -> dict[str, Any]:
    """launch() arguments that make the app safe: files from the uploads and clips folders only, uploads bounded in
    size and in number per hour (limits), and with credentials configured every route behind the
    AuthGate (sign-in form, sessions, bearer tokens), Gradio reading its identity."""
    web = web or longshot.config.web
    auth = auth or longshot.config.auth
    uploads = uploads_dir(longshot.config.home)
    clips = Clips(longshot.config.home).folder
    for folder in (uploads, clips):
        folder.mkdir(parents=True, exist_ok=True)
    middleware = [upload_quota(web.max_upload_mb)]
    gated: dict[str, Any] = {}
    if Credentials.from_config(auth).configured:
        gate = gate_options(auth, once=["/gradio_api/startup-events"])  # launch's own call, before anyone signs in
        middleware.insert(0, Middleware(AuthGate, **gate))  # first: nothing reaches a route unchecked
        gated = {"auth_dependency": identity_of, "ssr_mode": False}
    return {
        **gated,
        "allowed_paths": [str(uploads), str(clips)],
        "max_file_size": f"{web.max_upload_mb}mb",
        "app_kwargs": {"middleware": middleware},
        "show_error": True,
        "state_session_capacity": 50,  # old sessions' state is dropped, so a flood of clients cannot grow memory
        "footer_links": ["api"],
        "theme": theme(),
        "css": CSS,
    }


def serve(
    longshot: Any, web: WebConfig | None = None, open_browser: bool = False, block: bool = True, auth: AuthConfig | None = None
) -> tuple[gr.Blocks, str]:
    """Start the web app on `web.host` (127.0.0.1 unless configured otherwise); its Blocks and URL.

    Anywhere but loopback it needs credentials (`auth`, default the configuration's), or refuses
    to start with AuthRequiredError. With `block=False` it returns at once and the server runs in
    the background (`app.close()` stops it).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    web = web or longshot.config.web
    auth = auth or longshot.config.auth
    require_credentials(web.host, Credentials.from_config(auth), "longshot serve")
    app = build_app(longshot, IngestJobs(longshot, web.ingest_concurrency), web, auth)
    app.queue(max_size=64, default_concurrency_limit=web.ask_concurrency)
    _, url, _ = app.launch(
        server_name=web.host,
        server_port=web.port,
        inbrowser=open_browser,
        prevent_thread_lock=not block,
        quiet=not block,
        **launch_options(longshot, web, auth),
    )
    return app, url
