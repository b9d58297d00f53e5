"""The Library tab: upload a video (ingest starts at once), resume or forget the picked one, and see
the library and the running ingests, which a timer polls, so a page reload loses nothing.

The rows, labels and progress bars are plain functions of the library and its jobs.
"""

import html
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from app.web.jobs import IngestJobs, JobStatus
from app.web.page import Page, shown, table
from app.web.uploads import VIDEO_SUFFIXES, UploadRejectedError, accept_upload, discard_upload
from memory.store import VideoRecord
from perception.timefmt import format_time

LIBRARY_HEADERS = ["Video", "Length", "Status", "Size", "Id"]
POLL_SECONDS = 1.0
RECENT_JOB_SECONDS = 300.0


def video_state(record: VideoRecord, job: JobStatus | None, detail: bool = True) -> str:
    """ready, ingesting (with how far), interrupted (no ingest running for it here), or failed."""
    if job is not None and not job.finished:
        return f"ingesting {job.fraction:.0%}" if detail else "ingesting"
    if record.status == "ingesting":
        return f"interrupted at {format_time(record.committed_until)}" if detail else "interrupted"
    return record.status


def video_label(record: VideoRecord, job: JobStatus | None = None) -> str:
    """The picker's label; it changes only when the state does, not with every percent."""
    return f"{record.name} · {format_time(record.duration)} · {video_state(record, job, detail=False)}"


def video_choices(longshot: Any, jobs: IngestJobs) -> list[tuple[str, str]]:
    """(label, id) per video, newest first, for the picker."""
    return [(video_label(r, jobs.status(r.id)), r.id) for r in reversed(longshot.videos())]


def library_rows(longshot: Any, jobs: IngestJobs) -> list[list[str]]:
    return [
        [r.name, format_time(r.duration), video_state(r, jobs.status(r.id)), f"{r.size_bytes / 2**20:.1f} MB", r.id]
        for r in reversed(longshot.videos())
    ]


def job_html(status: JobStatus) -> str:
    """One progress bar with the stage and the time left."""
    state = {"failed": "ls-failed", "done": "ls-done"}.get(status.state, "ls-running")
    return (
        f'<div class="ls-job {state}"><div class="ls-job-head"><b>{html.escape(status.name)}</b>'
        f"<span>{status.fraction:.0%}</span></div>"
        f'<div class="ls-bar"><div style="width:{status.fraction * 100:.1f}%"></div></div>'
        f'<div class="ls-job-note">{html.escape(status.describe())}</div></div>'
    )


def jobs_html(statuses: Sequence[JobStatus]) -> str:
    """The ingests of this server, running ones first; nothing when there are none."""
    if not statuses:
        return ""
    ordered = sorted(statuses, key=lambda s: (s.finished, s.name))
    return '<div class="ls-jobs">' + "".join(job_html(s) for s in ordered) + "</div>"


def jobs_strip() -> tuple[gr.HTML, gr.Timer]:
    """The running ingests' progress bars (above the tabs) and the timer that refreshes them."""
    return gr.HTML("", elem_id="ls-jobs"), gr.Timer(POLL_SECONDS)


