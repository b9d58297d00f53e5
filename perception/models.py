"""The model roles of one process: parsed from configuration once, loaded on first use, once.

Each role (`models.<role>` = `"<backend>:<model>"` or `"none"`) is parsed when `Models` is
built, so a typo fails at start-up with the key named. Weights are located cheaply (is the
package installed, is the file there? nothing heavy is imported) for `available` and
`doctor`; the heavy load happens on first use of the property, under a per-role lock, and
its outcome, a model or the reason there is none, is kept for the life of the process.
`doctor(load=True)` loads every role, to prove that each one really runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import re
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perception.config import Config
from perception.detect import YoloDetector, locate_yolo_weights
from perception.errors import ConfigError, ModelUnavailableError
from perception.image_embed import ClipEmbedder, PixelEmbedder, locate_clip_weights, parse_clip_model
from perception.ocr import RapidOCR, locate_ocr_models
from perception.speech import WhisperSpeech, locate_whisper
from perception.text_embed import (
    OnnxSentenceEmbedder,
    SentenceEmbedder,
    TextEmbedder,
    locate_onnx_sentence_model,
    locate_sentence_model,
)

log = logging.getLogger(__name__)

ROLES = ("ocr", "speech", "text_embedding", "image_embedding", "detector", "vlm")
DECODERS = (("decord", "decord"), ("pyav", "av"))  # (backend, module)
_DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class RoleStatus:
    role: str
    backend: str
    model: str
    source: str  # where the weights come from, when available
    available: bool
    reason: str  # why not, and what to do, when unavailable


@dataclass(frozen=True)
class ModelSpec:
    backend: str  # "none" when the role is turned off
    model: str

    @property
    def disabled(self) -> bool:
        return self.backend == "none"


@dataclass(frozen=True)
class _Backend:
    locate: Callable[[str], Any]  # cheap: finds the weights or raises ModelUnavailableError
    load: Callable[[Any, str, int, Path], Any]  # (what locate found, device, CPU threads, library home) -> the model


_BACKENDS: dict[str, dict[str, _Backend]] = {
    "ocr": {
        "rapidocr": _Backend(
            locate_ocr_models,
            lambda found, device, threads, home: RapidOCR(found, threads=threads, cache_dir=home / "models" / "ocr"),
        )
    },
    "speech": {
        "faster-whisper": _Backend(
            locate_whisper, lambda found, device, threads, home: WhisperSpeech(found, device=device, cpu_threads=threads)
        )
    },
    "text_embedding": {
        "onnx": _Backend(
            locate_onnx_sentence_model,
            lambda found, device, threads, home: OnnxSentenceEmbedder(found, home / "models" / "text_embedding", threads),
        ),
        "sentence-transformers": _Backend(
            locate_sentence_model, lambda found, device, threads, home: SentenceEmbedder(found, device=_torch(device, threads))
        ),
    },
    "image_embedding": {
        "open_clip": _Backend(
            locate_clip_weights, lambda found, device, threads, home: ClipEmbedder(found, device=_torch(device, threads))
        )
    },
    "detector": {
        "ultralytics": _Backend(
            locate_yolo_weights, lambda found, device, threads, home: YoloDetector(found, device=_torch(device, threads))
        )
    },
    "vlm": {},  # perception.vlm.spec builds its client and checks the rest of the spec
}
_VLM_BACKENDS = ("openai", "llamacpp")


def parse_spec(role: str, value: str, backends: Collection[str]) -> ModelSpec:
    """`"<backend>:<model>"` or `"none"`; ConfigError naming `models.<role>` for anything else."""
    text = value.strip()
    if text.lower() == "none":
        return ModelSpec("none", "")
    backend, colon, model = text.partition(":")
    if not colon or not backend or not model.strip():
        raise ConfigError(f"configuration key 'models.{role}' must be '<backend>:<model>' or 'none', got {value!r}")
    if backend not in backends:
        raise ConfigError(
            f"configuration key 'models.{role}' names an unknown backend {backend!r}; known: {', '.join(sorted(backends))}"
        )
    return ModelSpec(backend, model.strip())


class Models:
    """One per process; properties load their model on first use and raise ModelUnavailableError if they cannot."""

    def __init__(self, config: Config):
        self.config = config
        self.device = config.models.device.strip()
        if not _DEVICE.match(self.device):
            raise ConfigError(f"configuration key 'models.device' must be cpu, cuda, cuda:<n> or mps, got {self.device!r}")
        self.specs = {
            role: parse_spec(role, getattr(config.models, role), _VLM_BACKENDS if role == "vlm" else _BACKENDS[role])
            for role in ROLES
        }
        if self.specs["image_embedding"].backend == "open_clip":
            parse_clip_model(self.specs["image_embedding"].model)
        self._locks = {role: threading.RLock() for role in ROLES}
        self._found: dict[str, Any] = {}  # role -> what locate found, or the ModelUnavailableError it raised
        self._loaded: dict[str, Any] = {}  # role -> the model, or the ModelUnavailableError loading raised
        self._pixels = PixelEmbedder()

    @property
    def ocr(self) -> RapidOCR:
        return self._get("ocr")

    @property
    def speech(self) -> WhisperSpeech:
        return self._get("speech")

    @property
    def text_embedder(self) -> TextEmbedder:
        return self._get("text_embedding")

    @property
    def image_embedder(self) -> ClipEmbedder | PixelEmbedder:
        """CLIP when its weights load; otherwise pixel features, which need none (never raises)."""
        try:
            return self._get("image_embedding")
        except ModelUnavailableError:
            return self._pixels

    @property
    def detector(self) -> YoloDetector:
        return self._get("detector")

    @property
    def vlm(self):
        return self._get("vlm")

    def close(self) -> None:
        """Stop what runs beside this process for a model (a llama.cpp server); it starts again on next use."""
        with self._locks["vlm"]:
            vlm = self._loaded.pop("vlm", None)
        if hasattr(vlm, "close"):
            vlm.close()

    def available(self, role: str) -> bool:
        """Whether the role's model is loaded or its weights are present; no heavy load happens here."""
        return self._status(role).available

    def doctor(self, load: bool = False) -> list[RoleStatus]:
        """Every role and video decoder: backend, model, where its weights come from, or why it is unavailable;
        for a VLM also its context and whether it sees (which may ask its server).

        Without `load` a role is available when its package is installed and its weights are on
        disk; with it, when its model has also loaded.
        """
        if load:
            for role in ROLES:
                with contextlib.suppress(ModelUnavailableError):
                    self._get(role)
        rows = [self._status(role) for role in ROLES]
        rows = [dataclasses.replace(r, source=self.vlm.describe()) if r.role == "vlm" and r.available else r for r in rows]
        return rows + [_decoder_status(backend, module) for backend, module in DECODERS]

    def on_first_use(self, role: str) -> OnFirstUse:
        """The role's model, loaded when something first reads one of its attributes (for holders that may never use it)."""
        return OnFirstUse(self, role)

    def _status(self, role: str) -> RoleStatus:
        if role not in ROLES:
            raise ConfigError(f"unknown model role {role!r}; roles: {', '.join(ROLES)}")
        spec = self.specs[role]
        if spec.disabled:
            fallback = "; pixel features are used for image similarity" if role == "image_embedding" else ""
            return RoleStatus(role, "none", "", "", False, f"turned off (models.{role} = none){fallback}")
        with self._locks[role]:
            try:
                if role == "vlm":
                    client = self._get("vlm")
                    return RoleStatus(role, spec.backend, spec.model, client.source, True, "")
                found = self._loaded.get(role)
                if isinstance(found, ModelUnavailableError):
                    raise _fresh(found)
                return RoleStatus(role, spec.backend, spec.model, self._locate(role).source, True, "")
            except ModelUnavailableError as err:
                reason = err.reason + (f"; {err.hint}" if err.hint else "")
                return RoleStatus(role, spec.backend, spec.model, "", False, reason)

    def _get(self, role: str) -> Any:
        with self._locks[role]:
            if role not in self._loaded:
                try:
                    self._loaded[role] = self._load(role)
                except ModelUnavailableError as err:
                    self._loaded[role] = _fresh(err)
                    if role == "image_embedding":  # doctor shows it; a normal run says nothing
                        log.info("image embedding falls back to pixel features: %s", self._loaded[role])
            outcome = self._loaded[role]
        if isinstance(outcome, ModelUnavailableError):
            raise _fresh(outcome)
        return outcome

    def _load(self, role: str) -> Any:
        spec = self.specs[role]
        if spec.disabled:
            raise ModelUnavailableError(role, f"turned off (models.{role} = none)", f"set models.{role} to '<backend>:<model>'")
        if role == "vlm":
            from perception.vlm.spec import vlm_from_spec

            return vlm_from_spec(self.config.models.vlm, self.config.vlm, self.config.models.cpu_threads)
        return _BACKENDS[role][spec.backend].load(
            self._locate(role), self.device, self.config.models.cpu_threads, self.config.home
        )

    def _locate(self, role: str) -> Any:
        with self._locks[role]:
            if role not in self._found:
                spec = self.specs[role]
                try:
                    self._found[role] = _BACKENDS[role][spec.backend].locate(spec.model)
                except ModelUnavailableError as err:
                    self._found[role] = _fresh(err)
            found = self._found[role]
        if isinstance(found, ModelUnavailableError):
            raise _fresh(found)
        return found


