"""Per-video shards: a video ingested into a shard of its own, sealed, and committed into a library
that holds other videos, gives the memory an ingest into the library itself gives; a commit that
fails leaves the library as it was and the shard in place; a library's finished video is kept, a
partial one replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory import shards
from memory.audit import problems, snapshot, temp_files, video_state
from memory.build import Ingestor
from memory.frames import FrameCache
from memory.shards import commit_shard, seal, shard_home
from memory.store import Library
from perception.config import Config
from perception.errors import StorageError
from perception.models import Models
from tests.memory.test_build import OFFLINE
from tests.synth import make_video


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Models:
    return Models(Config().replace(home=tmp_path_factory.mktemp("unused"), **OFFLINE))


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("media")
    first = make_video(folder / "first.mp4", seconds=25, fps=4, texts=[(5.0, 9.0, "PLATFORM NINE")])
    second = make_video(folder / "second.mp4", seconds=35, fps=4, texts=[(21.0, 26.0, "GATE TWELVE")])
    return first, second


def ingest(home: Path, models: Models, video: Path) -> str:
    library = Library(home)
    result = Ingestor(library, models, Config().replace(home=home, **OFFLINE), FrameCache(16 << 20)).ingest(video)
    library.close()
    return result.video.id


@pytest.fixture(scope="module")
def reference(models, videos, tmp_path_factory) -> tuple[Path, str]:
    """The second video ingested straight into a library of its own."""
    home = tmp_path_factory.mktemp("reference") / "home"
    return home, ingest(home, models, videos[1])


def finished_shard(root: Path, models: Models, video: Path, video_id: str) -> Path:
    home = shard_home(root, video_id)
    assert ingest(home, models, video) == video_id
    seal(home)
    return home


def test_a_sealed_shard_commits_into_a_busy_library_as_the_same_memory(tmp_path, models, videos, reference):
    reference_home, video = reference
    library_home = tmp_path / "library"
    other = ingest(library_home, models, videos[0])
    other_before = snapshot(library_home, other)
    shard = finished_shard(tmp_path / "shards", models, videos[1], video)
    assert sorted(p.name for p in shard.iterdir() if p.is_file()) == ["catalogue.sqlite"]  # sealed: no log beside it

    library = Library(library_home)
    done = commit_shard(library, shard, video)

    assert not done.already and done.files > 0 and done.rows["segments"] > 0 and done.rows["visual_frames"] == 35
    assert not shard.exists()
    assert snapshot(library_home, video) == snapshot(reference_home, video)
    assert snapshot(library_home, other) == other_before
    assert problems(library_home) == [] and temp_files(library_home) == []
    assert [v.status for v in library.videos()] == ["ready", "ready"]


def test_a_failed_commit_leaves_the_library_as_it_was_and_the_shard_to_retry(tmp_path, models, videos, reference, monkeypatch):
    reference_home, video = reference
    library = Library(tmp_path / "library")
    shard = finished_shard(tmp_path / "shards", models, videos[1], video)

    def broken(*_):
        raise StorageError("the disk went away")

    with monkeypatch.context() as patch:
        patch.setattr(shards, "copy_video", broken)
        with pytest.raises(StorageError, match="went away"):
            commit_shard(library, shard, video)
    assert library.videos() == [] and not library.video_dir(video).exists()
    assert video_state(shard, video) == ("ready", 35.0)

    commit_shard(library, shard, video)
    assert snapshot(library.home, video) == snapshot(reference_home, video)


def test_a_finished_video_is_kept_and_a_partial_one_replaced(tmp_path, models, videos, reference):
    reference_home, video = reference
    library_home = tmp_path / "library"
    ingest(library_home, models, videos[1])
    library = Library(library_home)
    again = commit_shard(library, finished_shard(tmp_path / "shards", models, videos[1], video), video)
    assert again.already and again.rows == {}

    with library.transaction() as conn:  # as an ingest into the library that failed half way leaves it
        library.update_video(conn, video, status="failed", error="killed", committed_until=10.0)
    replaced = commit_shard(library, finished_shard(tmp_path / "shards", models, videos[1], video), video)
    assert not replaced.already
    assert snapshot(library_home, video) == snapshot(reference_home, video)
    assert problems(library_home) == []


def test_a_shard_still_being_ingested_is_refused(tmp_path, videos, reference):
    _, video = reference
    home = shard_home(tmp_path / "shards", video)
    Library(home).close()  # a shard whose first batch has not committed yet
    with pytest.raises(StorageError, match="does not hold a finished ingest"):
        commit_shard(Library(tmp_path / "library"), home, video)
    assert home.exists()
