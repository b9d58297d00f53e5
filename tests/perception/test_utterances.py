"""Exact speech times: words regrouped into utterances, fitted to the sound, owned by the span they start in.

The slow tests splice real speech (espeak-ng sentences, LibriVox readings) into silence, noise
and a real soundtrack at random non-integer seconds, hear it span by span as ingest does, and
check every utterance's start against where the speech really begins.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.sample_video import speak
from evals.metrics import word_error_rate, words
from evals.needles.media import librivox
from perception.speech import WhisperSpeech, locate_whisper
from perception.utterances import (
    CONTEXT_AFTER_S,
    MAX_SHIFT_S,
    MAX_UTTERANCE_S,
    SAMPLE_RATE,
    STRETCH_MIN_DBFS,
    STRETCH_PAD_S,
    SpanSpeech,
    Utterance,
    Word,
    audio_window,
    fit_to_sound,
    hear_span,
    loud_frames,
    loud_stretch,
    may_be_loud,
    start_window,
    utterances,
)

SPAN = 30.0  # ingest's default span: 32 frames at 1 fps, rounded to 10 s segments


def said(*timed: tuple[float, float, str]) -> list[Word]:
    """Words as Whisper gives them: each with its leading space."""
    return [Word(start, end, " " + text) for start, end, text in timed]


def test_sentences_split_at_their_punctuation_but_not_after_an_abbreviation():
    found = utterances(said((0.0, 0.4, "Mr."), (0.5, 0.9, "Smith"), (1.0, 1.3, "left."), (1.4, 1.6, "Then"), (1.7, 2.0, "rain!")))
    assert [u.text for u in found] == ["Mr. Smith left.", "Then rain!"]
    assert [(u.start, u.end) for u in found] == [(0.0, 1.3), (1.4, 2.0)]
    assert [w.text for w in found[0].words] == ["Mr.", "Smith", "left."]


def test_a_long_pause_ends_an_utterance_without_punctuation():
    found = utterances(said((0.0, 0.5, "gate"), (0.6, 1.0, "closed"), (2.2, 2.5, "code"), (2.6, 3.0, "four")))
    assert [u.text for u in found] == ["gate closed", "code four"]


def test_hyphenated_pieces_join_without_a_space():
    found = utterances([Word(0.0, 0.4, " cold"), Word(0.4, 0.8, "-hearted"), Word(0.9, 1.2, " man.")])
    assert found[0].text == "cold-hearted man."


def test_a_run_on_sentence_is_split_at_a_clause_mark_into_parts_no_longer_than_the_limit():
    timed = [(i * 0.5, i * 0.5 + 0.4, f"w{i}" + ("," if i == 15 else "")) for i in range(40)]  # 20 s, one comma
    found = utterances(said(*timed))
    assert all(u.end - u.start <= MAX_UTTERANCE_S for u in found)
    assert found[0].text.endswith("w15,")  # the clause mark, not the longest stretch that fits
    assert " ".join(u.text for u in found) == " ".join(text for *_, text in timed)


def test_without_a_clause_mark_a_long_run_is_split_at_its_longest_pause():
    timed = [(i * 0.5 + (0.6 if i >= 9 else 0.0), i * 0.5 + 0.4 + (0.6 if i >= 9 else 0.0), f"w{i}") for i in range(36)]
    found = utterances(said(*timed))
    assert found[0].words[-1].text == "w8"
    assert all(u.end - u.start <= MAX_UTTERANCE_S for u in found)


def burst(at: float, seconds: float, total: float, level: float = 0.3, floor: np.ndarray | None = None) -> np.ndarray:
    """A 220 Hz burst at `at` s in `total` s of silence (or of `floor`)."""
    audio = np.zeros(int(total * SAMPLE_RATE), np.float32) if floor is None else floor.copy()
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    first = int(at * SAMPLE_RATE)
    audio[first : first + t.size] += (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return audio


def test_a_start_in_leading_silence_moves_forward_to_the_sound():
    audio = burst(2.37, 1.5, 5.0)
    padded = Utterance(1.97 + 100, 3.87 + 100, "x", (Word(1.97 + 100, 2.5 + 100, "x"),))  # heard 0.4 s early, as VAD pads
    fitted = fit_to_sound(padded, loud_frames(audio), offset=100.0)
    assert abs(fitted.start - 102.37) <= 0.02
    assert fitted.words[0].start == fitted.start
    assert fitted.end == padded.end  # already at the sound's end


def test_an_end_in_trailing_silence_moves_back_to_the_sound():
    audio = burst(1.0, 1.0, 5.0)
    fitted = fit_to_sound(Utterance(1.0, 2.8, "x"), loud_frames(audio))
    assert abs(fitted.end - 2.0) <= 0.02 and fitted.start == 1.0


def test_nothing_moves_where_the_audio_is_loud_throughout_or_the_sound_is_too_far():
    rng = np.random.default_rng(1)
    noise = (0.2 * rng.standard_normal(5 * SAMPLE_RATE)).astype(np.float32)
    loud_everywhere = Utterance(1.2, 2.2, "x")
    assert fit_to_sound(loud_everywhere, loud_frames(burst(2.0, 1.0, 5.0, floor=noise))) == loud_everywhere
    far = Utterance(0.5, 5.0, "x")  # the sound is 2.5-3.5 s: both ends more than MAX_SHIFT_S from it
    assert fit_to_sound(far, loud_frames(burst(2.5, 1.0, 5.0))) == far
    assert MAX_SHIFT_S < 2.0


def hiss_with(seconds: float, loud: list[tuple[float, float]], level: float = 0.1) -> np.ndarray:
    samples = np.random.default_rng(0).normal(0, 1e-4, int(seconds * SAMPLE_RATE)).astype(np.float32)  # about -80 dBFS
    for start, end in loud:
        samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] = level
    return samples


def test_quiet_or_empty_audio_has_no_loud_stretch():
    assert loud_stretch(np.zeros(0, np.float32)) is None
    assert loud_stretch(np.zeros(SAMPLE_RATE * 3, np.float32)) is None
    assert loud_stretch(hiss_with(10.0, [])) is None
    assert loud_stretch(hiss_with(10.0, [(3.0, 4.0)], level=0.001)) is None  # -60 dBFS: below STRETCH_MIN_DBFS


def test_the_loud_stretch_runs_from_the_first_loud_frame_to_the_last_padded():
    pad = int(STRETCH_PAD_S * SAMPLE_RATE)
    assert loud_stretch(hiss_with(20.0, [(5.0, 6.0), (12.2, 13.0)])) == (5 * SAMPLE_RATE - pad, 13 * SAMPLE_RATE + pad)
    first, last = loud_stretch(burst(4.0, 1.0, 10.0))
    assert first == pytest.approx(3.0 * SAMPLE_RATE, abs=0.03 * SAMPLE_RATE)
    assert last == pytest.approx(6.0 * SAMPLE_RATE, abs=0.03 * SAMPLE_RATE)


def test_the_padding_stops_at_the_ends_and_a_partial_last_frame_counts():
    samples = hiss_with(3.0, [(0.0, 0.2), (2.9, 3.0)])
    assert loud_stretch(samples) == (0, samples.size)
    samples = hiss_with(10.31, [(10.1, 10.31)])
    assert loud_stretch(samples) == (int(10.1 * SAMPLE_RATE) - int(STRETCH_PAD_S * SAMPLE_RATE), samples.size)


def test_the_cheap_loudness_check_never_rules_out_what_the_loud_stretch_finds():
    rng = np.random.default_rng(3)
    for db in np.linspace(STRETCH_MIN_DBFS - 0.05, STRETCH_MIN_DBFS + 0.05, 41):
        for seconds in (0.013, 0.02, 1.0, 3.17):  # a partial frame counts, as in loudness_db
            tone = (
                10 ** (db / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE)
            ).astype(np.float32)
            audio = np.concatenate([rng.normal(0, 1e-4, SAMPLE_RATE).astype(np.float32), tone])
            assert may_be_loud(audio) or loud_stretch(audio) is None, (db, seconds)
    assert not may_be_loud(hiss_with(30.0, [])) and not may_be_loud(np.zeros(0, np.float32))
    assert not may_be_loud(hiss_with(30.0, [(3.0, 4.0)], level=10 ** ((STRETCH_MIN_DBFS - 0.5) / 20)))
    assert may_be_loud(hiss_with(30.0, [(29.99, 30.0)]))


def test_the_window_of_a_span_covers_an_utterance_that_starts_at_its_last_moment():
    start, end = audio_window(30.0, 60.0)
    assert start < 30.0 and end >= 60.0 + MAX_UTTERANCE_S
    assert audio_window(0.0, 30.0)[0] == 0.0 and CONTEXT_AFTER_S >= MAX_UTTERANCE_S


class Recorder:
    """Whisper's place at the edge: hears one utterance where each loud stretch it is given first gets loud."""

    def __init__(self) -> None:
        self.given: list[tuple[float, float]] = []  # (offset, seconds) of each call

    def transcribe(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, offset: float = 0.0) -> list[Utterance]:
        self.given.append((offset, samples.size / sample_rate))
        start = offset + float(np.argmax(np.abs(samples) > 0.05)) / sample_rate
        return [Utterance(start, start + 1.0, "heard")]


