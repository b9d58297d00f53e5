"""Voice detection alone: Whisper hears only the stretch from the first loud window to the last,
padded, and nothing of a quiet span."""

from __future__ import annotations

import numpy as np

from memory.ingest.perceive import AUDIO_RATE, SPEECH_PAD_S, SPEECH_WINDOW_S, loud_stretch

WINDOW = int(SPEECH_WINDOW_S * AUDIO_RATE)
PAD = int(SPEECH_PAD_S * AUDIO_RATE)


def audio(seconds: float, loud: list[tuple[float, float]], level: float = 0.1) -> np.ndarray:
    samples = np.random.default_rng(0).normal(0, 1e-4, int(seconds * AUDIO_RATE)).astype(np.float32)  # hiss
    for start, end in loud:
        samples[int(start * AUDIO_RATE) : int(end * AUDIO_RATE)] = level
    return samples


def test_quiet_or_empty_audio_has_nothing_to_hear():
    assert loud_stretch(np.zeros(0, np.float32)) is None
    assert loud_stretch(audio(10.0, [])) is None
    assert loud_stretch(audio(10.0, [(3.0, 4.0)], level=0.001)) is None  # below about -50 dBFS


def test_the_stretch_runs_from_the_first_loud_window_to_the_last_padded():
    first, last = loud_stretch(audio(20.0, [(5.0, 6.0), (12.2, 13.0)]))
    assert first == 5 * AUDIO_RATE - PAD
    assert last == 13 * AUDIO_RATE + PAD  # the window holding 12.5-13.0 s, padded


def test_the_padding_stops_at_the_ends():
    samples = audio(3.0, [(0.0, 0.2), (2.9, 3.0)])
    assert loud_stretch(samples) == (0, samples.size)


def test_a_partial_last_window_counts():
    samples = audio(10.3, [(10.1, 10.3)])
    first, last = loud_stretch(samples)
    assert first == 20 * WINDOW - PAD and last == samples.size
