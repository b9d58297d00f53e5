"""`bench cold` measures each command as its own fresh process; `bench ingest`'s lecture is real
speech whose every word is known. Nothing here is timed: figures are what the benchmarks report."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from evals.bench import cold
from evals.bench.common import _peak_rss
from evals.bench.lecture import SAMPLE_RATE, _readings, _write_wav, build_lecture
from evals.metrics import words
from evals.needles.media import Reading, librivox
from perception.video import probe, read_audio


def test_a_fresh_command_is_measured_apart_from_the_process_that_starts_it():
    """A child's peak RSS starts from its parent's at fork: measured from here it would look as big as pytest."""
    bare = cold.measure(cold.Command("bare", ("-c", "pass")), repeats=2)
    numpy = cold.measure(cold.Command("numpy", ("-c", "import numpy; numpy.ones(2**24)")), repeats=1)
    assert bare["exit_codes"] == [0] and bare["wall_median_s"] > 0 and bare["wall_best_s"] <= bare["wall_median_s"]
    assert bare["rss_peak_mb"] < _peak_rss() / 2**20 / 2, "the bare child carried its parent's peak"
    assert numpy["rss_peak_mb"] > bare["rss_peak_mb"] + 100  # 128 MB of ones
    assert bare["heavy_imports"] == [] and bare["noise_lines"] == []


def test_imports_exit_codes_and_noise_are_reported(tmp_path: Path):
    script = "import json, sys; print('WARNING it fell back', file=sys.stderr); print('fine', file=sys.stderr); sys.exit(3)"
    result = cold.measure(cold.Command("noisy", ("-c", script)), repeats=1, watch=("json", "numpy"))
    assert result["exit_codes"] == [3] and result["heavy_imports"] == []  # not a longshot command: nothing reported
    assert result["noise_lines"] == ["WARNING it fell back"]
    videos = ("-c", cold.LONGSHOT, "videos", "--home", str(tmp_path / "home"))  # reads the configuration, as every command does
    longshot = cold.measure(cold.Command("videos", videos), repeats=1, watch=("typer", "torch"))
    assert longshot["exit_codes"] == [0] and longshot["heavy_imports"] == ["typer"] and longshot["noise_lines"] == []


def test_the_report_names_each_command_against_python_and_the_aims(capsys):
    figures = {
        "library_minutes": 30.0,
        "repeats": 1,
        "commands": {
            name: cold.measure(cold.Command(name, ("-c", "pass")), repeats=1) for name in ("python -c pass", "ask", "doctor")
        },
        "aims": {name: {"wall_s": wall, "rss_peak_mb": rss} for name, (wall, rss) in cold.AIMS.items()},
        "cpu_count": 2,
        "load_average_before": (1.0, 1.0, 1.0),
        "load_average_after": (1.0, 1.0, 1.0),
    }
    cold.report(figures)
    out = capsys.readouterr().out
    assert "over python" in out and "(aim <= 2 s, <= 600 MB)" in out and "(aim <= 2 s)" in out


def test_every_command_runs_on_the_library_the_bench_builds(tmp_path):
    items = [
        type("Item", (), {"buckets": {"kind": kind}, "question": f"a {kind} question", "options": ("A one", "B two")})()
        for kind in ("when", "choice")
    ]
    commands = {c.name: c.argv for c in cold.commands(tmp_path / "home", "abc123", items)}
    assert commands["python -c pass"] == ("-c", "pass")
    assert commands["ask"][2:] == ("ask", "abc123", "a when question", "--home", str(tmp_path / "home"))
    assert commands["ask choice"][-6:-2] == ("-o", "A one", "-o", "B two")
    assert {"videos", "doctor", "memory", "help"} <= commands.keys()


def test_readings_follow_each_other_whole_with_a_pause_until_the_length_is_full():
    one = Reading("one", "one", np.full(SAMPLE_RATE, 16384, np.int16))
    two = Reading("two", "two", np.full(SAMPLE_RATE * 2, -16384, np.int16))
    track, said = _readings([one, two], seconds=8)
    assert said == ["one", "two", "one", "two"]  # 1 + 2 + 1 + 2 s of speech and 4 pauses; a third "one" would not fit whole
    assert len(track) == 8 * SAMPLE_RATE
    assert track[10] == pytest.approx(0.5) and track[SAMPLE_RATE + 10] == 0  # a pause after the first reading
    assert track[SAMPLE_RATE + SAMPLE_RATE // 2] == pytest.approx(-0.5)
    last_ends = round(7.2 * SAMPLE_RATE)  # 1 + 0.4 + 2 + 0.4 + 1 + 0.4 + 2 s
    assert track[last_ends - 1] != 0 and not track[last_ends:].any()  # silence after the last whole reading


@pytest.mark.slow
@pytest.mark.integration
def test_the_lecture_is_real_footage_under_the_librivox_readings(media: Path, tmp_path: Path):
    lecture = build_lecture(0.5, media, out=tmp_path / "lecture")
    info = probe(lecture.video)
    assert 29 <= info.duration <= 31.5 and info.has_audio
    first = librivox(media)[0].transcript
    assert words(lecture.reference)[: len(words(first))] == words(first)
    heard = read_audio(lecture.video, 0.0, 2.0)
    assert np.abs(heard).max() > 0.05  # the first reading starts at once
    made = lecture.video.stat().st_mtime_ns
    assert build_lecture(0.5, media, out=tmp_path / "lecture").video.stat().st_mtime_ns == made  # reused


def test_a_wav_is_written_as_16_bit_mono(tmp_path: Path):
    _write_wav(tmp_path / "a.wav", np.array([0.0, 0.5, -1.5], np.float32))
    with wave.open(str(tmp_path / "a.wav")) as read:
        assert (read.getnchannels(), read.getsampwidth(), read.getframerate()) == (1, 2, SAMPLE_RATE)
        assert np.frombuffer(read.readframes(3), "<i2").tolist() == [0, 16383, -32767]
