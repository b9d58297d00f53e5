"""Subtitles and timed text: SubRip, WebVTT and JSON cues on the video's clock, their errors, and sidecar files."""

from __future__ import annotations

from pathlib import Path

import pytest

from perception.errors import SubtitleError
from perception.subtitles import Cue, parse_clock, read_subtitles, sidecar

VTT = """WEBVTT
Kind: captions
Language: en

NOTE This note --- has no times and is skipped.

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:04.250 align:start position:10%
<v Anna>Welcome to the <c.loud>history</c> hour.</v>

00:01:05.500 --> 00:01:07.000
Fish &amp; chips at <00:01:06.000>noon
on the pier.

1:00:00.000 --> 1:00:02.000
The end.
"""

SRT = "1\r\n00:00:01,000 --> 00:00:03,500\r\n{\\an8}<i>Welcome</i> aboard.\r\n\r\n2\r\n00:00:04,000 --> 00:00:04,000\r\n\r\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_webvtt_cues_lose_their_settings_tags_and_comments(tmp_path: Path) -> None:
    cues = read_subtitles(write(tmp_path, "talk.vtt", VTT))
    assert cues == [
        Cue(1.0, 4.25, "Welcome to the history hour."),
        Cue(65.5, 67.0, "Fish & chips at noon on the pier."),
        Cue(3600.0, 3602.0, "The end."),
    ]


def test_subrip_with_windows_line_ends_and_an_empty_cue(tmp_path: Path) -> None:
    assert read_subtitles(write(tmp_path, "talk.srt", SRT)) == [Cue(1.0, 3.5, "Welcome aboard.")]


def test_an_offset_moves_cues_onto_the_video_clock_and_never_before_its_start(tmp_path: Path) -> None:
    cues = read_subtitles(write(tmp_path, "talk.vtt", VTT), offset=2.0)
    assert cues[0] == Cue(0.0, 2.25, "Welcome to the history hour.") and cues[1].start == 63.5
    json_cues = write(
        tmp_path,
        "talk.json",
        '[{"timestamp": [10, null], "text": "to the end"}, {"start": "0:00:12", "end": "0:00:11", "line": "x"}]',
    )
    assert read_subtitles(json_cues, offset=5.0, duration=60.0) == [Cue(5.0, 55.0, "to the end"), Cue(7.0, 7.0, "x")]


def test_bad_files_raise_subtitle_errors_that_name_them(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError, match="missing"):
        read_subtitles(tmp_path / "absent.srt")
    with pytest.raises(SubtitleError, match="not a subtitle file"):
        read_subtitles(write(tmp_path, "notes.txt", "hello"))
    with pytest.raises(SubtitleError, match="not valid JSON"):
        read_subtitles(write(tmp_path, "a.json", "{oops"))
    with pytest.raises(SubtitleError, match="list of cues"):
        read_subtitles(write(tmp_path, "b.json", '{"start": 1}'))
    with pytest.raises(SubtitleError, match="cue 2 has no usable times"):
        read_subtitles(write(tmp_path, "c.json", '[{"timestamp": [1, 2], "text": "a"}, {"timestamp": "soon", "text": "b"}]'))
    assert read_subtitles(write(tmp_path, "d.srt", "no cues in here")) == []


def test_a_sidecar_file_is_found_by_the_video_name(tmp_path: Path) -> None:
    video = write(tmp_path, "talk [2024].mp4", "")
    assert sidecar(video) is None
    write(tmp_path, "talk [2024].en.vtt", VTT)
    assert sidecar(video) == tmp_path / "talk [2024].en.vtt"
    write(tmp_path, "talk [2024].srt", SRT)
    assert sidecar(video) == tmp_path / "talk [2024].srt"  # the exact name first
    write(tmp_path, "other.srt", SRT)
    assert sidecar(tmp_path / "other.mkv") == tmp_path / "other.srt"


def test_clock_strings_in_every_form() -> None:
    assert parse_clock("1:02:03.5") == 3723.5 and parse_clock("1:02:03,5") == 3723.5
    assert parse_clock("02:03") == 123.0 and parse_clock("123.5") == 123.5
    with pytest.raises(ValueError, match="not a time"):
        parse_clock("1:2:3:4")
