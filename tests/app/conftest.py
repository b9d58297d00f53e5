"""A small library shared by the app tests: one synthetic video with two notices, ingested once."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import Longshot
from tests.synth import make_video

NOTICES = [(21.0, 27.0, "VAULT CODE 4172"), (42.0, 48.0, "GATE B7 CLOSED")]


@pytest.fixture(scope="session")
def notices_video(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    return make_video(folder / "notices.mp4", seconds=60, fps=5, size=(480, 272), texts=NOTICES)


@pytest.fixture(scope="session")
def library(tmp_path_factory, notices_video) -> Longshot:
    """A library with the notices video ingested offline (no speech in it, so speech is off)."""
    home = tmp_path_factory.mktemp("home")
    longshot = Longshot(home=home, models__speech="none", ingest__scales=(30.0,))
    longshot.ingest(notices_video)
    return longshot


@pytest.fixture(scope="session")
def video_id(library, notices_video) -> str:
    return library.video(notices_video.name).id