def hear_30_to_60(track: np.ndarray) -> tuple[SpanSpeech, Recorder]:
    """The span 30-60 s of `track` heard as ingest hears it, and what the transcriber was given."""
    speech = Recorder()
    first, last = audio_window(30.0, 60.0)
    return hear_span(speech, cut(track, first, last), first, 30.0, 60.0), speech


def test_a_silent_span_calls_no_model_though_its_context_speaks():
    heard, speech = hear_30_to_60(hiss_with(100.0, [(27.5, 29.0), (62.0, 64.0)]))
    assert heard == SpanSpeech() and speech.given == []


def test_a_span_that_speaks_hears_the_loud_stretch_of_its_window_and_keeps_what_starts_in_it():
    heard, speech = hear_30_to_60(hiss_with(100.0, [(28.5, 29.0), (45.0, 46.0)]))
    assert len(speech.given) == 1 and speech.given[0][0] == pytest.approx(28.5 - STRETCH_PAD_S)
    assert heard.heard_s == pytest.approx(46.0 - 28.5 + 2 * STRETCH_PAD_S)
    assert heard.utterances == ()  # the stretch begins with the sound before the span: not this span's
    heard, _ = hear_30_to_60(hiss_with(100.0, [(45.0, 46.0)]))
    assert [u.start for u in heard.utterances] == [pytest.approx(45.0)]


