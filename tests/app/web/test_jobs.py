"""Ingest jobs that outlive the page: progress, a refusal at once, and a status that reads like a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.web.jobs import JobStatus
from app.web.library import jobs_html
from perception.errors import NotAVideoError

slow = pytest.mark.slow


@slow
def test_job_reports_progress_and_ends_done(library, jobs, parcel_id):
    status = jobs.status(parcel_id)
    assert status.state == "done" and status.fraction == 1.0 and status.total == pytest.approx(12.0, abs=0.5)
    assert library.video(parcel_id).status == "ready"
    assert "parcel.mp4" in jobs_html([status]) and "100%" in jobs_html([status])
    again = jobs.start(Path(library.video(parcel_id).path))
    assert again == parcel_id
    assert jobs.wait(again, timeout=60).already_done


@slow
def test_job_refuses_a_non_video_at_once(jobs, not_a_video):
    with pytest.raises(NotAVideoError):
        jobs.start(not_a_video)


def test_job_status_reads_like_a_sentence():
    running = JobStatus("v", "a.mp4", "running", "ocr", done=30.0, total=90.0, elapsed=10.0, eta=20.0)
    assert running.describe() == "reading on-screen text: 0:30 of 1:30 watched, about 0:20 left"
    assert running.fraction == pytest.approx(1 / 3)
    assert JobStatus("v", "a.mp4", "failed", "ocr", 0, 10, error="disk full").describe() == "failed: disk full"
    assert JobStatus("v", "a.mp4", "queued", "queued", 0, 10).describe().startswith("waiting")
