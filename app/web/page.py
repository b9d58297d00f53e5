"""What every tab of the web app shares: the library, its ingest jobs, the limits, the header's video
picker, and one rule for errors (ours reach the page as a message, never as a stack trace)."""

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from app.auth import Credentials, may_delete
from app.web.jobs import IngestJobs
from memory.store import VideoRecord
from perception.config import WebConfig
from perception.errors import LongshotError


@dataclass(frozen=True)
class Page:
    """One app's shared parts. `video` is the header's picker; `tabs` lets a tab switch to another."""

    longshot: Any
    jobs: IngestJobs
    web: WebConfig
    blocks: gr.Blocks
    video: gr.Dropdown
    tabs: gr.Tabs
    credentials: Credentials = field(default_factory=Credentials)

    def check_may_delete(self, request: gr.Request | None) -> None:
        """Forget and delete need a signed-in user where the app has credentials (a program's token may not)."""
        if not may_delete(request.username if request is not None else None, self.credentials):
            raise gr.Error("Sign in as a user to forget videos or delete facts.", title="Not allowed", print_exception=False)

    @property
    def home(self) -> Path:
        return Path(self.longshot.config.home)

    def record(self, video: str | None) -> VideoRecord | None:
        """The picked video's record, or None when nothing (or nothing known) is picked."""
        try:
            return self.longshot.video(video) if video else None
        except LongshotError:
            return None


def table(headers: list[str], label: str, elem_id: str, widths: list[str | int], max_height: int = 500) -> gr.Dataframe:
    """A read-only table with wrapped cells, its columns `widths` wide."""
    return gr.Dataframe(
        headers=headers,
        interactive=False,
        wrap=True,
        label=label,
        elem_id=elem_id,
        max_height=max_height,
        column_widths=widths,
    )


def frame_gallery(label: str, elem_id: str, columns: int = 3) -> gr.Gallery:
    """A gallery of captioned frames a click selects (no preview: a click plays the frame's moment)."""
    return gr.Gallery(
        label=label,
        columns=columns,
        height="auto",
        object_fit="contain",
        allow_preview=False,
        fit_columns=False,
        elem_id=elem_id,
    )


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
