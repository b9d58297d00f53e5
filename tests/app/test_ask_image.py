"""Questions about one image: offline by reading its text (zooming in where it is small), or with a VLM
that sketches; images are checked before decoding; `longshot ask-image` prints the answer and the sketch."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from app import Longshot
from app.answer import ABSTAIN_TEXT, Answer, Step
from app.cli import cli
from app.images import load_image, numbered_side_by_side
from perception.errors import ImageError
from tests.fakes.openai_server import ScriptedOpenAIServer, request_images, request_parts

QUESTION = "What use is the board marked for?"  # board.jpg: "Tested To Comply With FCC Standards / FOR HOME OR OFFICE USE"


@pytest.fixture(scope="module")
def longshot(tmp_path_factory) -> Longshot:
    return Longshot(home=tmp_path_factory.mktemp("home"), models__vlm="none", models__detector="none")


@pytest.fixture(scope="module")
def board(media: Path) -> Path:
    return media / "images" / "opencv" / "board.jpg"


def _claiming(path: Path, width: int, height: int) -> Path:
    """A 1x1 PNG whose header claims `width` x `height` pixels: a decompression bomb in 70 bytes."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    header = struct.pack(">II", width, height) + data[24:29]  # IHDR: size, then depth, colour, methods
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    path.write_bytes(bytes(data))
    return path


# --- checking images -----------------------------------------------------------------


def test_an_enormous_image_is_refused_from_its_header(tmp_path: Path):
    bomb = _claiming(tmp_path / "bomb.png", 20000, 20000)
    with pytest.raises(ImageError, match="too large|megapixels"):
        load_image(bomb)


