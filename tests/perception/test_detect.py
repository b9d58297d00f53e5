"""YOLO: weights are only ever taken from disk; the detection code path works with random weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from perception.detect import Detection, YoloDetector, locate_yolo_weights, ultralytics_weights_folder
from perception.errors import ModelUnavailableError, ToolArgumentError
from tests import random_models
from tests.synth import index_frame

pytestmark = pytest.mark.slow  # importing ultralytics and torch takes several seconds


@pytest.fixture
def weights_folder(no_model_weights: Path) -> Path:
    """An empty weights folder that ultralytics' settings file names (it is read, not imported)."""
    weights = no_model_weights / "yolo-weights"
    weights.mkdir()
    settings = no_model_weights / "config" / "Ultralytics" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"weights_dir": str(weights)}))
    return weights


@pytest.fixture(scope="module")
def random_yolo() -> YoloDetector:
    return random_models.random_yolo()


def test_a_bare_name_that_is_nowhere_is_unavailable_and_not_downloaded(weights_folder: Path):
    with pytest.raises(ModelUnavailableError, match="yolo11n.pt is not on this machine") as caught:
        locate_yolo_weights("yolo11n.pt")
    assert caught.value.role == "detector" and "models.detector" in caught.value.hint
    assert str(weights_folder / "yolo11n.pt") in caught.value.reason
    assert list(weights_folder.iterdir()) == [] and not Path("yolo11n.pt").exists()


def test_a_bare_name_is_found_in_the_ultralytics_weights_folder(weights_folder: Path, random_yolo: YoloDetector):
    random_yolo._model.save(weights_folder / "mini.pt")
    found = locate_yolo_weights("mini.pt")
    assert found.path == weights_folder / "mini.pt"
    assert "ultralytics weights folder" in found.source


def test_the_weights_folder_read_from_settings_is_the_one_ultralytics_uses(no_model_weights: Path):
    """ultralytics writes its settings file on first import; read back, it names the folder ultralytics itself uses."""
    ask = "from ultralytics.utils import WEIGHTS_DIR; print(WEIGHTS_DIR)"
    env = {**os.environ, "YOLO_CONFIG_DIR": str(no_model_weights / "config"), "YOLO_OFFLINE": "1", "YOLO_VERBOSE": "False"}
    theirs = subprocess.run([sys.executable, "-c", ask], env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert ultralytics_weights_folder() == Path(theirs)
    (no_model_weights / "config" / "Ultralytics" / "settings.json").unlink()
    assert ultralytics_weights_folder() == Path(theirs)  # no settings yet: the default it wrote into them


def test_random_weights_give_detections_inside_the_image(random_yolo: YoloDetector):
    frame = index_frame(11, size=(320, 240), text="BOXES")
    detections = random_yolo.detect(frame, min_score=0.0)
    assert detections and all(isinstance(d, Detection) for d in detections)
    assert all(0 <= d.box[0] <= d.box[2] <= 320 and 0 <= d.box[1] <= d.box[3] <= 240 for d in detections)
    assert all(d.label in random_yolo.labels and d.score >= 0 for d in detections)
    scores = [d.score for d in detections]
    assert scores == sorted(scores, reverse=True)
    assert len(random_yolo.labels) == 80


def test_min_score_and_labels_filter_detections(random_yolo: YoloDetector):
    frame = index_frame(12)
    everything = random_yolo.detect(frame, min_score=0.0)
    assert random_yolo.detect(frame, min_score=0.99) == [d for d in everything if d.score >= 0.99]
    wanted = everything[0].label
    kept = random_yolo.detect(frame, labels=[wanted], min_score=0.0)
    assert kept and {d.label for d in kept} == {wanted}


def test_a_label_the_detector_does_not_know_is_refused(random_yolo: YoloDetector):
    with pytest.raises(ToolArgumentError, match="cannot detect 'unicorn'"):
        random_yolo.detect(index_frame(1), labels=["unicorn"])


def test_a_weights_file_loads_and_detects_like_the_model_it_came_from(random_yolo: YoloDetector, tmp_path: Path):
    random_yolo._model.save(tmp_path / "saved.pt")
    loaded = YoloDetector(locate_yolo_weights(str(tmp_path / "saved.pt")))
    frame = index_frame(13)
    original, reloaded = random_yolo.detect(frame, min_score=0.0), loaded.detect(frame, min_score=0.0)
    assert len(reloaded) == len(original)
    np.testing.assert_allclose([d.box for d in reloaded[:20]], [d.box for d in original[:20]], atol=2.0)


def test_a_corrupt_weights_file_is_unavailable_not_a_crash(tmp_path: Path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not torch")
    with pytest.raises(ModelUnavailableError, match="could not load"):
        YoloDetector(locate_yolo_weights(str(path)))
