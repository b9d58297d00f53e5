"""The API takes what it gives: an IngestResult, a VideoRecord, an id, a file name or the file's path
names a video in ask, frames, video and forget; anything else is a VideoReferenceError, never a raw
sqlite3 error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import Longshot
from perception.errors import VideoNotFoundError, VideoReferenceError
from tests.synth import make_video

BAD = [None, 42, 4.5, b"0123456789abcdef", ["notices.mp4"], {"id": "x"}, object()]


def test_every_name_the_api_hands_out_names_the_same_video(library, notices_video, video_id):
    result = library.ingest(notices_video)  # already done: the call returns at once
    record = library.video(video_id)
    names = [result, record, video_id, video_id[:8], notices_video.name, notices_video, str(notices_video)]
    assert {library.video(name).id for name in names} == {video_id}
    assert {len(library.frames(name)) for name in names} == {record.frames}


def test_ask_takes_the_result_of_ingest(library, notices_video):
    answer = library.ask(library.ingest(notices_video), "What code is shown on screen?")
    assert "4172" in answer.text


def test_a_copy_of_the_file_elsewhere_names_the_video_by_its_content(library, notices_video, video_id, tmp_path):
    copy = tmp_path / "renamed.mp4"
    shutil.copyfile(notices_video, copy)
    assert library.video(copy).id == video_id
    with pytest.raises(VideoNotFoundError):
        library.video(tmp_path / "absent.mp4")


@pytest.mark.parametrize("bad", BAD, ids=lambda value: type(value).__name__)
def test_anything_else_is_a_typed_error_that_names_what_was_given(library, bad):
    asking = [] if bad is None else [lambda v: library.ask(v, "What is shown?")]  # ask(None, q): the whole library
    for call in (library.video, library.frames, library.forget, *asking):
        with pytest.raises(VideoReferenceError, match=type(bad).__name__):
            call(bad)
    with pytest.raises(VideoReferenceError):
        library.library.video(bad)
    assert all(v.status == "ready" for v in library.videos())


def test_ask_with_no_video_asks_the_whole_library(library):
    for answer in (library.ask("What code is shown on screen?"), library.ask(None, "What code is shown on screen?")):
        assert answer.video == library.video("notices.mp4").id and "4172" in answer.text
    with pytest.raises(VideoReferenceError, match="question as text"):
        library.ask(42)


def test_forget_takes_the_result_of_ingest(home: Path, tmp_path):
    video = make_video(tmp_path / "short.mp4", seconds=4, fps=2)
    longshot = Longshot(home=home, models__speech="none", models__ocr="none", ingest__scales=())
    result = longshot.ingest(video)
    longshot.forget(result)
    assert longshot.videos() == []
    with pytest.raises(VideoNotFoundError):
        longshot.video(result)
