"""The needle set: real footage with speech and notices where the manifest says, and questions that agree with it."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import av
import numpy as np
import pytest

from evals.datasets import get_dataset
from evals.needle import (
    DEFAULT_NOTICES,
    SPEECH,
    NeedleDataset,
    NeedleSet,
    build_needle,
    notice_variants,
)
from perception.errors import ConfigError

MINUTES = 2


@pytest.fixture(scope="module")
def needle(media: Path, tmp_path_factory: pytest.TempPathFactory) -> NeedleSet:
    return build_needle(tmp_path_factory.mktemp("needle"), minutes=MINUTES, seed=0, media=media)


def _audio(path: Path) -> np.ndarray:
    """The whole audio track as float32 mono at 16 kHz."""
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        frames = [out for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


def _frame_at(path: Path, time: float) -> np.ndarray:
    """The RGB frame shown at `time` (the last one starting at or before it)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        container.seek(int(max(time - 6, 0) / stream.time_base), stream=stream)
        shown = None
        for frame in container.decode(stream):
            if frame.time > time + 1e-6:
                break
            shown = frame
    assert shown is not None
    return shown.to_ndarray(format="rgb24")


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _events(needle: NeedleSet) -> dict[str, dict]:
    manifest = json.loads(needle.manifest.read_text())
    return {event["id"]: event for event in manifest["events"]}


@pytest.mark.slow
@pytest.mark.integration
def test_video_is_at_least_the_asked_length_with_audio(needle: NeedleSet) -> None:
    with av.open(str(needle.video)) as container:
        video = container.streams.video[0]
        assert container.duration / av.time_base >= MINUTES * 60
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert len(container.streams.audio) == 1
    assert needle.duration >= MINUTES * 60


