"""A subtitle file named for a batch ingest goes with its one video, through the same workers as any batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import Longshot
from perception.errors import SubtitleError
from tests.synth import make_video

OFFLINE = {
    "models__ocr": "none",
    "models__speech": "none",
    "models__text_embedding": "none",
    "models__image_embedding": "none",
    "models__detector": "none",
}
CUES = "1\n00:00:04,250 --> 00:00:07,500\nThe tram to Bergen leaves from stop six.\n"


def test_a_named_subtitle_file_enters_the_memory_of_its_one_video(home: Path, tmp_path: Path) -> None:
    clip = make_video(tmp_path / "tram.mp4", seconds=12, fps=5)
    (tmp_path / "cues.srt").write_text(CUES)
    ls = Longshot(home=home, **OFFLINE)
    report = ls.ingest_many([clip], subtitles=tmp_path / "cues.srt")
    [outcome] = report.outcomes
    assert outcome.status == "ingested"
    cues = ls.timeline.between(outcome.video, 0, 12, modalities={"subtitle"})
    assert [(o.start, o.end, o.text) for o in cues] == [(4.25, 7.5, "The tram to Bergen leaves from stop six.")]


def test_a_subtitle_file_for_several_videos_is_refused_before_anything_is_written(home: Path, tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    for seconds, name in ((4, "a.mp4"), (5, "b.mp4")):
        make_video(tmp_path / "clips" / name, seconds=seconds, fps=5)
    (tmp_path / "cues.srt").write_text(CUES)
    ls = Longshot(home=home, **OFFLINE)
    with pytest.raises(SubtitleError, match="one video, not 2"):
        ls.ingest_many([tmp_path / "clips"], subtitles=tmp_path / "cues.srt")
    assert ls.videos() == []
