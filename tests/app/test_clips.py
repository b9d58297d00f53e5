"""Clips around moments: cut from the video's file (any container, re-encoded as H.264 MP4), made from
the stored frames when the file is gone or is another video now, cached, bounded, and forgotten with
their video."""

from __future__ import annotations

import shutil

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import Longshot
from app.clips import CLIP_SECONDS, Clips, clip_span
from tests.synth import make_video, read_index


@given(st.floats(0, 50_000), st.floats(0, 1))
def test_a_clip_holds_its_moment_inside_the_video(duration, where):
    moment = duration * where
    start, end = clip_span(moment, duration)
    assert 0 <= start <= moment <= end <= duration
    assert end - start == pytest.approx(min(CLIP_SECONDS, duration))


def test_nearby_moments_share_a_clip():
    assert clip_span(1205.0, 3 * 3600) == clip_span(1224.0, 3 * 3600) == (1200.0, 1240.0)


def _decoded(path) -> tuple[list[np.ndarray], list[str]]:
    with av.open(str(path)) as container:
        kinds = [stream.codec_context.name for stream in container.streams]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return frames, kinds


@pytest.fixture
def lone(home, tmp_path):
    """A library of its own with one 30 s index-frame video at 5 fps, whose file the test may delete."""
    video = make_video(tmp_path / "lone.mp4", seconds=30, fps=5, size=(320, 240))
    longshot = Longshot(home=home, models__speech="none", models__ocr="none", ingest__scales=())
    return longshot, longshot.ingest(video).video, video


def test_a_clip_is_cut_from_the_file_from_its_start(lone):
    longshot, record, _ = lone
    clip = longshot.clip(record, 12.0)
    assert (clip.start, clip.end, clip.from_frames) == (0.0, 30.0, False)
    frames, kinds = _decoded(clip.path)
    assert kinds == ["h264"] and len(frames) == 150  # every frame of the 5 fps source
    assert [read_index(f) for f in frames[:3]] == [0, 1, 2] and read_index(frames[-1]) == 149
    assert clip.offset(12.0) == 12.0


def test_without_its_file_a_video_still_plays_from_its_stored_frames(lone):
    longshot, record, video = lone
    video.unlink()
    clip = longshot.clip(record, 12.0)
    frames, kinds = _decoded(clip.path)
    assert clip.from_frames and kinds == ["h264"]
    assert len(frames) == 30 and [read_index(f) for f in frames[:3]] == [0, 5, 10]  # the 1 fps samples


def test_a_file_that_is_now_another_video_is_not_cut(lone, tmp_path):
    longshot, record, video = lone
    make_video(tmp_path / "other.mp4", seconds=30, fps=5, size=(320, 240), texts=[(0, 30, "OTHER")])
    shutil.copyfile(tmp_path / "other.mp4", video)
    assert longshot.clip(record, 3.0).from_frames


def test_clips_are_cached_bounded_and_forgotten_with_their_video(lone, tmp_path):
    longshot, record, _ = lone
    first = longshot.clip(record, 12.0)
    written = first.path.stat().st_mtime_ns, first.path.stat().st_ino
    again = longshot.clip(record, 14.0)
    assert again == first and again.path.stat().st_ino == written[1]
    small = Clips(longshot.config.home, max_bytes=1)
    long_video = make_video(tmp_path / "long.mp4", seconds=90, fps=2, size=(160, 120))
    other = longshot.ingest(long_video).video
    kept = [small.around(other, moment, lambda: longshot.frames(other.id)).path for moment in (5.0, 45.0, 85.0)]
    assert [path.exists() for path in kept] == [False, False, True] and not first.path.exists()  # the newest stays
    longshot.forget(other)
    assert not (small.folder / other.id).exists()
