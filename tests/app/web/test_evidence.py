"""What an answer points at: evidence frames with their times drawn on, the sketches, and the player."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from app.answer import Evidence
from app.clips import Clips
from app.web.evidence import all_evidence, evidence_frames, frame_at, player_html, plays_whole, sketch_images
from app.web.uploads import uploads_dir
from perception.timefmt import format_time

slow = pytest.mark.slow


@slow
def test_evidence_frames_have_their_time_drawn_and_in_the_caption(library, video_id):
    answer = library.ask(video_id, "What is the vault code?")
    frames = evidence_frames(library, video_id, all_evidence(answer))
    assert frames and len({f.time for f in frames}) == len(frames)
    store = library.frames(video_id)
    for view in frames:
        assert view.image.ndim == 3 and view.image.shape[2] == 3
        assert view.caption.startswith(format_time(view.time))
        plain = store.get(int(np.argmin(np.abs(store.times - view.time))))
        assert view.image.shape == plain.shape and not np.array_equal(view.image[:30, :80], plain[:30, :80])
    assert any(20 <= f.time <= 30 for f in frames)


def test_sketches_are_loaded_and_missing_ones_skipped(tmp_path):
    picture = np.zeros((40, 60, 3), dtype=np.uint8)
    picture[10:30, 10:50] = (255, 0, 0)
    Image.fromarray(picture).save(tmp_path / "sketch.png")
    found_evidence = [
        Evidence("sketch", 1.0, 1.0, "ocr: 2 lines", 1.0, image_path=str(tmp_path / "sketch.png")),
        Evidence("sketch", 2.0, 2.0, "gone", 1.0, image_path=str(tmp_path / "missing.png")),
        Evidence("frame", 3.0, 3.0, "not a sketch", 1.0),
    ]
    found = sketch_images(found_evidence)
    assert len(found) == 1 and np.array_equal(found[0][0], picture) and found[0][1] == "0:01 · ocr: 2 lines"
    assert sketch_images(found_evidence[:1], timed=False)[0][1] == "ocr: 2 lines"


@slow
def test_player_plays_the_library_copy_from_a_moment(library, parcel_id):
    still = frame_at(library, parcel_id, 4.0)
    html = player_html(library.config.home, library.video(parcel_id), 4.0, still)
    assert '<video class="ls-player"' in html and "/gradio_api/file=" in html and "#t=4.0" in html
    assert str(uploads_dir(library.config.home)) in html.replace("%2F", "/")
    assert 'poster="data:image/jpeg;base64,' in html and "from 0:04" in html and still.time == 4.0


def test_a_video_ingested_from_the_command_line_plays_as_a_clip_around_the_moment(library, video_id):
    record = library.video(video_id)
    assert not plays_whole(library.config.home, record)
    clip = library.clip(video_id, 21.0)
    html = player_html(library.config.home, record, 21.0, frame_at(library, video_id, 21.0), clip)
    src = unquote(html.split('src="', 1)[1].split('"', 1)[0])
    assert src == f"/gradio_api/file={clip.path}#t=21.0" and clip.path.parent == Clips(library.config.home).folder / video_id
    assert "notices.mp4 from 0:21 · a clip of 0:00-0:40" in html and "stored frames" not in html


@slow
def test_a_container_browsers_do_not_play_plays_as_a_clip_too(library, parcel_id):
    record = library.video(parcel_id)
    avi = dataclasses.replace(record, path=str(Path(record.path).with_suffix(".avi")))
    assert not plays_whole(library.config.home, avi)


def test_where_no_clip_can_be_made_the_still_is_shown_with_the_reason(library, video_id):
    html = player_html(library.config.home, library.video(video_id), 21.0, frame_at(library, video_id, 21.0), "no clip (why)")
    assert "<video" not in html and '<img class="ls-player" src="data:image/jpeg' in html and "no clip (why)" in html