def test_sound_just_after_the_span_may_carry_a_quiet_first_word_so_the_span_listens():
    assert len(hear_30_to_60(hiss_with(100.0, [(60.5, 62.0)]))[1].given) == 1
    assert start_window(30.0, 60.0) == (30.0, 60.0 + STRETCH_PAD_S)
    heard, speech = hear_30_to_60(hiss_with(100.0, [(61.5, 62.0)]))  # more than STRETCH_PAD_S after: not the span's
    assert heard == SpanSpeech() and speech.given == []


# -- real speech ------------------------------------------------------------------------------

SENTENCES = (
    "The northern platform will close at nine fifteen tonight.",
    "Please collect your luggage from carousel number four.",
    "The museum exhibit about ancient Egypt opens on Tuesday.",
    "Our next speaker has travelled from the Goddard Space Flight Center.",
    "Remember that the library shuts early on public holidays.",
)


@pytest.fixture(scope="module")
def speech() -> WhisperSpeech:
    return WhisperSpeech(locate_whisper("tiny.en"))


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> list[np.ndarray]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return [speak(text, tmp_path_factory.mktemp("espeak")) for text in SENTENCES]


def onset(clip: np.ndarray) -> float:
    """Seconds into a clip where its sound begins."""
    return float(np.argmax(np.abs(clip) > 0.01)) / SAMPLE_RATE


def splice(track: np.ndarray, clips: list[np.ndarray], rng: np.random.Generator, slot: float) -> list[float]:
    """Each clip mixed in at a random non-integer second of its own `slot`-second slot; where its sound begins."""
    truth = []
    for i, clip in enumerate(clips):
        at = rng.uniform(i * slot + 0.3, (i + 1) * slot - clip.size / SAMPLE_RATE - 0.3)
        first = int(at * SAMPLE_RATE)
        track[first : first + clip.size] += clip
        truth.append(at + onset(clip))
    return truth


def closest(text: str) -> str:
    """The sentence that shares the most words with `text`."""
    return max(SENTENCES, key=lambda sentence: len(set(words(sentence)) & set(words(text))))


