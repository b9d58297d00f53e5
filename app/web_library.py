"""The library, the running ingests and the models, as plain data for the web app."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from app.web_jobs import IngestJobs, JobStatus
from memory.store import VideoRecord
from perception.timefmt import format_time

LIBRARY_HEADERS = ["Video", "Length", "Status", "Size", "Id"]
DOCTOR_HEADERS = ["Role", "Backend", "Model", "Available", "Source or reason"]


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


def doctor_rows(longshot: Any) -> list[list[str]]:
    return [
        [r.role, r.backend, r.model, "yes" if r.available else "no", r.source if r.available else r.reason]
        for r in longshot.models.doctor()
    ]
