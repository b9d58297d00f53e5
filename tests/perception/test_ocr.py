"""OCR reads text we draw and text in a real page scan, from the models inside the rapidocr wheel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from perception.config import Config
from perception.errors import ImageError, ModelUnavailableError
from perception.models import Models
from perception.ocr import ARENA_MAX_SIDE, SESSIONS, RapidOCR, TextBox, _Engines, locate_ocr_models
from tests.synth import draw_text, index_frame


@pytest.fixture(scope="module")
def ocr() -> RapidOCR:
    return RapidOCR(locate_ocr_models("PP-OCRv6"))


def test_locate_finds_the_bundled_version_without_downloading():
    found = locate_ocr_models("pp-ocrv6")
    assert found.version == "PP-OCRv6"
    assert found.detector.is_file() and found.recogniser.is_file()
    assert "rapidocr package" in found.source


def test_a_version_that_is_not_installed_uses_the_bundled_one_and_says_so():
    found = locate_ocr_models("PP-OCRv4")
    assert found.version == "PP-OCRv6"
    assert "PP-OCRv4 is not installed, using PP-OCRv6" in found.source


def test_a_folder_of_onnx_files_is_used_as_given(tmp_path: Path):
    bundled = locate_ocr_models("PP-OCRv6")
    (tmp_path / "my_det.onnx").symlink_to(bundled.detector)
    (tmp_path / "my_rec.onnx").symlink_to(bundled.recogniser)
    found = locate_ocr_models(str(tmp_path))
    assert (found.detector.name, found.recogniser.name) == ("my_det.onnx", "my_rec.onnx")
    assert found.source == str(tmp_path)


def test_a_folder_without_models_is_unavailable_with_a_hint(tmp_path: Path):
    with pytest.raises(ModelUnavailableError, match="no \\*det\\*.onnx") as caught:
        locate_ocr_models(str(tmp_path))
    assert caught.value.role == "ocr" and "models.ocr" in caught.value.hint


@pytest.mark.slow
def test_reads_drawn_text_with_its_box(ocr: RapidOCR):
    frame = index_frame(5, text="VAULT CODE 4172")
    lines = ocr.read(frame)
    assert [line.text for line in lines] == ["VAULT CODE 4172"]
    (line,) = lines
    assert isinstance(line, TextBox) and line.score > 0.8
    x0, y0, x1, y1 = line.box
    assert 0 <= x0 < x1 <= frame.shape[1] and 0 <= y0 < y1 <= frame.shape[0]
    assert y0 < frame.shape[0] / 2 < y1  # draw_text centres the band vertically


@pytest.mark.slow
def test_grey_input_is_read_and_a_blank_frame_has_no_text(ocr: RapidOCR):
    grey = draw_text(np.full((200, 400, 3), 128, np.uint8), "Hello World").mean(axis=2).astype(np.uint8)
    assert [line.text for line in ocr.read(grey)] == ["Hello World"]
    assert ocr.read(np.full((120, 160, 3), 30, np.uint8)) == []


def test_a_float_image_is_refused_with_an_image_error(ocr: RapidOCR):
    with pytest.raises(ImageError, match="uint8"):
        ocr.read(np.zeros((32, 32, 3), np.float32))


@pytest.mark.slow
@pytest.mark.integration
def test_reads_a_real_page_scan_line_by_line(ocr: RapidOCR, media: Path):
    page = np.asarray(Image.open(media / "images/opencv/imageTextN.png").convert("RGB"))
    lines = ocr.read(page)
    texts = [line.text for line in lines]
    assert texts[0] == "technical details are too complex to cover in the book itself."
    assert "variety and complexity of real-world imagery." in texts
    assert texts[-1] == "inspiration from three high-level approaches:"
    tops = [line.box[1] for line in lines]
    assert tops == sorted(tops)  # reading order, top to bottom
    assert all(0 <= x0 < x1 <= page.shape[1] and 0 <= y0 < y1 <= page.shape[0] for x0, y0, x1, y1 in (line.box for line in lines))


def test_reads_at_once_find_what_reads_one_after_another_find():
    reader = RapidOCR(locate_ocr_models("PP-OCRv6"))
    images = [
        draw_text(np.full((120, 448, 3), 235, np.uint8), text) for text in ("GATE B7 CLOSED", "PLATFORM 4", "EXIT", "VAULT 4172")
    ]
    one_by_one = [reader.read(image) for image in images]
    with ThreadPoolExecutor(4) as pool:
        at_once = list(pool.map(reader.read, images * 3))
    assert at_once == one_by_one * 3
    assert reader.engines() == SESSIONS  # two reads met, and no more engines were made than that


def test_models_run_ocr_from_copies_kept_in_the_library_home(tmp_path: Path):
    models = Models(Config().replace(home=tmp_path))
    found = locate_ocr_models("PP-OCRv6")
    assert models.ocr.read(np.full((64, 128, 3), 30, np.uint8)) == []
    kept = tmp_path / "models" / "ocr"
    assert {path.name for path in kept.glob("*.onnx")} == {found.detector.name, found.recogniser.name}


def test_the_detector_input_is_rapidocrs_own_bit_for_bit():
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from perception._ocr_input import DetectorInput

    rng = np.random.default_rng(7)
    ours, theirs = DetectorInput(960, "max", [0.5] * 3, [0.5] * 3), DetPreProcess(960, "max", [0.5] * 3, [0.5] * 3)
    for shape in [(128, 256, 3), (57, 256, 3), (252, 448, 3), (1200, 900, 3), (33, 70, 3)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        expected = theirs(image)
        got = ours(image)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert got.tobytes() == expected.tobytes()
    odd = DetectorInput(736, "min", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    image = rng.integers(0, 256, (40, 90, 3), dtype=np.uint8)
    assert odd(image).tobytes() == DetPreProcess(736, "min", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(image).tobytes()


def test_frames_keep_their_working_memory_between_reads_and_large_images_do_not():
    """onnxruntime's arena, which rapidocr turns off: without it each read of a frame maps its buffers afresh
    in a worker thread (a sixth of ingest's OCR time), and with it one large page's memory would stay for good."""
    reader = RapidOCR(locate_ocr_models("PP-OCRv6"))
    frames = [index_frame(k, text="GATE B7") for k in range(2 * SESSIONS)]
    with ThreadPoolExecutor(SESSIONS) as pool:
        assert all([line.text for line in lines] == ["GATE B7"] for lines in pool.map(reader.read, frames))
    page = draw_text(np.full((ARENA_MAX_SIDE + 200, ARENA_MAX_SIDE + 300, 3), 235, np.uint8), "PLATFORM 4")
    assert [line.text for line in reader.read(page)] == ["PLATFORM 4"]

    def arenas(engines: _Engines) -> list[bool]:
        lent = [engines._free.get_nowait() for _ in range(engines.made)]
        return [net.session.session.get_session_options().enable_cpu_mem_arena for e in lent for net in (e.text_det, e.text_rec)]

    assert arenas(reader._small) == [True] * 2 * reader.engines()
    assert arenas(reader._large) == [False, False]  # made on the first large read, and alone


def test_an_engine_that_fails_to_be_made_is_made_again_by_the_next_read():
    """Not counted as made: with SESSIONS failures counted, every later read would wait for a free engine forever."""
    attempts = iter([RuntimeError("cannot load the detector"), "engine"])

    def make() -> str:
        attempt = next(attempts)
        if isinstance(attempt, Exception):
            raise attempt
        return attempt

    engines = _Engines(make)
    with pytest.raises(RuntimeError, match="cannot load"), engines.engine():
        pass
    with engines.engine() as engine:
        assert engine == "engine"
    assert engines.made == 1
