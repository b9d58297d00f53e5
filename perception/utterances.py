"""Word-timed speech into utterances with exact times, and which utterances a span of video owns.

Whisper's segments are a decoding unit, not a unit of meaning: one can hold two sentences
spliced seconds apart, or stop mid-sentence, and it carries only a start and an end. Ingest
used to file a segment's whole text under the base segment its start fell in, so the words
of a sentence that began late in one 10 s segment were stored (and found) a segment too early.
Here the words, each timed by faster-whisper's alignment, are regrouped:

- `utterances`: a new utterance after sentence-final punctuation or a pause of PAUSE_S, and
  no utterance longer than MAX_UTTERANCE_S (split at its last clause mark, else its longest
  pause), so every utterance is a sentence or a clause-bounded run of words.
- `fit_to_sound`: an utterance's first and last word are checked against the audio's own
  energy, so leading silence or voice-activity padding (faster-whisper pads 0.4 s, and its
  alignment puts a first word at the padded start) cannot move an utterance earlier or let it
  run on later than the sound. Where the audio is loud throughout (music, noise) nothing moves.
- `hear_span`: a span of video owns the utterances that start in it. Its audio is read
  with CONTEXT_BEFORE_S before it and CONTEXT_AFTER_S after it (`audio_window`): a sentence that
  runs past the span's end is heard whole, and the tail of one begun before its start is seen
  to have begun there and is left to the span before. Since MAX_UTTERANCE_S fits in the context
  after, an owned utterance is never cut. The result depends on the span alone, so ingest
  resumed after a crash hears exactly what an uninterrupted run heard. Where nothing in the span
  is loud enough to start an utterance (`start_window`), Whisper is not called: a sentence in the
  context of a silent span is heard once, by the span it starts in, not by its neighbours too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16000
PAUSE_S = 1.0  # silence between two words that ends an utterance even without punctuation
MAX_UTTERANCE_S = 12.0
CONTEXT_BEFORE_S = 3.0
CONTEXT_AFTER_S = 12.0  # >= MAX_UTTERANCE_S, so an utterance that starts in a span ends inside its audio
FRAME_S = 0.02  # loudness is measured over frames this long
FLOOR_PERCENTILE = 10  # the quietest tenth of an audio's frames is its floor
LOUD_ABOVE_FLOOR_DB = 15.0
LOUD_AT_LEAST_DBFS = -55.0
MAX_SHIFT_S = 1.0  # fit_to_sound moves a start or an end at most this far
SILENCE_DBFS = -120.0  # digital silence, as a number percentiles can use
STRETCH_MIN_DBFS = -50.0  # no frame louder than this anywhere: nothing to transcribe
STRETCH_PAD_S = 1.0  # sound kept around the loud stretch, so a quiet first or last word is not cut
LOUD_MARGIN = 0.99  # of the energy at STRETCH_MIN_DBFS (0.04 dB): far more than float32 sums are off by

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_CLAUSE_END = re.compile(r"[,;:—–][\"'”’)\]]*$")
_ABBREVIATIONS = frozenset(["mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "mt", "vs", "fig"])


@dataclass(frozen=True)
class Word:
    """One recognised word and when it was said, in seconds on the caller's clock."""

    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Utterance:
    """A sentence, or a clause-bounded run of words, with its own start and end and its words' times."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


class Transcriber(Protocol):
    def transcribe(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, offset: float = 0.0) -> list[Utterance]: ...


def utterances(words: Sequence[Word]) -> list[Utterance]:
    """Words (with the spacing Whisper gave them) grouped into utterances, in time order."""
    groups: list[list[Word]] = []
    for word in words:
        if groups and not _ends_utterance(groups[-1][-1], word):
            groups[-1].append(word)
        else:
            groups.append([word])
    return [_utterance(piece) for group in groups for piece in _bounded(group)]


def fit_to_sound(utterance: Utterance, loud: np.ndarray, offset: float = 0.0) -> Utterance:
    """The utterance with its start moved forward over quiet to the first loud frame, and its
    end back to the last loud one, each by at most MAX_SHIFT_S; unchanged where no loud frame
    is near. `loud` is `loud_frames` of the audio the utterance was heard in, which began at `offset`."""
    if not loud.any():
        return utterance
    first = int(np.floor((utterance.start - offset) / FRAME_S))
    last = int(np.ceil((utterance.end - offset) / FRAME_S))
    first, last = max(first, 0), min(last, loud.size)
    if first >= last:
        return utterance
    inside = np.flatnonzero(loud[first:last])
    if not inside.size:
        return utterance
    start, end = utterance.start, utterance.end
    onset = float(offset + (first + inside[0]) * FRAME_S)
    if 0 < onset - start <= MAX_SHIFT_S:
        start = onset
    ending = float(offset + (first + inside[-1] + 1) * FRAME_S)
    if 0 < end - ending <= MAX_SHIFT_S:
        end = max(ending, start)
    if (start, end) == (utterance.start, utterance.end):
        return utterance
    words = tuple(replace(w, start=min(max(w.start, start), end), end=min(max(w.end, start), end)) for w in utterance.words)
    return replace(utterance, start=start, end=end, words=words)


def loudness_db(audio: np.ndarray) -> np.ndarray:
    """Loudness of each FRAME_S frame of 16 kHz audio, in dB of full scale (SILENCE_DBFS at the quietest)."""
    if audio.size == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(_framed(np.asarray(audio, np.float64)) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 10 ** (SILENCE_DBFS / 20)))


def _framed(samples: np.ndarray) -> np.ndarray:
    """`samples` as rows of one FRAME_S frame each, the last padded with zeros."""
    size = int(FRAME_S * SAMPLE_RATE)
    return np.pad(samples, (0, -samples.size % size)).reshape(-1, size)


def loud_frames(audio: np.ndarray) -> np.ndarray:
    """Which frames stand out from the audio's own floor (LOUD_ABOVE_FLOOR_DB above its quietest
    tenth, and at least LOUD_AT_LEAST_DBFS): where something is said or played."""
    db = loudness_db(audio)
    if not db.size:
        return np.zeros(0, bool)
    floor = np.percentile(db, FLOOR_PERCENTILE)
    return db >= max(floor + LOUD_ABOVE_FLOOR_DB, LOUD_AT_LEAST_DBFS)


def loud_stretch(audio: np.ndarray) -> tuple[int, int] | None:
    """(first, end) sample of the stretch from the first to the last frame louder than
    STRETCH_MIN_DBFS, STRETCH_PAD_S wider each side; None when all is quiet. Whisper then skips
    the silence around speech, and a silent span costs nothing."""
    loud = np.flatnonzero(loudness_db(audio) >= STRETCH_MIN_DBFS)
    if not loud.size:
        return None
    size, pad = int(FRAME_S * SAMPLE_RATE), int(STRETCH_PAD_S * SAMPLE_RATE)
    return max(0, int(loud[0]) * size - pad), min(audio.size, (int(loud[-1]) + 1) * size + pad)


def may_be_loud(audio: np.ndarray) -> bool:
    """Whether `loud_stretch` may find a stretch in `audio`: some frame's float32 energy within a
    hair (LOUD_MARGIN) of STRETCH_MIN_DBFS. It never says no where `loud_stretch` would find one,
    at a fiftieth of its cost, so the quiet spans of a long video cost next to nothing to rule out."""
    frames = _framed(np.asarray(audio, np.float32))
    energy = np.einsum("ij,ij->i", frames, frames)
    return bool(energy.size) and float(energy.max()) >= LOUD_MARGIN * frames.shape[1] * 10 ** (STRETCH_MIN_DBFS / 10)


def start_window(start: float, end: float) -> tuple[float, float]:
    """The audio in which an utterance that starts in the span [start, end) must be loud: the span, and
    after it the STRETCH_PAD_S that `loud_stretch` keeps before a loud frame for a quiet first word."""
    return start, end + STRETCH_PAD_S


def audio_window(start: float, end: float) -> tuple[float, float]:
    """The audio to read for the span [start, end) of a video: the span and its context."""
    return max(0.0, start - CONTEXT_BEFORE_S), end + CONTEXT_AFTER_S


@dataclass(frozen=True)
class SpanSpeech:
    """What a span heard: the utterances that start in it, and the seconds of audio Whisper was given for them."""

    utterances: tuple[Utterance, ...] = ()
    heard_s: float = 0.0


def hear_span(speech: Transcriber, audio: np.ndarray, audio_start: float, start: float, end: float) -> SpanSpeech:
    """The utterances that start in [start, end), whole, heard in `audio` (16 kHz mono, read from
    `audio_window(start, end)`, beginning at `audio_start` seconds), and how much of it Whisper heard.
    Whisper hears the loud stretch, and only where the span's `start_window` may be loud: a silent
    span calls no model, and a sentence in its context is heard only by the span it starts in."""
    own = [max(0, round((t - audio_start) * SAMPLE_RATE)) for t in start_window(start, end)]
    if not may_be_loud(audio[own[0] : own[1]]):
        return SpanSpeech()
    stretch = loud_stretch(audio)
    if stretch is None:
        return SpanSpeech()
    first, last = stretch
    heard = speech.transcribe(audio[first:last], SAMPLE_RATE, offset=audio_start + first / SAMPLE_RATE)
    return SpanSpeech(tuple(u for u in heard if start <= u.start < end), (last - first) / SAMPLE_RATE)


def _ends_utterance(last: Word, following: Word) -> bool:
    return following.start - last.end >= PAUSE_S or _ends_sentence(last.text)


def _ends_sentence(text: str) -> bool:
    text = text.strip()
    if not _SENTENCE_END.search(text):
        return False
    bare = re.sub(r"\W", "", text).lower()
    return not (bare in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha()))  # "Mr.", "J."


def _bounded(group: list[Word]) -> list[list[Word]]:
    """A group longer than MAX_UTTERANCE_S split at its last clause mark (else its longest pause)
    that leaves the first part short enough, again until every part fits."""
    if len(group) < 2 or group[-1].end - group[0].start <= MAX_UTTERANCE_S:
        return [group]
    cuts = range(1, len(group))  # a cut at i splits before group[i]
    fitting = [i for i in cuts if group[i - 1].end - group[0].start <= MAX_UTTERANCE_S] or [1]
    clauses = [i for i in fitting if _CLAUSE_END.search(group[i - 1].text.strip())]
    cut = clauses[-1] if clauses else max(fitting, key=lambda i: (group[i].start - group[i - 1].end, i))
    return [group[:cut], *_bounded(group[cut:])]


def _utterance(words: list[Word]) -> Utterance:
    text = "".join(w.text for w in words).strip()
    return Utterance(words[0].start, words[-1].end, text, tuple(replace(w, text=w.text.strip()) for w in words))
