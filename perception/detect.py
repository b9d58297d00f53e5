"""Object detection with ultralytics YOLO, from a weights file already on disk.

Given a bare name such as `yolo11n.pt`, ultralytics downloads it when it is missing; we
look for the file first (as a path, then in ultralytics' weights folder, read from its
settings file) and only hand it an existing file. ultralytics (and torch) is imported only
to load a file that is there, with YOLO_OFFLINE=1 so that importing it does not probe the
network and YOLO_VERBOSE=False so that it prints nothing of its own.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perception.errors import ModelUnavailableError, ToolArgumentError
from perception.requires import installed, require
from perception.rgb import as_rgb

ROLE = "detector"
INSTALL_HINT = "put the YOLO weights file on this machine and set models.detector = 'ultralytics:/path/to/yolo11n.pt'"


@dataclass(frozen=True)
class Detection:
    label: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 pixels
    score: float


@dataclass(frozen=True)
class YoloWeights:
    name: str
    path: Path
    source: str


def locate_yolo_weights(model: str) -> YoloWeights:
    """The weights file `model` names (a path, or a bare name in ultralytics' weights folder), without importing ultralytics."""
    installed("ultralytics", ROLE, INSTALL_HINT)
    path = Path(model).expanduser()
    if path.is_file():
        return YoloWeights(model, path.resolve(), source=str(path.resolve()))
    looked = [str(path)]
    if path.name == model:
        candidate = ultralytics_weights_folder() / model
        if candidate.is_file():
            return YoloWeights(model, candidate, source=f"ultralytics weights folder ({candidate})")
        looked.append(str(candidate))
    raise ModelUnavailableError(ROLE, f"{model} is not on this machine (looked at {', '.join(looked)})", INSTALL_HINT)


def ultralytics_weights_folder() -> Path:
    """ultralytics' weights folder as its settings file names it; where it has none yet, its default:
    `weights` in the git checkout that holds the package, or else in the working directory. Read,
    not imported: importing ultralytics writes that settings file and prints a banner."""
    if os.environ.get("YOLO_CONFIG_DIR"):
        config = Path(os.environ["YOLO_CONFIG_DIR"]).expanduser()
    elif sys.platform == "darwin":
        config = Path.home() / "Library" / "Application Support"
    elif sys.platform == "win32":
        config = Path.home() / "AppData" / "Roaming"
    else:
        config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    try:
        settings = json.loads((config / "Ultralytics" / "settings.json").read_text(encoding="utf-8"))
        return Path(settings["weights_dir"]).expanduser()
    except (OSError, ValueError, KeyError, TypeError):
        package = installed("ultralytics", ROLE, INSTALL_HINT)
        checkout = next((folder for folder in (package, *package.parents) if (folder / ".git").exists()), Path())
        return (checkout / "weights").resolve()


class YoloDetector:
    """Boxes, labels and scores for RGB frames; thread-safe (one predictor, calls serialised)."""

    def __init__(self, weights: YoloWeights, device: str = "cpu"):
        YOLO = require_ultralytics().YOLO
        try:
            model = YOLO(str(weights.path), task="detect")
        except Exception as err:  # torch and ultralytics raise many types for a bad file
            raise ModelUnavailableError(ROLE, f"could not load {weights.path}: {err}", INSTALL_HINT) from err
        self._setup(model, f"ultralytics:{weights.name}", device)

    @classmethod
    def from_model(cls, model, name: str, device: str = "cpu") -> YoloDetector:
        """A detector around an ultralytics YOLO model already built."""
        detector = cls.__new__(cls)
        detector._setup(model, name, device)
        return detector

    def _setup(self, model, name: str, device: str) -> None:
        self._model = model
        self._device = device
        self._lock = threading.Lock()
        self.name = name
        self.labels = [model.names[i] for i in sorted(model.names)]

    def detect(self, image: np.ndarray, labels: Sequence[str] | None = None, min_score: float = 0.25) -> list[Detection]:
        """Detections scoring at least `min_score`, best first; `labels` keeps only those classes."""
        classes = None if labels is None else self._class_ids(labels)
        bgr = np.ascontiguousarray(as_rgb(image)[:, :, ::-1])
        with self._lock:
            (result,) = self._model.predict(bgr, conf=min_score, classes=classes, device=self._device, verbose=False)
        boxes = result.boxes
        found = [
            Detection(result.names[int(c)], (float(x0), float(y0), float(x1), float(y1)), float(s))
            for (x0, y0, x1, y1), s, c in zip(boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist())
        ]
        return sorted(found, key=lambda d: -d.score)

    def _class_ids(self, labels: Sequence[str]) -> list[int]:
        index = {name.lower(): i for i, name in enumerate(self.labels)}
        unknown = [label for label in labels if label.lower() not in index]
        if unknown:
            raise ToolArgumentError(
                f"{self.name} cannot detect {', '.join(map(repr, unknown))}; it knows {len(self.labels)} labels "
                f"such as {', '.join(self.labels[:8])}"
            )
        return [index[label.lower()] for label in labels]


def require_ultralytics():
    """Import ultralytics without its side effects: no network checks, no banners (its settings file
    announces itself when first written), and PIL left as it was (its import patches `Image.open` to
    pip-install HEIF support when a file is not an image)."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    from PIL import Image

    original = Image.open
    try:
        return require("ultralytics", ROLE, INSTALL_HINT)
    finally:
        Image.open = original
