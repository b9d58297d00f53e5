"""Fixtures of the web app's tests: a small video new to the session library (uploaded and ingested
the way the app does it, once for the whole package), a text file wearing a video's name, and a
record of a half-ingested video."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.web.jobs import IngestJobs
from app.web.uploads import accept_upload
from memory.store import VideoRecord
from tests.memory.catalogue import video_record
from tests.synth import make_video

PARCEL = "PARCEL 5531 READY"


@pytest.fixture(scope="package")
def small_video(tmp_path_factory) -> Path:
    """A 12 s video with one notice: small enough to ingest in a test, new to the session library."""
    folder = tmp_path_factory.mktemp("web-media")
    return make_video(folder / "parcel.mp4", seconds=12, fps=2, size=(320, 240), texts=[(3.0, 8.0, PARCEL)])


@pytest.fixture(scope="package")
def not_a_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "holiday.mp4"
    path.write_text("this is a text file wearing a video's name\n" * 50)
    return path


@pytest.fixture(scope="package")
def jobs(library) -> IngestJobs:
    return IngestJobs(library, workers=1)


@pytest.fixture(scope="package")
def parcel_id(library, jobs, small_video) -> str:
    """The small video, uploaded and ingested the way the web app does it."""
    path = accept_upload(library.config.home, small_video, small_video.name, max_mb=10)
    video = jobs.start(path)
    status = jobs.wait(video, timeout=600)
    assert status is not None and status.state == "done", status
    return video


@pytest.fixture
def half_ingested(home: Path) -> VideoRecord:
    """A 12 s video of which the first 6 s are committed, whose file is not in the uploads folder."""
    return video_record(
        name="parcel.mp4", path=str(home / "x.mp4"), duration=12.0, fps=2.0, has_audio=False, committed_until=6.0, frames=6
    )