def heard(speech: WhisperSpeech, track: np.ndarray) -> list[Utterance]:
    """The track heard span by span, as ingest hears a video."""
    found: list[Utterance] = []
    for start in np.arange(0.0, track.size / SAMPLE_RATE, SPAN):
        first, last = audio_window(start, start + SPAN)
        found += hear_span(speech, cut(track, first, last), first, start, start + SPAN).utterances
    return found


def cut(track: np.ndarray, first: float, last: float) -> np.ndarray:
    """The track from `first` to `last` seconds, as ingest reads a video's audio."""
    return track[int(first * SAMPLE_RATE) : int(last * SAMPLE_RATE)]


def background(kind: str, seconds: float, rng: np.random.Generator, media: Path) -> np.ndarray:
    samples = int(seconds * SAMPLE_RATE)
    if kind == "silence":
        return np.zeros(samples, np.float32)
    if kind == "noise":
        return (0.01 * rng.standard_normal(samples)).astype(np.float32)
    from faster_whisper import decode_audio

    music = decode_audio(str(media / "video/big_buck_bunny_0_30.webm"), sampling_rate=SAMPLE_RATE)
    return 0.5 * np.resize(music, samples).astype(np.float32)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("kind", ["silence", "noise", "soundtrack"])
def test_spliced_sentences_start_within_a_second_of_the_truth(speech, spoken, media, kind):
    rng = np.random.default_rng({"silence": 11, "noise": 12, "soundtrack": 13}[kind])
    slot = 17.0  # five sentences over 85 s: some cross a 30 s span boundary, none sits on a whole second
    track = background(kind, 5 * slot + 5, rng, media)
    truth = splice(track, spoken, rng, slot)
    found = heard(speech, track)
    assert len(found) == len(SENTENCES), [u.text for u in found]  # each once: none cut, none heard twice
    for utterance, begins, sentence in zip(found, truth, SENTENCES):
        assert abs(utterance.start - begins) <= 1.0, (utterance, begins)
        assert closest(utterance.text) == sentence, utterance.text  # heard as itself, not mixed with its neighbours
        assert utterance.words and utterance.words[0].start == utterance.start
        assert all(a.start <= b.start for a, b in zip(utterance.words, utterance.words[1:]))
        if kind == "silence":  # padding cannot pull a start into the silence before the sound
            assert utterance.start >= begins - 0.1, (utterance, begins)


@pytest.mark.slow
@pytest.mark.integration
def test_librivox_readings_spliced_at_random_seconds_start_within_a_second(speech, media):
    rng = np.random.default_rng(7)
    clips = [(reading.samples / 32768.0, reading.transcript) for reading in librivox(media)]
    track = np.zeros(int(75 * SAMPLE_RATE), np.float32)
    truth = splice(track, [clip for clip, _ in clips], rng, slot=25.0)
    found = heard(speech, track)
    references, hypotheses = [], []
    for begins, (_, reference) in zip(truth, clips):
        own = [u for u in found if begins - 1.0 <= u.start <= begins + 15.0]
        assert own and abs(own[0].start - begins) <= 1.0, (begins, found)
        references += words(reference)
        hypotheses += words(" ".join(u.text for u in own))
    assert word_error_rate(references, hypotheses) < 0.25  # every word heard is filed with its own reading


@pytest.mark.slow
@pytest.mark.integration
def test_a_sentence_across_a_span_boundary_comes_back_whole_from_the_span_it_starts_in(speech, media):
    reading = next(r for r in librivox(media) if r.clip.endswith("0870"))  # about 7 s of one sentence
    clip, reference = reading.samples / 32768.0, reading.transcript
    track = np.zeros(int(2 * SPAN * SAMPLE_RATE), np.float32)
    at = SPAN - 3.3  # begins 3.3 s before the boundary, ends about 4 s after it
    track[int(at * SAMPLE_RATE) : int(at * SAMPLE_RATE) + clip.size] += clip
    found = heard(speech, track)
    assert len(found) == 1, [u.text for u in found]
    assert found[0].start < SPAN < found[0].end
    assert word_error_rate(words(reference), words(found[0].text)) < 0.25
    assert re.search(r"power to do for them", found[0].text.lower())
