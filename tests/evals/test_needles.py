"""The CI needle set (six minutes of real footage): every truth checked against the rendered video and the manifest.

What is on screen is read back with OCR at the ingest's working resolution, what is said is
heard back with the default speech model, and every question's truth is recomputed from
the manifest's raw events (the quoted text, the asked time), not from the generator's own
bookkeeping. The policy's accuracy is not asserted here.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest

from evals.datasets import get_dataset
from evals.datasets.base import DatasetError
from evals.grading import Absent, Count, Duration, Mention, Span, YesNo, normalise
from evals.needles import media as media_module
from evals.needles.media import MediaFolderError, resolve_media
from evals.needles.plan import ALIGN_GUARD, SEGMENT
from evals.needles.questions import ABSENT_OPTIONS, NEVER_OPTIONS, TYPES
from evals.needles.suite import NeedleSuite, NeedleVideo
from perception.video import VideoReader

WORKING_SIDE = 448  # the ingest's frame_max_side: OCR must read every notice at this size


@pytest.fixture(scope="module")
def built(media: Path, tmp_path_factory: pytest.TempPathFactory) -> NeedleVideo:
    (video,) = NeedleSuite(tmp_path_factory.mktemp("needles"), "ci", media=media).build()
    return video


@pytest.fixture(scope="module")
def events(built: NeedleVideo) -> list[dict]:
    return json.loads(built.manifest.read_text())["scenario"]["events"]


@pytest.fixture(scope="module")
def ocr():
    from perception.ocr import RapidOCR, locate_ocr_models

    return RapidOCR(locate_ocr_models("PP-OCRv6"))


def _read(ocr, path: Path, times: list[float]) -> list[str]:
    """What OCR reads at each time, on the frames ingest would see: nearest frame, scaled to the working resolution."""
    with VideoReader(path, max_side=WORKING_SIDE) as reader:
        batch = reader.frames_at(times)
    assert len(batch.frames) == len(times)
    return [normalise(" ".join(box.text for box in ocr.read(frame))) for frame in batch.frames]


def _has(text: str, phrase: str) -> bool:
    return f" {normalise(phrase)} " in f" {text} "


def _audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        frames = [out for frame in container.decode(audio=0) for out in resampler.resample(frame)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


def _quoted(question: str) -> list[str]:
    return re.findall(r"'([^']+)'", question)


def _speech_saying(events: list[dict], quote: str) -> list[dict]:
    return [e for e in events if e["kind"] == "speech" and _has(normalise(e["text"]), quote)]


def _shown(events: list[dict], text: str) -> list[dict]:
    return [e for e in events if e["kind"] == "text" and e["text"] == text]


def _visible_at(events: list[dict], t: float) -> list[dict]:
    return [e for e in events if e["kind"] == "text" and e["start"] <= t <= e["end"]]


QUESTION_WORDS = {
    *["the", "a", "an", "what", "which", "is", "are", "on", "in", "at", "of", "to", "about", "while", "when", "does", "do"],
    *["right", "after", "just", "immediately", "screen", "shown", "show"],
}


def _content(text: str) -> set[str]:
    return set(normalise(text).split()) - QUESTION_WORDS - set(",.?'")


def _speech_named_by(question: str, events: list[dict]) -> dict:
    """The one utterance sharing the most words with a question that names it by topic."""
    scored = sorted(
        ((len(_content(question) & set(normalise(e["text"]).split())), i) for i, e in enumerate(events) if e["kind"] == "speech")
    )
    (best, index), (runner_up, _) = scored[-1], scored[-2]
    assert best > runner_up, question
    return events[index]


def _asked_time(question: str) -> float:
    clock = re.search(r"(\d+):(\d{2})", question)
    if clock:
        return int(clock.group(1)) * 60 + int(clock.group(2))
    return 60 * int(re.search(r"(\d+)[- ]minute", question).group(1))  # type: ignore[union-attr]


# --- the video ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_every_showing_is_readable_at_the_working_resolution_while_up_and_gone_around_it(built, events, ocr) -> None:
    for event in (e for e in events if e["kind"] == "text"):
        inside = [event["start"] + 0.25, (event["start"] + event["end"]) / 2, event["end"] - 0.25]
        for t, seen in zip(inside, _read(ocr, built.video, inside)):
            assert _has(seen, event["text"]), (event["id"], t, seen)
        around = [t for t in (event["start"] - 0.5, event["end"] + 0.5) if not _visible_at(events, t)]
        for t, seen in zip(around, _read(ocr, built.video, around)):
            assert not _has(seen, event["text"]), (event["id"], t, seen)


@pytest.mark.slow
@pytest.mark.integration
def test_no_notice_is_on_screen_at_random_other_times(built, events, ocr) -> None:
    rng = random.Random(0)
    texts = {e["text"] for e in events if e["kind"] == "text"}
    times: list[float] = []
    while len(times) < 12:
        t = rng.uniform(0, built.scenario.duration - 1)
        if not any(e["start"] - 1 <= t <= e["end"] + 1 for e in events if e["kind"] == "text"):
            times.append(t)
    for t, seen in zip(times, _read(ocr, built.video, times)):
        assert not any(_has(seen, text) for text in texts), (t, seen)


@pytest.mark.slow
@pytest.mark.integration
def test_every_utterance_is_heard_at_its_true_time_and_silence_elsewhere(built, events) -> None:
    from perception.speech import WhisperSpeech, locate_whisper

    speech = WhisperSpeech(locate_whisper("tiny.en"))
    audio = _audio(built.video)
    rate = 16000
    speaking = np.zeros(len(audio), dtype=bool)
    utterances = [e for e in events if e["kind"] == "speech"]
    for event in utterances:
        speaking[int(event["start"] * rate) : int(event["end"] * rate)] = True
    quiet = float(np.sqrt(np.mean(audio[~speaking] ** 2)))
    for event in utterances:
        subject = built.scenario.subject(event["subject"])
        start, end = int(event["start"] * rate), int(event["end"] * rate)
        loud = float(np.sqrt(np.mean(audio[start:end] ** 2)))
        assert loud > 100 * max(quiet, 1e-6)
        assert float(np.sqrt(np.mean(audio[start - rate // 2 : start] ** 2))) < 0.01 * loud  # nothing before it starts
        heard = normalise(" ".join(u.text for u in speech.transcribe(audio[start - rate : end + rate], offset=0)))
        assert _has(heard, subject.quote), (subject.quote, heard)
        if subject.value:
            assert _has(heard, subject.value), (subject.value, heard)
    rng = random.Random(1)
    for _ in range(5):
        t = rng.uniform(2, built.scenario.duration - 6)
        if speaking[int((t - 1) * rate) : int((t + 5) * rate)].any():
            continue
        assert speech.transcribe(audio[int(t * rate) : int((t + 4) * rate)]) == []


@pytest.mark.slow
@pytest.mark.integration
def test_events_are_honest_needles(built, events) -> None:
    for event in events:
        for edge in (event["start"], event["end"]):
            assert min(edge % SEGMENT, SEGMENT - edge % SEGMENT) >= ALIGN_GUARD - 1e-9, event
    said = [e for e in events if e["kind"] == "speech"]
    assert any(int(e["start"] // SEGMENT) != int(e["end"] // SEGMENT) for e in said)  # speech across a segment edge
    showings = Counter(e["text"] for e in events if e["kind"] == "text")
    assert 1 in showings.values() and max(showings.values()) >= 2 and max(showings.values()) <= 4
    lengths = [e["end"] - e["start"] for e in events if e["kind"] == "text"]
    assert min(lengths) < 5 and max(lengths) > 12 and min(lengths) >= 2
    looks = [e["look"] for e in events if e["kind"] == "text"]
    assert len({lk["size"] for lk in looks}) >= 4 and len({(lk["x"], lk["y"]) for lk in looks}) == len(looks)
    assert len({lk["font"] for lk in looks}) >= 2


# --- the questions --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_every_type_is_asked_in_both_formats_where_it_has_both(built) -> None:
    formats: dict[str, set[str]] = {}
    for item in built.items:
        formats.setdefault(item.buckets["type"], set()).add(item.buckets["format"])
        assert (item.answer is not None) != (item.truth is not None), item.id
        assert item.video == built.video
    assert set(formats) == set(TYPES) and len(TYPES) >= 12
    assert all(fmt == {"choice", "free"} for kind, fmt in formats.items() if kind != "absent_choice")
    assert len({i.id for i in built.items}) == len(built.items)
    assert len({i.question for i in built.items}) >= 0.8 * len(built.items)  # several phrasings, few repeats


@pytest.mark.slow
@pytest.mark.integration
def test_every_truth_follows_from_the_raw_events(built, events) -> None:
    for item in built.items:
        _check_truth(item, events)


def _right(item) -> str:
    """The right option's text, or the free truth's accepted phrase."""
    if item.answer is not None:
        return item.answer_text
    assert isinstance(item.truth, Mention)
    return item.truth.accept[0]


def _check_truth(item, events: list[dict]) -> None:
    kind, quoted = item.buckets["type"], _quoted(item.question)
    if kind == "when":
        start, end = item.answer_span
        matches = [e for e in events if (e["start"], e["end"]) == (start, end)]
        assert len(matches) == 1
        (event,) = matches
        if quoted and event["kind"] == "text":
            assert event["text"] == quoted[0]
            ordinal = (
                "first" if "first" in item.question else "last" if ("last" in item.question or "final" in item.question) else ""
            )
            showings = _shown(events, quoted[0])
            assert event == {"first": showings[0], "last": showings[-1], "": showings[0]}[ordinal] and (
                ordinal or len(showings) == 1
            )
        elif quoted:
            assert _speech_saying(events, quoted[0]) == [event]
        if item.truth is not None:
            assert item.truth == Span(start, end)
    elif kind == "count":
        count = len(_shown(events, quoted[0]))
        assert 1 <= count <= 4
        assert (
            item.truth == Count(count) if item.truth else item.answer_text == {1: "Once", 2: "Twice"}.get(count, f"{count} times")
        )
    elif kind == "duration":
        first = _shown(events, quoted[0])[0]
        seconds = first["end"] - first["start"]
        if item.truth is not None:
            assert isinstance(item.truth, Duration) and abs(item.truth.seconds - seconds) < 0.01
        else:
            assert item.answer_text == f"About {round(seconds)} seconds"
    elif kind in ("at_time", "code_at"):
        t = _asked_time(item.question)
        (visible,) = _visible_at(events, t)
        assert visible["start"] + 3 <= t <= visible["end"] - 3
        right = _right(item)
        assert right == visible["text"] if kind == "at_time" else visible["text"].endswith(f" CODE {right}")
    elif kind in ("right_after", "while"):
        said = _speech_saying(events, quoted[0])[0] if quoted else _speech_named_by(item.question, events)
        texts = [e for e in events if e["kind"] == "text"]
        if kind == "right_after":
            after = min((e for e in texts if e["start"] >= said["end"]), key=lambda e: e["start"])
            assert 0.8 - 0.06 <= after["start"] - said["end"] <= 4.06 and after["text"] == _right(item)
        else:
            (during,) = [e for e in texts if e["start"] < said["start"] and e["end"] > said["end"]]
            assert during["text"] == _right(item)
    elif kind == "first_last":
        last = "last" in item.question or "final" in item.question
        if item.answer is not None:
            firsts = {o: (_shown(events, o)[-1 if last else 0]["start"]) for o in item.options}
            assert item.answer_text == (max if last else min)(firsts, key=firsts.get)
        elif "said" in item.question or "words" in item.question:
            first = min((e for e in events if e["kind"] == "speech"), key=lambda e: e["start"])
            assert _has(normalise(first["text"]), _right(item))
        else:
            texts = sorted((e for e in events if e["kind"] == "text"), key=lambda e: e["start"])
            assert _right(item) == texts[-1 if last else 0]["text"]
    elif kind == "order":
        _check_order(item, events, quoted + [q for option in item.options for q in _quoted(option)])
    elif kind == "exists":
        present = bool(_shown(events, quoted[0]) or _speech_saying(events, quoted[0])) if quoted else False
        assert (item.truth == YesNo(present)) if item.truth else item.answer_text == ("Yes" if present else "No")
        if not quoted:  # "any mention of <topic>": a topic this video never speaks of
            topic = _content(re.search(r"(?:mention of|anything about) (.+)\?$", item.question).group(1))  # type: ignore[union-attr]
            assert not any(topic <= set(normalise(e["text"]).split()) for e in events), topic
    elif kind == "absent_choice":
        assert item.answer_text in ABSENT_OPTIONS
        assert not item.extras["events"]
    else:  # lookup, said_about: the value is said or shown; the same sentence or notice with a rival value is not
        if item.truth is not None:
            assert isinstance(item.truth, Mention)
            right, rivals = normalise(item.truth.accept[0]), [normalise(r) for r in item.truth.rivals]
        else:
            options = [o for o in item.options if o not in ABSENT_OPTIONS]
            common = set.intersection(*(set(normalise(o).split()) for o in options))
            right = " ".join(w for w in normalise(item.answer_text).split() if w not in common)
            rivals = [" ".join(w for w in normalise(o).split() if w not in common) for o in options if o != item.answer_text]
        holders = [normalise(e["text"]) for e in events if _has(normalise(e["text"]), right)]
        assert holders, (item.id, right)
        everything = {normalise(e["text"]) for e in events}
        for rival in rivals:
            for text in holders:
                assert f" {text} ".replace(f" {right} ", f" {rival} ").strip() not in everything, (item.id, rival)


def _check_order(item, events: list[dict], quoted: list[str]) -> None:
    def when(phrase: str) -> float | None:
        hits = _shown(events, phrase) + _speech_saying(events, phrase)
        assert len(hits) <= 1
        return hits[0]["start"] if hits else None

    times = {q: when(q) for q in quoted}
    missing = [q for q, t in times.items() if t is None]
    if item.answer is not None:
        if missing:
            assert item.answer_text in NEVER_OPTIONS
        else:
            assert _quoted(item.answer_text)[0] == min(times, key=times.get)
    elif missing:
        assert item.truth == Absent()
    else:
        assert item.truth == Mention((min(times, key=times.get),), (max(times, key=times.get),))
    assert len(missing) <= 1


# --- building ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_a_seed_rebuilds_the_same_video_and_questions_and_a_damaged_one_is_rebuilt(built, media, tmp_path) -> None:
    suite = NeedleSuite(tmp_path, "ci", media=media)
    (again,) = suite.build()
    assert again.scenario == built.scenario
    assert [(i.id, i.question, i.options, i.answer, i.truth) for i in again.items] == [
        (i.id, i.question, i.options, i.answer, i.truth) for i in built.items
    ]
    assert again.video.read_bytes() == built.video.read_bytes()
    built_at = again.video.stat().st_mtime_ns
    (reused,) = suite.build()
    assert reused.video.stat().st_mtime_ns == built_at
    with again.video.open("r+b") as handle:
        handle.truncate(1000)
    (repaired,) = suite.build()
    assert repaired.video.stat().st_size == built.video.stat().st_size
    (other,) = NeedleSuite(tmp_path, "ci", media=media, seeds=[8]).build()
    assert [(e.start, e.text) for e in other.scenario.events] != [(e.start, e.text) for e in built.scenario.events]
    assert not list(tmp_path.rglob(".building-*"))


def test_the_sets_are_registered_by_variant(tmp_path: Path, media: Path) -> None:
    assert isinstance(get_dataset("needle", tmp_path), NeedleSuite)
    for variant in ("full", "heldout", "heldout2", "ci"):
        dataset = get_dataset(f"needle:{variant}", tmp_path, media=media)
        assert isinstance(dataset, NeedleSuite) and dataset.variant == variant and dataset.macro_over in dataset.bucket_keys
    assert get_dataset("needle:full", tmp_path).recipe.split == "main"
    assert get_dataset("needle:heldout", tmp_path).recipe.split == "heldout"
    assert get_dataset("needle:classic", tmp_path).version == "longshot-needle-1"
    with pytest.raises(DatasetError, match="no needle set 'huge'"):
        get_dataset("needle:huge", tmp_path)
    with pytest.raises(DatasetError, match="one length per seed"):
        get_dataset("needle:ci", tmp_path, seeds=[1, 2], minutes=[5, 6, 7])


def test_the_full_sets_are_long_enough_and_the_heldout_one_shares_nothing(tmp_path: Path) -> None:
    from evals.needles.content import POOLS
    from evals.needles.suite import RECIPES

    for name in ("full", "heldout", "heldout2"):
        recipe = RECIPES[name]
        assert len(recipe.videos) >= 3 and all(30 <= minutes <= 60 for _, minutes in recipe.videos)
    full, heldout, heldout2 = RECIPES["full"], RECIPES["heldout"], RECIPES["heldout2"]
    assert len({s for recipe in (full, heldout, heldout2) for s, _ in recipe.videos}) == 9
    assert not {s for s, _ in full.videos} & {s for s, _ in heldout.videos}
    assert not set(full.footage) & set(heldout.footage)
    main, held = POOLS[full.split], POOLS[heldout.split]
    assert not {f.template for f in main.announcements + main.notices} & {f.template for f in held.announcements + held.notices}
    assert not set(main.code_labels) & set(held.code_labels)


def test_the_media_folder_comes_from_the_option_or_the_environment_and_its_absence_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LONGSHOT_MEDIA", str(tmp_path))
    assert resolve_media() == tmp_path
    (tmp_path / "named").mkdir()
    assert resolve_media(tmp_path / "named") == tmp_path / "named"  # an explicit folder wins over the environment
    with pytest.raises(MediaFolderError, match="does not exist"):
        resolve_media(tmp_path / "nowhere")
    monkeypatch.setenv("LONGSHOT_MEDIA", str(tmp_path / "gone"))
    with pytest.raises(MediaFolderError, match="LONGSHOT_MEDIA"):
        list(NeedleSuite(tmp_path / "sets", "ci").items())
    # installed, with no checkout beside it and nothing named: the error says how to name the folder
    monkeypatch.delenv("LONGSHOT_MEDIA")
    monkeypatch.setattr(media_module, "_CHECKOUT", tmp_path / "site-packages")
    with pytest.raises(MediaFolderError, match="--media PATH, LONGSHOT_MEDIA=PATH"):
        resolve_media()


def test_the_eval_command_takes_the_media_folder_and_names_a_missing_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evals.cli import cli

    common = ["eval", "--root", str(tmp_path / "sets"), "--home", str(tmp_path / "home"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, [*common, "--dataset", "needle:ci", "--media", str(tmp_path / "nowhere")])
    assert result.exit_code != 0 and f"the media folder {tmp_path / 'nowhere'} does not exist" in result.output
    assert not (tmp_path / "sets").exists() or not any((tmp_path / "sets").iterdir())
    result = CliRunner().invoke(cli, [*common, "--dataset", "jsonl", "--media", str(tmp_path)])
    assert result.exit_code != 0 and "--media is for the needle sets" in result.output