@pytest.mark.slow
@pytest.mark.integration
def test_events_are_apart_inside_base_segments(needle: NeedleSet) -> None:
    kinds = [e.kind for e in needle.events]
    assert kinds.count("speech") == len(SPEECH) and kinds.count("text") == len(DEFAULT_NOTICES)
    segments = [int(e.start // 10) for e in needle.events]
    assert len(set(segments)) == len(segments)
    for event in needle.events:
        segment_start = int(event.start // 10) * 10
        assert segment_start + 1.0 <= event.start < event.end <= segment_start + 9.0
        assert segment_start > 0 and segment_start + 10 < needle.duration
    assert [e.start for e in needle.events] == sorted(e.start for e in needle.events)


@pytest.mark.slow
@pytest.mark.integration
def test_each_notice_is_readable_during_its_event_only(needle: NeedleSet) -> None:
    from perception.ocr import RapidOCR, locate_ocr_models

    ocr = RapidOCR(locate_ocr_models("PP-OCRv4"))
    for event in (e for e in needle.events if e.kind == "text"):
        during = " ".join(box.text for box in ocr.read(_frame_at(needle.video, (event.start + event.end) / 2)))
        before = " ".join(box.text for box in ocr.read(_frame_at(needle.video, event.start - 0.5)))
        assert _words(event.text) == _words(during), (event.text, during)
        assert not set(_words(event.text)) <= set(_words(before)), (event.text, before)


@pytest.mark.slow
@pytest.mark.integration
def test_speech_is_loud_inside_its_event_and_silent_elsewhere(needle: NeedleSet) -> None:
    audio = _audio(needle.video)
    assert len(audio) >= needle.duration * 16000 - 1600
    speaking = np.zeros(len(audio), dtype=bool)
    for event in (e for e in needle.events if e.kind == "speech"):
        speaking[int(event.start * 16000) : int(event.end * 16000)] = True
    quiet = np.sqrt(np.mean(audio[~speaking] ** 2))
    for event in (e for e in needle.events if e.kind == "speech"):
        inside = audio[int(event.start * 16000) : int(event.end * 16000)]
        just_before = audio[int((event.start - 0.5) * 16000) : int(event.start * 16000)]
        assert np.sqrt(np.mean(inside**2)) > 100 * max(quiet, 1e-6)
        assert np.sqrt(np.mean(just_before**2)) < 0.01 * np.sqrt(np.mean(inside**2))


@pytest.mark.slow
@pytest.mark.integration
def test_whisper_hears_each_quoted_phrase_in_its_event(needle: NeedleSet) -> None:
    from perception.speech import WhisperSpeech, locate_whisper

    speech = WhisperSpeech(locate_whisper("tiny.en"))
    audio = _audio(needle.video)
    for event in (e for e in needle.events if e.kind == "speech"):
        window = int(event.start // 10) * 10  # the base segment the event sits in, as ingest would hear it
        heard = speech.transcribe(audio[window * 16000 : (window + 10) * 16000], offset=window)
        text = " ".join(_words(" ".join(u.text for u in heard)))
        assert " ".join(_words(event.phrase)) in text, (event.phrase, text)


@pytest.mark.slow
@pytest.mark.integration
def test_every_answer_agrees_with_the_manifest(needle: NeedleSet) -> None:
    events = _events(needle)
    kinds = [item.buckets["kind"] for item in needle.items]
    assert kinds.count("when") == kinds.count("choice") == len(events)
    assert kinds.count("order") == len(events) - 1
    assert len({item.id for item in needle.items}) == len(needle.items)
    for item in needle.items:
        assert item.video == needle.video
        involved = [events[i] for i in item.extras["events"]]
        kind, modality = item.buckets["kind"], item.buckets["modality"]
        if kind == "when":
            (event,) = involved
            assert item.answer is None and item.answer_span == (event["start"], event["end"])
            assert f"'{event['phrase']}'" in item.question and modality == event["kind"]
        elif kind == "choice":
            (event,) = involved
            assert item.answer_text == event["phrase"] and len(set(item.options)) == 4
            assert modality == event["kind"]
        else:
            first = min(involved, key=lambda e: e["start"])
            said_or_shown = "the words" if first["kind"] == "speech" else "the notice"
            assert item.answer_text == f"{said_or_shown} '{first['phrase']}'" and len(item.options) == 2
            expected = {e["kind"] for e in involved}
            assert modality == (expected.pop() if len(expected) == 1 else "mixed")


@pytest.mark.slow
@pytest.mark.integration
def test_choice_options_differ_from_the_truth_by_one_word(needle: NeedleSet) -> None:
    for item in (i for i in needle.items if i.buckets["kind"] == "choice"):
        truth = item.answer_text.split()
        for option in item.options:
            if option == item.answer_text:
                continue
            words = option.split()
            assert len(words) == len(truth), (option, truth)
            assert sum(a != b for a, b in zip(words, truth)) == 1, (option, truth)


def test_notice_variants_change_digits_or_one_known_word() -> None:
    variants = notice_variants("VAULT CODE 4172", random.Random(3), n=8)
    assert len(set(variants)) == 8 and "VAULT CODE 4172" not in variants
    assert all(len(v.split()) == 3 and sum(a != b for a, b in zip(v.split(), ["VAULT", "CODE", "4172"])) == 1 for v in variants)
    digits = [v.split()[2] for v in variants if v.split()[2] != "4172"]
    assert all(sorted(d) == sorted("4172") for d in digits)  # a swap, not a new number
    assert notice_variants("Gate 7", random.Random(0), n=3) != ()
    with pytest.raises(ConfigError, match="distractors"):
        notice_variants("HELLO THERE", random.Random(0))


@pytest.mark.slow
@pytest.mark.integration
def test_a_seeded_build_is_reproducible_and_another_seed_differs(needle: NeedleSet, media: Path, tmp_path: Path) -> None:
    again = build_needle(tmp_path / "again", minutes=MINUTES, seed=0, media=media)
    other = build_needle(tmp_path / "other", minutes=MINUTES, seed=1, media=media)
    assert again.events == needle.events
    assert [(i.id, i.question, i.options, i.answer, i.answer_span) for i in again.items] == [
        (i.id, i.question, i.options, i.answer, i.answer_span) for i in needle.items
    ]
    assert again.video.read_bytes() == needle.video.read_bytes()  # x264 and ffmpeg's AAC encoder are deterministic
    assert [(e.start, e.phrase) for e in other.events] != [(e.start, e.phrase) for e in needle.events]


@pytest.mark.slow
@pytest.mark.integration
def test_the_cache_reuses_a_complete_set_and_rebuilds_otherwise(media: Path, tmp_path: Path) -> None:
    first = build_needle(tmp_path, minutes=MINUTES, seed=0, media=media)
    built_at = first.video.stat().st_mtime_ns
    reused = build_needle(tmp_path, minutes=MINUTES, seed=0, media=media)
    assert reused.events == first.events and reused.video.stat().st_mtime_ns == built_at

    with first.video.open("r+b") as video:  # a damaged video is not reused
        video.truncate(1000)
    repaired = build_needle(tmp_path, minutes=MINUTES, seed=0, media=media)
    assert repaired.events == first.events and repaired.video.stat().st_size > 1000

    reseeded = build_needle(tmp_path, minutes=MINUTES, seed=5, media=media)
    assert reseeded.events != first.events
    assert json.loads(reseeded.manifest.read_text())["params"]["seed"] == 5
    assert not list(tmp_path.glob(".building-*"))


def test_a_video_too_short_for_its_needles_is_refused(media: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 80 s"):
        build_needle(tmp_path, minutes=1, media=media)
    with pytest.raises(ConfigError):
        build_needle(tmp_path, minutes=0, media=media)
    assert not (tmp_path / "needle.mp4").exists()


@pytest.mark.slow
@pytest.mark.integration
def test_the_dataset_builds_once_under_its_root_and_is_registered(media: Path, tmp_path: Path) -> None:
    dataset = get_dataset("needle:classic", tmp_path, minutes=MINUTES, media=media)
    assert isinstance(dataset, NeedleDataset) and dataset.name == "needle" and dataset.version == "longshot-needle-1"
    items = list(dataset.items())
    assert [i.id for i in dataset.items(limit=3)] == [i.id for i in items[:3]]
    assert {i.buckets["kind"] for i in items} == {"when", "choice", "order"}
    assert {"speech", "text"} <= {i.buckets["modality"] for i in items} <= {"speech", "text", "mixed"}
    assert all(i.video.is_file() and i.video.is_relative_to(tmp_path) for i in items)