class OnFirstUse:
    """Stands in for a role's model and loads it when one of its attributes is first read: the
    memories hold a text embedder, but `longshot memory` lists segments without ever using it."""

    def __init__(self, models: Models, role: str):
        self._models = models
        self._role = role

    def __getattr__(self, name: str) -> Any:
        return getattr(self._models._get(self._role), name)


def _torch(device: str, threads: int) -> str:
    """Cap torch's CPU threads (a process-wide setting) before a torch model loads; the device, unchanged."""
    import torch

    torch.set_num_threads(max(1, threads))
    return device


def _fresh(err: ModelUnavailableError) -> ModelUnavailableError:
    """A new error like `err`, with no traceback. A remembered error must hold no frames (a frame
    keeps its callers alive), and raising one instance again and again would chain every caller's
    frames onto its traceback: each question's locals kept for good, about a megabyte a question
    when CLIP is absent, since image_embedder is asked on every question."""
    return ModelUnavailableError(err.role, err.reason, err.hint)


def _decoder_status(backend: str, module_name: str) -> RoleStatus:
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # a broken native library raises OSError, not only ImportError
        return RoleStatus("decoder", backend, "", "", False, f"{module_name} cannot be imported ({err})")
    version = str(getattr(module, "__version__", ""))
    return RoleStatus("decoder", backend, version, str(Path(module.__file__ or module_name).parent), True, "")
