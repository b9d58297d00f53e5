"""A hostile-media corpus through ingest: every file either ingests what can be read or fails with a
typed error, in bounded time, in a child process whose crash or hang the test would see; a file
that fails leaves no row and no folder, and the library stays whole.

The corpus is made here from the real media and a synthetic clip (see tests/memory/hostile.py):
cuts at sampled offsets, flipped bytes in headers and middles, misleading extensions, 0- and
1-byte files, a PNG claiming 20000x20000 pixels, MP4 and AVI headers claiming 0 fps, a billion
frames or a zero timescale, a frame stamped far in the future, audio-only files, two video streams.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app import Longshot
from evals.bench.ingest_child import IngestChild
from memory.audit import problems, temp_files
from memory.store import Library, content_hash
from perception.errors import ImageError, LongshotError
from perception.video import VideoReader
from tests.memory import hostile

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PER_FILE_TIMEOUT_S = 180.0  # far above any file here (the slowest takes seconds); only a hang reaches it
OFFLINE = {
    "models__ocr": "none",
    "models__speech": "none",
    "models__detector": "none",
    "models__image_embedding": "none",
    "models__text_embedding": "none",
}
EVERY_LOCAL_MODEL = {"models__detector": "none", "models__image_embedding": "none"}  # OCR, speech, text embedding
LATE_FRAME_S = 1000.0

# Files whose outcome is known in advance, by a part of their name.
MUST_FAIL = {
    "empty.mp4": "NotAVideoError",
    "one-byte": "NotAVideoError",
    "text.mp4": "NotAVideoError",
    "magic-only": "NotAVideoError",
    ".astxt": "NotAVideoError",
    "billion-frames.mp4": "NotAVideoError",
    "audio-only": "NoVideoStreamError",
    ".aswav": "NoVideoStreamError",
    "bomb": "NoVideoStreamError",
    ".asjpg": "NoVideoStreamError",
}
MUST_INGEST = ("two-video", "late-frame", ".asmp4", ".asavi", "synthetic.mp4", "cup.mp4", "duration-max")


def build_corpus(media: Path, folder: Path) -> list[Path]:
    video = media / "video"
    synthetic = hostile.synthetic_source(folder)
    controls = [shutil.copy(video / "cup.mp4", folder / "cup.mp4"), synthetic]
    files = [Path(p) for p in controls]
    for source in (video / "cup.mp4", video / "Megamind.avi", video / "flipping_a_pancake.mkv", synthetic):
        files += hostile.truncated(source, folder)
    files += hostile.truncated(video / "arm_wrestling.mp4", folder, fractions=(0.5, 0.99), absolute=(64,))  # index at the end
    for source in (
        video / "cup.mp4",
        video / "Megamind.avi",
        video / "flipping_a_pancake.mkv",
        video / "big_buck_bunny_0_30.webm",
        video / "av1_video.mkv",
        video / "h265_video.mp4",
        synthetic,
    ):
        files += [hostile.flipped(source, folder, seed, where) for seed in (1, 2) for where in ("header", "middle")]
    files += [
        hostile.renamed(video / "cup.mp4", folder, ".avi"),
        hostile.renamed(video / "Megamind.avi", folder, ".mp4"),
        hostile.renamed(media / "images" / "grace_hopper.jpg", folder, ".mp4"),
        hostile.renamed(media / "audio" / "librivox" / "sense_and_sensibility_01_austen_64kb-0880.wav", folder, ".mp4"),
        hostile.renamed(media / "audio" / "librivox" / "transcription.txt", folder, ".mkv"),
    ]
    files += hostile.tiny_files(folder)
    bomb = hostile.claiming_png(folder / "bomb.png")
    files += [bomb, hostile.renamed(bomb, folder, ".mp4")]
    files += [
        hostile.patched_mp4(synthetic, folder, "timescale0", hostile.set_timescales(0)),
        hostile.patched_mp4(synthetic, folder, "timescale1", hostile.set_timescales(1)),
        hostile.patched_mp4(synthetic, folder, "duration-max", hostile.set_durations(0xFFFFFFFF)),
        hostile.patched_mp4(synthetic, folder, "fps0", hostile.set_sample_deltas(0)),
        hostile.patched_mp4(synthetic, folder, "billion-frames", hostile.set_sample_counts(10**9)),
        hostile.patched_mp4(video / "cup.mp4", folder, "fps0", hostile.set_sample_deltas(0)),
        hostile.patched_mp4(video / "cup.mp4", folder, "billion-frames", hostile.set_sample_counts(10**9)),
        hostile.patched_avi(video / "Megamind.avi", folder, "fps0", 0, 10**9, rate=0, length=10**9),
        hostile.patched_avi(video / "Megamind.avi", folder, "claims-a-billion", 1, 10**9, length=10**9),
        hostile.late_frame(folder, LATE_FRAME_S),
    ]
    files += hostile.audio_only(folder)
    files += [hostile.two_video_streams(video / "cup.mp4", folder), hostile.two_video_streams(synthetic, folder)]
    assert len({f.name for f in files}) == len(files)
    return files


@pytest.fixture(scope="module")
def corpus(media: Path, tmp_path_factory) -> list[Path]:
    return build_corpus(media, tmp_path_factory.mktemp("hostile"))


def run_all(files: list[Path], home: Path, overrides: dict) -> dict[str, dict]:
    home.mkdir(exist_ok=True)
    with IngestChild(home, overrides) as worker:
        return {path.name: worker.ingest(path, PER_FILE_TIMEOUT_S) | {"file": path} for path in files}


@pytest.fixture(scope="module")
def ingested(corpus: list[Path], tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    home = tmp_path_factory.mktemp("library") / "home"
    return home, run_all(corpus, home, OFFLINE)


def misbehaviour(outcomes: dict[str, dict]) -> list[str]:
    """Crashes, hangs, and errors that are not LongshotErrors, one line each."""
    bad = []
    for name, got in outcomes.items():
        if got["outcome"] in ("crash", "hang"):
            bad.append(f"{name}: {got['outcome']} {got.get('returncode', '')} {got.get('stderr', '')[-400:]}")
        elif got["outcome"] == "error" and not got["typed"]:
            bad.append(f"{name}: untyped {got['error']}: {got['message']}")
    return bad


def test_every_hostile_file_ingests_or_fails_with_a_typed_error(ingested):
    _, outcomes = ingested
    tally = Counter(got["outcome"] if got["outcome"] != "error" else got["error"] for got in outcomes.values())
    print(f"\n{len(outcomes)} hostile files: {dict(tally)}")
    assert misbehaviour(outcomes) == []
    assert tally["ok"] >= 20 and sum(n for kind, n in tally.items() if kind != "ok") >= 20  # both kinds exercised


@pytest.mark.parametrize("part, error", sorted(MUST_FAIL.items()))
def test_files_that_hold_no_video_fail_with_the_right_error(ingested, part: str, error: str):
    _, outcomes = ingested
    matching = [got for name, got in outcomes.items() if part in name]
    assert matching
    assert {got.get("error") for got in matching} == {error}, matching


@pytest.mark.parametrize("part", MUST_INGEST)
def test_damage_that_leaves_a_video_is_ingested(ingested, part: str):
    _, outcomes = ingested
    matching = [got for name, got in outcomes.items() if part in name]
    assert matching and all(got["outcome"] == "ok" and got["status"] == "ready" and got["frames"] >= 1 for got in matching)


def test_a_failed_file_leaves_no_row_and_no_folder(ingested):
    home, outcomes = ingested
    library = Library(home)
    rows = {record.id: record for record in library.videos()}
    failed = [got for got in outcomes.values() if got["outcome"] == "error"]
    left = [
        got["file"].name
        for got in failed
        if content_hash(got["file"]) in rows or (home / "videos" / content_hash(got["file"])).exists()
    ]
    assert left == []
    assert {record.status for record in rows.values()} == {"ready"}
    assert len(rows) == len({got["video"] for got in outcomes.values() if got["outcome"] == "ok"})


def test_the_library_stays_whole_and_every_frame_reads_back(ingested):
    home, _ = ingested
    assert problems(home) == []
    assert temp_files(home) == []


def test_no_frame_is_stored_twice_or_outside_the_video(ingested):
    """Across a gap in timestamps (a frame stamped 1000 s in) the frame nearest each empty span used to be
    stored once per span, as if seen there: 11 frames became 35, most described at the wrong time."""
    home, outcomes = ingested
    library = Library(home)
    for name, got in outcomes.items():
        if got["outcome"] != "ok":
            continue
        with VideoReader(got["file"]) as reader:
            count = reader.info.frame_count
        store = Longshot(home=home, **OFFLINE).frames(got["video"])
        assert got["frames"] <= count, name
        times = store.times[: got["frames"]]
        assert np.all(np.diff(times) >= 0) and (len(times) == 0 or times[-1] <= library.video(got["video"]).duration + 1e-6)
    late = next(got for name, got in outcomes.items() if "late-frame" in name)
    assert late["duration"] == pytest.approx(LATE_FRAME_S, abs=1) and late["frames"] == 4  # at 0, 1 and 1.8 s, and the late one


def test_two_video_streams_ingest_the_first_like_the_single_stream_file(ingested):
    _, outcomes = ingested
    for source in ("cup", "synthetic"):
        single = outcomes[f"{source}.mp4"]
        double = outcomes[f"{source}.two-video.mkv"]
        assert double["frames"] == single["frames"] and double["duration"] == pytest.approx(single["duration"], abs=0.1)


def test_damaged_audio_and_text_through_every_local_model(corpus: list[Path], tmp_path: Path):
    """OCR, speech and text embedding on the files whose damage reaches the audio and the pictures."""
    chosen = [
        f
        for f in corpus
        if f.name
        in {
            "Megamind.flip-middle1.avi",
            "Megamind.flip-header2.avi",
            "cup.flip-header2.mp4",
            "cup.flip-middle1.mp4",
            "flipping_a_pancake.flip-middle2.mkv",
            "tone.audio-only.mp4",
        }
        or (f.name.startswith(("Megamind.cut", "flipping_a_pancake.cut")) and 0.3 < _cut_fraction(f) < 0.8)
    ]
    assert len(chosen) >= 6
    home = tmp_path / "home"
    outcomes = run_all(chosen, home, EVERY_LOCAL_MODEL)
    assert misbehaviour(outcomes) == []
    assert sum(got["outcome"] == "ok" for got in outcomes.values()) >= 5
    assert problems(home) == [] and temp_files(home) == []


def _cut_fraction(path: Path) -> float:
    cut = int(path.name.split(".cut")[1].split(".")[0])
    original = {"Megamind": 1189270, "flipping_a_pancake": 436346}[path.name.split(".cut")[0]]
    return cut / original


# -- the same images through ask_image ------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_images(media: Path, tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("images")
    page = media / "images" / "skimage" / "page.png"
    photo = media / "images" / "grace_hopper.jpg"
    files = [hostile.claiming_png(folder / "bomb.png"), hostile.claiming_png(folder / "wide.png", 200000, 1)]
    files += hostile.truncated(page, folder, fractions=(0.01, 0.5, 0.95), absolute=(8, 64))
    files += hostile.truncated(photo, folder, fractions=(0.3, 0.9), absolute=(4,))
    files += [hostile.flipped(source, folder, 1, where) for source in (page, photo) for where in ("header", "middle")]
    files += [hostile.renamed(media / "video" / "h265_video.mp4", folder, ".png"), *hostile.tiny_files(folder)[:3]]
    return files


@pytest.mark.timeout(600)
def test_ask_image_answers_or_refuses_every_hostile_image(hostile_images: list[Path], tmp_path: Path):
    longshot = Longshot(home=tmp_path / "home", models__vlm="none", models__detector="none", models__speech="none")
    answered, refused = [], []
    for path in hostile_images:
        try:
            answer = longshot.ask_image(path, "What does the text say?")
        except ImageError:
            refused.append(path.name)
        except LongshotError as err:  # typed, but images should fail as images
            pytest.fail(f"{path.name}: {type(err).__name__} instead of ImageError: {err}")
        else:
            assert isinstance(answer.text, str)
            answered.append(path.name)
    assert "bomb.png" in refused and "wide.png" in refused and "empty.mp4" in refused
    assert answered, "damaged but readable images are answered"