class LibraryTab:
    """The tab's layout and its handlers; `panel` and `timer` come from `jobs_strip`."""

    def __init__(self, page: Page, panel: gr.HTML, timer: gr.Timer):
        self.page = page
        self.panel = panel
        self.timer = timer

    def build(self) -> None:
        page = self.page
        with gr.Tab("Library", id="library", elem_id="ls-tab-library"):
            seen = gr.State(None)  # what the picker last showed, so the timer updates it only on change
            with gr.Row(equal_height=False):
                with gr.Column(scale=2):
                    upload = gr.File(
                        label=f"Upload a video (up to {page.web.max_upload_mb} MB); ingest starts at once",
                        file_types=sorted(VIDEO_SUFFIXES),
                        elem_id="ls-upload",
                        height=150,
                    )
                    note = gr.Markdown("", elem_id="ls-ingest-note", min_height=90, container=True, padding=True)
                with gr.Column(scale=3):
                    library = table(LIBRARY_HEADERS, "Library", "ls-library", ["34%", "10%", "20%", "12%", "24%"], 360)
                    with gr.Row():
                        resume = gr.Button("Resume the picked video's ingest", size="sm")
                        forget = gr.Button("Forget the picked video", size="sm", variant="stop")

        video, panel = page.video, self.panel
        self.timer.tick(
            self.tick,
            [video, seen],
            [panel, video, library, seen],
            show_progress="hidden",
            concurrency_limit=None,
            api_visibility="private",
        )
        ingest: dict[str, Any] = {
            "concurrency_limit": page.web.ingest_concurrency,
            "concurrency_id": "ingest",
            "show_progress_on": [note],
        }
        upload.upload(self.ingest_upload, [upload], [note, video, library, page.tabs], api_name="ingest", **ingest)
        resume.click(self.resume_ingest, [video], [note, video, library, page.tabs], api_name="resume", **ingest)
        forget.click(self.forget_video, [video], [video, library, panel, seen], api_name="forget")
        page.blocks.load(self.refresh, [video], [video, library, panel, seen], api_name="library")

    def recent_jobs(self) -> list[JobStatus]:
        now = time.time()
        return [s for s in self.page.jobs.all() if not s.finished or now - s.updated < RECENT_JOB_SECONDS]

    def refresh(self, current=None):
        """The picker (keeping `current` when it is still there), the rows, the jobs and what the picker shows."""
        longshot, jobs = self.page.longshot, self.page.jobs
        choices = video_choices(longshot, jobs)
        ids = [c[1] for c in choices]
        value = current if current in ids else (ids[0] if ids else None)
        return (
            gr.update(choices=choices, value=value),
            library_rows(longshot, jobs),
            jobs_html(self.recent_jobs()),
            tuple(choices),
        )

    def tick(self, current, seen):
        longshot, jobs = self.page.longshot, self.page.jobs
        choices = tuple(video_choices(longshot, jobs))
        panel = jobs_html(self.recent_jobs())
        if choices == seen:
            return panel, gr.skip(), gr.skip(), seen
        picker = gr.update(choices=list(choices), value=current or (choices[0][1] if choices else None))
        return panel, picker, library_rows(longshot, jobs), choices

    @shown
    def ingest_upload(self, file, progress=gr.Progress()):  # noqa: B008 (how Gradio injects progress)
        if not file:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        source = Path(file)
        try:
            path = accept_upload(self.page.home, source, source.name, self.page.web.max_upload_mb)
        except UploadRejectedError as err:  # said where the upload was made, and kept there
            gr.Warning(str(err), title="Upload rejected")
            yield f"✗ **Not ingested.** {err}", gr.skip(), gr.skip(), gr.skip()
            return
        yield from self.follow(self.page.jobs.start(path), progress)

    @shown
    def resume_ingest(self, current, progress=gr.Progress()):  # noqa: B008
        record = self.page.record(current)
        if record is None:
            raise gr.Error("Pick a video to resume first.")
        if record.status == "ready":
            yield f"**{record.name}** is already fully ingested.", gr.skip(), gr.skip(), gr.skip()
            return
        yield from self.follow(self.page.jobs.start(record.path), progress)

    def follow(self, video_id, progress):
        """Progress until the job ends; the video is picked as soon as it is in the library, so
        questions can start on the part already watched."""
        status, picked = None, False
        for status in self.page.jobs.follow(video_id, interval=POLL_SECONDS):
            progress(status.fraction, desc=f"{status.name}: {status.describe()}")
            if not picked and status.state == "running" and status.stage != "starting":
                picked = True
                picker, rows, _, _ = self.refresh(video_id)
                yield gr.skip(), picker, rows, gr.skip()
        if status is None or status.state == "failed":
            raise gr.Error(f"Ingest failed: {status.error if status else 'the job disappeared'}")
        picker, rows, _, _ = self.refresh(video_id)
        warnings = "".join(f"\n- ⚠ {w}" for w in status.warnings)
        note = f"✓ **{status.name}**: {status.describe()}. Ask about it in the **Ask** tab.{warnings}"
        yield note, picker, rows, gr.Tabs(selected="ask")

    @shown
    def forget_video(self, current, request: gr.Request):
        self.page.check_may_delete(request)
        record = self.page.record(current)
        if record is None:
            raise gr.Error("Pick a video to forget first.")
        self.page.longshot.forget(record.id)
        discard_upload(self.page.home, record.path)
        gr.Info(f"Forgot {record.name}, its memories and the library's copy of the file.")
        return self.refresh(None)
