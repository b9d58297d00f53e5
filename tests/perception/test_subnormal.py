"""Subnormal weights are set to zero, everything else is kept, and the OCR networks give the same output without them."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from perception.ocr import RapidOCR, locate_ocr_models
from perception.subnormal import flushed_copy, without_subnormals
from tests.synth import draw_text

TINY = np.finfo(np.float32).tiny


def _subnormals(model: onnx.ModelProto) -> int:
    arrays = [numpy_helper.to_array(tensor) for tensor in model.graph.initializer]
    return sum(int(((a != 0) & (np.abs(a) < TINY)).sum()) for a in arrays if a.dtype == np.float32)


def _scale_model(path: Path, weights: np.ndarray) -> Path:
    """y = x * w, with `w` as a float32 initializer, and an int64 initializer beside it that must be left alone."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [len(weights)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [len(weights)])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.array([7, 0], np.int64), "unused")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_only_subnormal_weights_become_zero(tmp_path: Path):
    weights = np.array([1.5, TINY / 4, -TINY / 1000, TINY, 0.0, -2e-30], np.float32)
    flushed = onnx.load_from_string(without_subnormals(_scale_model(tmp_path / "m.onnx", weights)))
    kept = {tensor.name: numpy_helper.to_array(tensor) for tensor in flushed.graph.initializer}
    assert kept["w"].tolist() == [1.5, 0.0, 0.0, TINY, 0.0, np.float32(-2e-30)]
    assert kept["unused"].tolist() == [7, 0]


def test_the_copy_is_kept_and_reused_and_without_a_folder_the_model_is_used_as_it_is(tmp_path: Path):
    model = _scale_model(tmp_path / "m.onnx", np.array([TINY / 2, 3.0], np.float32))
    assert flushed_copy(model, None) == model
    copy = flushed_copy(model, tmp_path / "cache")
    assert copy.parent == tmp_path / "cache" and _subnormals(onnx.load(str(copy))) == 0
    written = copy.stat().st_mtime_ns
    assert flushed_copy(model, tmp_path / "cache") == copy and copy.stat().st_mtime_ns == written
    session = ort.InferenceSession(str(copy), providers=["CPUExecutionProvider"])
    assert session.run(None, {"x": np.array([1.0, 2.0], np.float32)})[0].tolist() == [0.0, 6.0]


def test_a_folder_that_cannot_be_made_leaves_the_model_as_shipped(tmp_path: Path, caplog):
    model = _scale_model(tmp_path / "m.onnx", np.array([TINY / 2], np.float32))
    (tmp_path / "home").write_text("a file where the library home's folder should be")
    with caplog.at_level(logging.WARNING):
        assert flushed_copy(model, tmp_path / "home" / "ocr") == model
    assert "as shipped" in caplog.text


def test_the_bundled_detector_has_subnormal_weights_and_its_copy_none(tmp_path: Path):
    """Why the copy exists: if a rapidocr release fixes its models, this says so and the copy can go."""
    detector = locate_ocr_models("PP-OCRv6").detector
    assert _subnormals(onnx.load(str(detector))) > 100_000
    assert _subnormals(onnx.load(str(flushed_copy(detector, tmp_path)))) == 0


@pytest.mark.slow
def test_the_detector_without_subnormals_gives_the_same_maps(tmp_path: Path, media: Path):
    detector = locate_ocr_models("PP-OCRv6").detector
    page = np.asarray(Image.open(media / "images/opencv/imageTextN.png").convert("RGB").resize((256, 128)), np.float32)
    batch = ((page / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32)
    shipped, flushed = (
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": batch})[0]
        for path in (detector, flushed_copy(detector, tmp_path))
    )
    assert np.array_equal(shipped, flushed) and shipped.max() > 0.5  # the page has text, so the map is not empty


@pytest.mark.slow
def test_ocr_with_its_fast_copies_reads_what_it_reads_as_shipped(tmp_path: Path, media: Path):
    models = locate_ocr_models("PP-OCRv6")
    page = np.asarray(Image.open(media / "images/opencv/imageTextN.png").convert("RGB"))
    band = draw_text(np.full((96, 256, 3), 200, np.uint8), "GATE B7 CLOSED")
    shipped, fast = RapidOCR(models), RapidOCR(models, cache_dir=tmp_path)
    assert {path.name for path in tmp_path.glob("*.onnx")} == {models.detector.name, models.recogniser.name}
    for image in (page, band):
        assert fast.read(image) == shipped.read(image)
    assert [line.text for line in fast.read(band)] == ["GATE B7 CLOSED"]