@pytest.mark.parametrize("content", [b"", b"plain text, not pixels", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_a_file_that_is_not_an_image_is_an_image_error(tmp_path: Path, content: bytes):
    path = tmp_path / "fake.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match="cannot read"):
        load_image(path)


def test_a_missing_file_or_a_wrong_array_is_an_image_error(tmp_path: Path):
    with pytest.raises(ImageError, match="no image file"):
        load_image(tmp_path / "absent.jpg")
    with pytest.raises(ImageError, match="uint8"):
        load_image(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((10, 10, 5), dtype=np.uint8))


def test_images_are_made_rgb_and_at_most_4096_px_a_side(tmp_path: Path):
    grey = np.zeros((5000, 100), dtype=np.uint8)
    pixels, source = load_image(grey)
    assert pixels.shape == (4096, 82, 3) and source is None
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (30, 20), (10, 20, 30, 0)).save(path)
    pixels, source = load_image(path)
    assert pixels.shape == (20, 30, 3) and (pixels == (10, 20, 30)).all() and source == str(path.resolve())


def test_ask_image_checks_the_image_before_any_step(longshot: Longshot, tmp_path: Path):
    bomb = _claiming(tmp_path / "bomb.png", 20000, 20000)
    with pytest.raises(ImageError):
        longshot.ask_image_stream(bomb, "What does it say?")


# --- offline: reading the text ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_offline_reads_the_text_at_zoom_and_answers_with_the_sketch_saved(longshot: Longshot, board: Path):
    answer = longshot.ask_image(board, QUESTION)
    assert "HOME OR OFFICE" in answer.text and not answer.abstained and answer.span is None
    assert [s.args.get("tool") for s in answer.trace] == ["ocr", "crop", "ocr", None]
    first, _, zoomed = answer.trace[:3]
    assert "HOME OR OFFICE USE" not in first.summary, "the full-size read misses it ..."
    assert "HOME OR OFFICE USE" in zoomed.summary, "... the enlarged crop reads it"
    cited = answer.evidence[0]
    assert cited.kind == "sketch" and "HOME OR OFFICE" in cited.text
    sketches = [e for e in answer.evidence if e.kind == "sketch"]
    assert len(sketches) == 3 and all(Path(e.image_path).is_file() for e in sketches)
    with Image.open(cited.image_path) as png:
        assert png.format == "PNG" and png.width > 400, "the saved sketch is the enlarged crop"


@pytest.mark.slow
@pytest.mark.integration
def test_offline_scores_options_against_the_text_read(longshot: Longshot, board: Path):
    answer = longshot.ask_image(
        board, "Which use is printed on the board?", ["For laboratory use only", "For home or office use"]
    )
    assert answer.choice == "B"


@pytest.mark.slow
@pytest.mark.integration
def test_offline_abstains_when_nothing_relevant_is_read(longshot: Longshot, board: Path):
    unrelated = longshot.ask_image(board, "What is the name of the cat?")
    assert unrelated.abstained and unrelated.text == ABSTAIN_TEXT
    assert any(Path(e.image_path).is_file() for e in unrelated.evidence), "the sketches are kept all the same"
    blank = longshot.ask_image(np.full((120, 160, 3), 255, dtype=np.uint8), "What does the sign say?")
    assert blank.abstained
    assert "Found no text" in blank.trace[0].summary


@pytest.mark.slow
@pytest.mark.integration
def test_the_stream_yields_each_step_then_the_answer(longshot: Longshot, board: Path):
    items = list(longshot.ask_image_stream(board, QUESTION))
    assert all(isinstance(i, Step) for i in items[:-1]) and isinstance(items[-1], Answer)
    assert [s.index for s in items[:-1]] == list(range(len(items) - 1))


# --- with a VLM ------------------------------------------------------------------------


def test_the_vlm_sees_the_image_first_then_its_sketch(tmp_path: Path):
    image = np.full((90, 120, 3), 255, dtype=np.uint8)
    script = [
        json.dumps(
            {
                "action": "sketch",
                "args": {"frame": "image", "tool": "box", "args": {"box": [30, 20, 90, 70], "color": "red", "width": 4}},
            }
        ),
        json.dumps({"action": "answer", "args": {"text": "a white square", "evidence": [0]}}),
    ]
    with ScriptedOpenAIServer(script) as server:
        longshot = Longshot(
            home=tmp_path, models__vlm=f"openai:fake-vlm@{server.base_url}", vlm__max_retries=0, models__detector="none"
        )
        answer = longshot.ask_image(image, "What is in the picture?")
        assert server.errors == []
        first, second = server.requests
    system = first["messages"][0]["content"]
    assert "- sketch(" in system and "- answer(" in system and "search_episodic" not in system
    shown = request_images(first)
    assert len(shown) == 1 and shown[0].shape == (90, 120, 3) and (shown[0] > 240).all()
    assert any(isinstance(p, str) and "frame 'image'" in p for p in request_parts(first))
    sketch = request_images(second)[0]
    assert sketch[21, 60, 0] > 200 and sketch[21, 60, 1] < 90 and sketch[45, 60].min() > 200, "the box's top edge is red"
    assert answer.text == "a white square" and answer.policy == "vlm" and answer.span is None
    assert answer.evidence[0].kind == "sketch" and Path(answer.evidence[0].image_path).is_file()


# --- the command line ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_cli_ask_image_prints_the_answer_and_the_sketch_path(board: Path, tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(cli, ["ask-image", str(board), QUESTION, "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "HOME OR OFFICE" in result.stdout
    path = Path(result.stdout.strip().splitlines()[-1].removeprefix("sketch: "))
    assert path.suffix == ".png" and path.is_file() and tmp_path in path.parents
    as_json = runner.invoke(
        cli,
        [
            "ask-image",
            str(board),
            QUESTION,
            "--home",
            str(tmp_path),
            "--json",
            "--option",
            "For laboratory use only",
            "--option",
            "For home or office use",
        ],
    )
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["choice"] == "B" and any(e["image_path"] for e in data["evidence"])


def test_cli_ask_image_on_a_non_image_fails_with_one_line(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    result = CliRunner().invoke(cli, ["ask-image", str(path), "What does it say?", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert "error:" in result.output and "cannot read" in result.output


def test_several_images_become_one_row_numbered_as_questions_name_them(tmp_path: Path):
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    Image.new("RGB", (200, 100), (255, 0, 0)).save(red)
    Image.new("RGB", (100, 200), (0, 0, 255)).save(blue)
    row = numbered_side_by_side([red, blue], height=100)
    assert row.shape[0] > 100 and row.shape[1] >= 200 + 50  # both at 100 px high, with captions below
    assert tuple(row[50, 100]) == (255, 0, 0) and tuple(row[50, row.shape[1] - 25]) == (0, 0, 255)
    band = row[105:]
    assert (band[:, :200].max(axis=2) > 200).any() and (band[:, 210:].max(axis=2) > 200).any()  # "image 1", "image 2"
    with pytest.raises(ImageError, match="no image file"):
        numbered_side_by_side([red, tmp_path / "missing.png"])
    with pytest.raises(ImageError, match="side by side"):
        numbered_side_by_side([])
