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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

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
# Reads of images no longer than this keep onnxruntime's memory arena between calls. rapidocr turns
# the arena off, so each call mallocs its buffers afresh, and in ingest's worker threads glibc maps
# them anew each time: 353,000 page faults in the needle hour against 25,000, costing 17% of OCR's CPU.
# An arena keeps what its calls took, though: three reads of a 1920x1080 page left 250 MiB more
# resident with it than without, so larger images (photos, pages) are read by engines without one.
ARENA_MAX_SIDE = 512
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
    """Reads text lines from RGB frames; thread-safe (each call takes a free engine: at most SESSIONS for
    images up to ARENA_MAX_SIDE, as frames are, and as many for larger ones)."""

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
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": False,
            "Det.model_path": str(flushed_copy(models.detector, cache_dir)),
            "Rec.model_path": str(flushed_copy(models.recogniser, cache_dir)),
        }
        arena = params | {"EngineConfig.onnxruntime.enable_cpu_mem_arena": True}

        def engine(settings: dict[str, Any]) -> Any:
            try:
                return _prepared(Engine(params=settings))
            except Exception as err:  # rapidocr raises bare Exceptions for broken model files
                unusable = f"rapidocr could not load {models.detector.parent}: {err}"
                raise ModelUnavailableError(ROLE, unusable, INSTALL_HINT) from err

        # The first engine for frames now, so that broken models fail here; the first for large images on its first read.
        self._small = _Engines(partial(engine, arena), first=engine(arena))
        self._large = _Engines(partial(engine, params))

    def read(self, image: np.ndarray) -> list[TextBox]:
        """Text lines in reading order as rapidocr returns them, with their pixel boxes."""
        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        with (self._small if max(bgr.shape[:2]) <= ARENA_MAX_SIDE else self._large).engine() as engine:
            result = engine(bgr)
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
        """How many engines for frames (images up to ARENA_MAX_SIDE) have been made so far (at most SESSIONS)."""
        return self._small.made


class _Engines:
    """At most SESSIONS engines made by `make`, each lent to one read at a time; the next is made
    only when reads meet (or the first, when `first` is not given, on the first read)."""

    def __init__(self, make: Callable[[], Any], first: Any = None):
        self._make = make
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self.made = 0
        if first is not None:
            self._free.put(first)
            self.made = 1
        self._lock = threading.Lock()

    @contextmanager
    def engine(self) -> Iterator[Any]:
        engine = self._take()
        try:
            yield engine
        finally:
            self._free.put(engine)

    def _take(self) -> Any:
        """A free engine; a new one while fewer than SESSIONS exist, else the next to come free. An
        engine that fails to be made is not counted, so a later read tries again rather than waiting."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                more = self.made < SESSIONS
                self.made += more
            if not more:
                return self._free.get()
            try:
                return self._make()
            except BaseException:
                with self._lock:
                    self.made -= 1
                raise


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
