"""Uploads: a plain base name, checked for size and kind before anything reaches the library."""

from __future__ import annotations

import dataclasses

import pytest

from app.web.evidence import player_html
from app.web.uploads import UploadRejectedError, accept_upload, in_uploads, safe_name, uploads_dir


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd.mp4", "passwd.mp4"),
        ("..\\..\\windows\\evil.MKV", "evil.mkv"),
        ("/absolute/path/movie.webm", "movie.webm"),
        (".bashrc.mp4", "bashrc.mp4"),
        ("..", "video"),
        ("", "video"),
        ("a\x00b\nc.mp4", "abc.mp4"),
        ("my holiday (2024).mp4", "my holiday (2024).mp4"),
        ("x" * 300 + ".mp4", "x" * 116 + ".mp4"),
    ],
)
def test_safe_name_keeps_a_plain_base_name(name, expected):
    assert safe_name(name) == expected


def test_upload_lands_in_the_library_under_its_hash_and_only_once(home, small_video):
    first = accept_upload(home, small_video, "../../../escape/parcel.mp4", max_mb=10)
    assert first.parent.parent == uploads_dir(home)
    assert first.name == "parcel.mp4" and first.read_bytes() == small_video.read_bytes()
    assert accept_upload(home, small_video, "parcel.mp4", max_mb=10) == first
    assert sorted(p.name for p in uploads_dir(home).rglob("*")) == sorted([first.parent.name, "parcel.mp4"])
    assert in_uploads(home, first) and not in_uploads(home, small_video)


def test_non_video_renamed_mp4_is_rejected_before_the_library(home, not_a_video):
    with pytest.raises(UploadRejectedError, match="holiday.mp4 was rejected: it is not a video"):
        accept_upload(home, not_a_video, not_a_video.name, max_mb=10)
    assert not any(uploads_dir(home).rglob("*.mp4")) if uploads_dir(home).exists() else True


def test_oversized_upload_is_rejected_with_the_limit(home, small_video):
    with pytest.raises(UploadRejectedError, match=r"accepts videos up to 0\.01 MB \(set web.max_upload_mb"):
        accept_upload(home, small_video, small_video.name, max_mb=0.01)
    assert not uploads_dir(home).exists() or not any(uploads_dir(home).iterdir())


def test_upload_without_a_video_suffix_is_rejected(home, small_video):
    with pytest.raises(UploadRejectedError, match="does not look like a video file"):
        accept_upload(home, small_video, "notes.txt", max_mb=10)


def test_a_link_out_of_the_uploads_folder_is_not_served(home, small_video, half_ingested):
    link = uploads_dir(home) / "abc" / "link.mp4"
    link.parent.mkdir(parents=True)
    link.symlink_to(small_video)
    assert not in_uploads(home, link)
    html = player_html(home, dataclasses.replace(half_ingested, path=str(link)))
    assert "<video" not in html and "link.mp4" not in html  # not served whole; a clip would be cut by id instead
