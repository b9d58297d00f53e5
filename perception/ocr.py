"""Text on screen, one line per box, from the PP-OCR ONNX models that ship inside rapidocr.

rapidocr downloads a model whenever the one its settings name is missing; we never let it:
the detection and recognition files are found first (`locate_ocr_models`) and handed to it
by path. The text-angle classifier is left off: frames are upright, and the bundled
classifier flips whole lines of upright text into nonsense.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception.errors import ModelUnavailableError
from perception.requires import installed, require
from perception.rgb import as_rgb
from perception.subnormal import flushed_copy

log = logging.getLogger(__name__)

ROLE = "ocr"
INSTALL_HINT = "install rapidocr>=3 (its wheel carries the PP-OCR models) or set models.ocr"
# Engines that may read at once, each with its own ONNX sessions and `threads`: ingest has two
# spans in perception at most, and on footage that keeps changing OCR falls behind, so the two
# spans' OCR take both cores. The second is made only when two reads meet.
SESSIONS = 2
_VERSION = re.compile(r"PP-OCRv(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class TextBox:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 pixels
    score: float


@dataclass(frozen=True)
class OcrModels:
    """Where the detection and recognition networks are, and how doctor should describe them."""

    version: str
    detector: Path
    recogniser: Path
    source: str


def locate_ocr_models(model: str) -> OcrModels:
    """The ONNX files for `model`, a PP-OCR version ("PP-OCRv6") or a folder of ONNX files.

    A version is looked up in rapidocr's own model folder. When that version is not installed
    but another is (the wheel bundles one), the bundled one is used and `source` says so, so
    the default works on a machine without a hub; nothing is ever downloaded.
    """
    folder = Path(model).expanduser()
    if folder.is_dir():
        pairs = _model_pairs(folder)
        if not pairs:
            raise ModelUnavailableError(ROLE, f"no *det*.onnx and *rec*.onnx pair in {folder}", INSTALL_HINT)
        version = max(pairs, key=_version_number)
        detector, recogniser = pairs[version]
        return OcrModels(version or folder.name, detector, recogniser, source=str(folder))
    bundled = _rapidocr_model_folder()
    pairs = _model_pairs(bundled)
    wanted = _canonical_version(model)
    if wanted in pairs:
        detector, recogniser = pairs[wanted]
        return OcrModels(wanted, detector, recogniser, source=f"rapidocr package ({bundled})")
    if not pairs:
        raise ModelUnavailableError(ROLE, f"rapidocr has no ONNX models in {bundled}", INSTALL_HINT)
    version = max(pairs, key=_version_number)
    detector, recogniser = pairs[version]
    present = ", ".join(sorted(pairs))
    return OcrModels(
        version,
        detector,
        recogniser,
        source=f"rapidocr package ({bundled}); {model} is not installed, using {version} (installed: {present})",
    )


class RapidOCR:
    """Reads text lines from RGB frames; thread-safe (each call takes a free engine of at most SESSIONS)."""

    def __init__(self, models: OcrModels, min_score: float = 0.5, threads: int = 1, cache_dir: Path | None = None):
        """`cache_dir` keeps copies of the networks without subnormal weights (`perception.subnormal`),
        the same output several times faster; without it they run as shipped."""
        Engine = require("rapidocr", ROLE, INSTALL_HINT).RapidOCR
        self.name = f"rapidocr:{models.version}"
        self.models = models
        params = {
            "Global.log_level": "error",  # an empty frame is not worth a warning
            "Global.use_cls": False,
            "Global.text_score": min_score,
            # rapidocr's default scales the short side UP to 736 px: 10x the work on video frames.
            # Capping the long side keeps frames as they are and bounds big photos.
            "Det.limit_type": "max",
            "Det.limit_side_len": 960,
            "EngineConfig.onnxruntime.intra_op_num_threads": max(1, threads),
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # rapidocr turns onnxruntime's arena off, so every call mallocs its buffers afresh; in ingest's
            # worker threads glibc maps them anew each time (353,000 page faults in the needle hour, 25,000
            # with the arena kept, and 17% less of OCR's CPU).
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
            "Det.model_path": str(flushed_copy(models.detector, cache_dir)),
            "Rec.model_path": str(flushed_copy(models.recogniser, cache_dir)),
        }
        try:
            first = _prepared(Engine(params=params))
        except Exception as err:  # rapidocr raises bare Exceptions for broken model files
            raise ModelUnavailableError(ROLE, f"rapidocr could not load {models.detector.parent}: {err}", INSTALL_HINT) from err
        self._new_engine = lambda: _prepared(Engine(params=params))
        self._engines: queue.SimpleQueue = queue.SimpleQueue()
        self._engines.put(first)
        self._made = 1
        self._lock = threading.Lock()

    def read(self, image: np.ndarray) -> list[TextBox]:
        """Text lines in reading order as rapidocr returns them, with their pixel boxes."""
        bgr = as_rgb(image)[:, :, ::-1]
        engine = self._take()
        try:
            result = engine(np.ascontiguousarray(bgr))
        finally:
            self._engines.put(engine)
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores):
            text = text.strip()
            if not text:
                continue
            xs, ys = np.asarray(quad, dtype=float)[:, 0], np.asarray(quad, dtype=float)[:, 1]
            lines.append(TextBox(text, (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())), float(score)))
        return lines

    def engines(self) -> int:
        """How many engines have been made so far (at most SESSIONS)."""
        return self._made

    def _take(self):
        """A free engine; a new one while fewer than SESSIONS exist, else the next to come free."""
        try:
            return self._engines.get_nowait()
        except queue.Empty:
            with self._lock:
                more = self._made < SESSIONS
                self._made += more
            return self._new_engine() if more else self._engines.get()


def _prepared(engine):
    """`engine` with its networks loaded now (rapidocr loads them on the first read that needs them) and
    one detector pre-processor for every call (`DetectorInput`) in place of the one rapidocr builds on each."""
    from perception._ocr_input import DetectorInput

    engine._load_rec_model()
    detector = engine._load_det_model()
    mean, std = detector.mean, detector.std
    made = DetectorInput(
        detector.limit_side_len,
        detector.limit_type,
        None if mean is None else [float(m) for m in mean],
        None if std is None else [float(s) for s in std],
    )
    detector.get_preprocess = lambda: made
    return engine


def _rapidocr_model_folder() -> Path:
    return installed("rapidocr", ROLE, INSTALL_HINT) / "models"


def _model_pairs(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Detection and recognition files per PP-OCR version found in `folder` ("" for unversioned names)."""
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.glob("*.onnx")):
        kind = "det" if "det" in path.stem.lower() else "rec" if "rec" in path.stem.lower() else None
        if kind is None:
            continue
        found.setdefault(_canonical_version(path.stem), {}).setdefault(kind, path)
    return {version: (files["det"], files["rec"]) for version, files in found.items() if {"det", "rec"} <= files.keys()}


def _canonical_version(text: str) -> str:
    """ "PP-OCRv6" for any spelling of that version inside `text`; "" when it names none."""
    match = _VERSION.search(text)
    return f"PP-OCRv{match.group(1)}" if match else ""


def _version_number(version: str) -> int:
    digits = re.findall(r"\d+", version)
    return int(digits[-1]) if digits else -1
