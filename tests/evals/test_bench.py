"""The benchmarks run end to end on a tiny synthetic video and report sane figures.

Nothing here is timed: speed is what `longshot bench` reports, not what tests assert.
"""

from __future__ import annotations

import math

import pytest

from evals.bench import decode, frames
from evals.bench.common import make_long_video
from perception.video import VideoReader, probe
from tests.synth import make_video, read_index


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory):
    """4 s at 10 fps, keyframe every 2 s, frame i showing index i."""
    return make_video(tmp_path_factory.mktemp("bench") / "tiny.mp4", seconds=4, fps=10)


def test_a_looped_video_repeats_its_source_and_is_made_once(tiny_video, tmp_path):
    out = tmp_path / "long.mp4"
    assert make_long_video(tiny_video, 9, out) == out
    info = probe(out)
    assert 9 <= info.duration <= 10.5  # cut at the first keyframe at or after 9 s
    with VideoReader(out) as reader:
        batch = reader.frames_at([0.5, 4.5, 8.5])
    assert [read_index(frame) for frame in batch.frames] == [5, 5, 5]
    made = out.stat().st_mtime_ns
    assert make_long_video(tiny_video, 9, out) == out and out.stat().st_mtime_ns == made


def test_bench_decode_reports_sampling_against_the_floor(tiny_video, capsys):
    figures = decode.run(tiny_video, fps=1.0)
    assert figures["frames_sampled"] == 4 and figures["frames_skipped"] == 0
    assert figures["video_s"] == pytest.approx(4.0)
    assert figures["floor_every_frame_decoded"] == 40
    assert 4 <= figures["floor_needed_frames_decoded"] < 40
    assert figures["floor"] in ("every_frame", "needed_frames")
    for name in ("sample_s", "sampled_frames_per_s", "video_s_per_wall_s", "floor_video_s_per_wall_s", "speed_vs_floor"):
        assert figures[name] > 0 and math.isfinite(figures[name])
    decode.report(figures)
    assert "speed_vs_floor" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_frames_reports_windows_bytes_and_memory(tiny_video, capsys):
    figures = frames.run(tiny_video, windows=6, window_frames=2, cache_mb=16, stream_cache_mb=1)
    assert figures["stored_frames"] == 4 and figures["frame_shape"] == "240x320x3"
    assert figures["windows"] == 6
    assert figures["warm_hit_rate"] == 1.0 and figures["warm_kb_read"] == 0
    assert figures["cold_bundle_reads_per_window"] > 0 and figures["cold_kb_read_per_window"] > 0
    for name in ("cold_median_ms", "warm_median_ms", "decord_median_ms", "warm_speedup_vs_decord"):
        assert figures[name] > 0 and math.isfinite(figures[name])
    assert figures["stream_cache_peak_mb"] <= 1
    assert figures["stream_peak_growth_mb"] >= 0 and figures["hold_all_peak_growth_mb"] >= 0
    frames.report(figures)
    assert "warm_speedup_vs_decord" in capsys.readouterr().out
