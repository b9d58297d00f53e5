"""The needle pools: near misses differ by one word, the splits share nothing, and every announcement is heard as written."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evals.grading import normalise
from evals.needles.content import CODE_DIGITS, CODE_LETTERS, POOLS, READINGS, make_code, near_miss_codes
from evals.needles.media import SAMPLE_RATE, synthesise
from evals.needles.scenario import VOICES


def _words(text: str) -> list[str]:
    return [w for w in normalise(text).split() if w.isalnum()]


def test_decoys_and_values_are_near_misses_of_what_is_said() -> None:
    for pool in POOLS.values():
        for fact in pool.announcements:
            quote, decoy = _words(fact.quote), _words(fact.decoy)
            assert len(quote) == len(decoy) and sum(a != b for a, b in zip(quote, decoy)) == 1, fact.decoy
            assert " ".join(quote) in " ".join(_words(fact.text(fact.values[0])))  # the quote is said whatever the slot
            assert fact.topic and fact.claim.count("{}") == 1 and fact.question.endswith("?")
        for fact in pool.announcements + pool.notices:
            assert len(set(fact.values)) == len(fact.values) >= 4 and fact.template.count("{}") == 1
    for phrase, *variants in READINGS.values():
        assert all(sum(a != b for a, b in zip(_words(phrase), _words(v))) == 1 for v in variants)


def test_codes_avoid_look_alike_characters_and_near_misses_change_one() -> None:
    rng = random.Random(0)
    for _ in range(200):
        code = make_code(rng)
        assert not set(code) & set("B8OQ0IL1S5Z2GUV")
        for miss in near_miss_codes(code, rng, 4):
            assert len(miss) == len(code) and sum(a != b for a, b in zip(code, miss)) == 1
            assert set(miss) <= set(CODE_LETTERS + CODE_DIGITS + "-")


@pytest.mark.slow
def test_every_announcement_is_heard_word_for_word_with_every_value() -> None:
    from perception.speech import WhisperSpeech, locate_whisper

    speech = WhisperSpeech(locate_whisper("tiny.en"))
    missed = []
    for pool in POOLS.values():
        for fact in pool.announcements:
            for value in fact.values:
                for voice, rate in VOICES:
                    samples = synthesise(fact.text(value), voice, rate).astype(np.float32) / 32768
                    pad = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
                    heard = f" {normalise(' '.join(u.text for u in speech.transcribe(np.concatenate([pad, samples, pad]))))} "
                    if f" {normalise(fact.quote)} " not in heard or f" {normalise(value)} " not in heard:
                        missed.append((fact.text(value), voice, rate, heard))
    assert not missed, missed
