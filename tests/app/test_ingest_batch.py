"""Many videos into one library: what a command line's names stand for (files, folders searched by
probing, patterns), one failure reported while the rest go on, shards committed as they finish,
and the command's summary and exit status."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.ingest_batch import _Batch, _Job, _Tally, ingest_batch
from app.ingest_stage import StageResult
from app.media_paths import find_videos
from memory.audit import problems, snapshot
from memory.store import Library
from perception.config import Config
from perception.video import probe
from tests.memory.test_build import OFFLINE as BUILD_OFFLINE
from tests.synth import make_video

OFFLINE = {**BUILD_OFFLINE, "ingest__batch_frames": 10}  # a commit every 10 s of video, so progress shows in a short clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """clips/: two videos (one with no video extension, one a folder down), a text file named like a
    video, a Python module, and a hidden video."""
    folder = tmp_path_factory.mktemp("clips")
    make_video(folder / "one.mp4", seconds=12, fps=4, texts=[(2.0, 6.0, "PLATFORM NINE")])
    (folder / "deep").mkdir()
    make_video(folder / "deep" / "two.mp4", seconds=14, fps=4, texts=[(8.0, 12.0, "GATE TWELVE")])
    (folder / "deep" / "two.mp4").rename(folder / "deep" / "two.data")
    (folder / "notes.mp4").write_text("not a video, whatever its name says\n")
    shutil.copy(Path(__file__).resolve().parents[2] / "app" / "web" / "__init__.py", folder / "deep" / "module.py")
    make_video(folder / ".hidden.mp4", seconds=2, fps=4)
    return folder


def config(home: Path) -> Config:
    return Config().replace(home=home, **OFFLINE)


def test_folders_are_searched_by_probing_and_named_files_must_be_videos(clips: Path):
    found = find_videos([clips, clips / "deep" / "*.data", clips / "notes.mp4", clips / "missing.mp4", clips / "*.nothing"])
    assert [path.name for path, _ in found.videos] == ["one.mp4", "two.data"]  # each once, hidden files left out
    assert [round(info.duration) for _, info in found.videos] == [12, 14]
    assert found.not_videos == 2  # the text file and the module found in the folder
    reasons = {path.name: reason for path, reason in found.failures}
    assert set(reasons) == {"notes.mp4", "missing.mp4", "*.nothing"}
    assert "not a media file" in reasons["notes.mp4"] and "no such file" in reasons["missing.mp4"]
    assert "matches no file" in reasons["*.nothing"]


def test_one_video_failing_mid_batch_is_reported_and_the_others_go_on(clips: Path, tmp_path: Path):
    gone = make_video(tmp_path / "gone.mp4", seconds=3, fps=4)
    videos = find_videos([clips / "one.mp4", gone, clips / "deep"]).videos
    gone.unlink()  # between looking and ingesting
    events = []

    outcomes = ingest_batch(config(tmp_path / "home"), videos, progress=events.append)

    statuses = [(o.path.name, o.status) for o in outcomes]
    assert statuses == [("one.mp4", "ingested"), ("gone.mp4", "failed"), ("two.data", "ingested")]
    assert "gone.mp4" in outcomes[1].error
    assert events[-1].done == events[-1].total == 3 and events[-1].seconds_done == pytest.approx(events[-1].seconds_total)
    assert any(name == "two.data" and 0 < p.done < p.total for e in events for name, p in e.running)  # per-video progress
    again = ingest_batch(config(tmp_path / "home"), [videos[0], videos[2]])
    assert [o.status for o in again] == ["already", "already"]


def test_shards_written_here_commit_as_the_same_memory(clips: Path, tmp_path: Path):
    videos = find_videos([clips]).videos
    direct = ingest_batch(config(tmp_path / "direct"), videos)
    sharded = ingest_batch(config(tmp_path / "sharded"), videos, shards=tmp_path / "shards")
    assert [o.status for o in sharded] == ["ingested", "ingested"] and not any((tmp_path / "shards").iterdir())
    for outcome in direct:
        assert snapshot(tmp_path / "sharded", outcome.video) == snapshot(tmp_path / "direct", outcome.video)
    assert problems(tmp_path / "sharded") == []


def test_cli_summary_and_exit_status(clips: Path, tmp_path: Path):
    from evals.cli import cli

    models_off = {f"LONGSHOT_{k.upper()}": "none" for k in OFFLINE if k.startswith("models__")}
    env = {"LONGSHOT_HOME": str(tmp_path / "home"), **models_off}
    first = CliRunner().invoke(cli, ["ingest", str(clips), str(tmp_path / "missing.mp4")], env=env)
    assert first.exit_code == 1, first.output
    assert "3 video(s): 2 ingested, 1 failed; 2 file(s) were not videos" in first.stdout
    assert "error: " in first.stderr and "missing.mp4: no such file" in first.stderr
    assert "one.mp4: started" in first.stderr and "ocr" in first.stderr  # plain lines off a terminal, stages named
    second = CliRunner().invoke(cli, ["ingest", str(clips / "*.mp4"), str(clips / "deep")], env=env)
    assert second.exit_code == 0, second.output
    assert second.stdout.count("  already in the library\n") == 2 and "2 video(s): 2 already in the library" in second.stdout
    nothing = CliRunner().invoke(cli, ["ingest", str(clips / "deep" / "*.py")], env=env)
    assert nothing.exit_code == 1 and "0 video(s): nothing to ingest; 1 file(s) were not videos" in nothing.stdout


def test_a_retried_video_found_whole_was_ingested_by_this_batch(clips: Path, tmp_path: Path):
    """A worker can die after a video's last commit and before it answers (the scale-out test's kill
    lands there now and then); the retry then finds the video whole. Only a video already in the
    library before the batch is "already"; this one the batch ingested, on its second attempt."""
    path = clips / "one.mp4"
    batch = _Batch(Library(tmp_path / "home"), _Tally(1, 12.0, None), None, max_attempts=2)
    found_whole = StageResult(str(path), "v1", "already", 0.1)
    retried = batch._outcome(_Job(path, probe(path), "v1", attempts=2), found_whole)
    assert (retried.status, retried.attempts) == ("ingested", 2)
    assert batch._outcome(_Job(path, probe(path), "v1", attempts=1), found_whole).status == "already"
