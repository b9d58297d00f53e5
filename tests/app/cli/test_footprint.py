"""Commands stay light and quiet, each checked in a fresh process as a user runs it.

The offline commands (`videos`, `memory`, `ask`, `doctor`) never import torch or the packages
built on it, and `videos` not even numpy or the video decoders; `doctor` finds the models
without loading them unless asked to with --load; a normal run prints no warning and no
third-party banner, and `--verbose` says what fell back; progress in a pipe is plain lines,
not a terminal's bars. The child sees a machine with no downloaded weights (empty Hugging Face
and ultralytics caches, an empty working directory), so the answers do not depend on what this
machine happens to hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import make_video

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TORCH_AND_KIN = {"torch", "torchvision", "open_clip", "ultralytics", "sentence_transformers", "transformers"}
MEDIA_STACK = {"numpy", "cv2", "av"}  # what reading pixels imports; listing the library reads only the catalogue
MODEL_RUNTIMES = {"onnxruntime", "ctranslate2", "faster_whisper", "rapidocr"}  # what loading a model imports
# Runs the CLI and, on the way out, writes the names of the top-level modules it imported.
RUN = (
    "import atexit, json, os, sys\n"
    "def written():\n"
    "    with open(os.environ['MODULES_OUT'], 'w') as out:\n"
    "        json.dump(sorted({name.partition('.')[0] for name in sys.modules}), out)\n"
    "atexit.register(written)\n"
    "sys.argv[0] = 'longshot'\n"
    "from app.cli import cli\n"
    "cli()\n"
)


def longshot(workdir: Path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """`longshot args...` in a fresh Python on a machine with no downloaded weights; (result, modules imported)."""
    workdir.mkdir(exist_ok=True)
    modules = workdir / "modules.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_CACHE": str(workdir / "hf"),
        "HOME": str(workdir / "home"),
        "YOLO_CONFIG_DIR": str(workdir / "config"),
        "MODULES_OUT": str(modules),
    }
    env.pop("LONGSHOT_HOME", None)
    done = subprocess.run([sys.executable, "-c", RUN, *args], cwd=workdir, env=env, capture_output=True, text=True)
    return done, set(json.loads(modules.read_text())) if modules.exists() else set()


def noise(stderr: str) -> list[str]:
    """Lines that are not ours to print: warnings, banners, third-party progress."""
    words = ("warning", "ultralytics", "settings", "loading weights", "deprecat")
    return [line for line in stderr.splitlines() if any(word in line.lower() for word in words)]


@pytest.mark.parametrize(
    "command",
    [
        ["videos"],
        ["memory", "{video}", "--json"],
        ["ask", "{video}", "When is the notice 'GATE B7 CLOSED' shown?"],
        ["ask", "{video}", "What code is shown on screen?", "-o", "VAULT CODE 4127", "-o", "VAULT CODE 4172"],
        ["doctor"],
    ],
    ids=["videos", "memory", "ask", "ask-choice", "doctor"],
)
def test_offline_commands_never_import_torch_and_print_no_warning(library, video_id, tmp_path, command):
    args = [arg.format(video=video_id) for arg in command]
    done, modules = longshot(tmp_path / "run", *args, "--home", str(library.config.home))
    assert done.returncode == 0, done.stderr
    assert modules, "the child did not report its modules"
    assert not modules & TORCH_AND_KIN, f"{' '.join(command)} imported {sorted(modules & TORCH_AND_KIN)}"
    assert noise(done.stderr) == []
    if command[0] == "videos":
        assert not modules & MEDIA_STACK, f"videos imported {sorted(modules & MEDIA_STACK)}"
    if command[0] == "ask":
        assert "GATE B7 CLOSED" in done.stdout or "VAULT CODE 4172" in done.stdout, done.stdout


def test_doctor_finds_models_without_loading_them_and_loads_them_with_load(library, tmp_path):
    found, modules = longshot(tmp_path / "look", "doctor", "--home", str(library.config.home))
    assert found.returncode == 0, found.stderr
    assert not modules & MODEL_RUNTIMES, sorted(modules & MODEL_RUNTIMES)
    loaded, modules = longshot(tmp_path / "load", "doctor", "--load", "--home", str(library.config.home))
    assert loaded.returncode == 0, loaded.stderr
    assert {"onnxruntime", "ctranslate2", "rapidocr"} <= modules and not modules & TORCH_AND_KIN
    rows = {line.split()[1]: line.split()[0] for line in loaded.stdout.splitlines() if line[:3] in ("ok ", "-- ")}
    assert rows["ocr"] == rows["speech"] == rows["text_embedding"] == "ok"
    assert rows["image_embedding"] == rows["detector"] == "--"
    assert noise(loaded.stderr) == []


def test_ingest_in_a_pipe_prints_plain_progress_and_verbose_says_what_fell_back(tmp_path):
    video = make_video(tmp_path / "short.mp4", seconds=20, fps=5, texts=[(5.0, 9.0, "PLATFORM 4")])
    quiet, modules = longshot(tmp_path / "quiet", "ingest", str(video), "--home", str(tmp_path / "home-quiet"))
    assert quiet.returncode == 0, quiet.stderr
    assert noise(quiet.stderr) == [] and "\r" not in quiet.stderr
    lines = quiet.stderr.splitlines()
    assert any(line.startswith("short.mp4: ingested in") for line in lines) and lines[-1] == "1/1 videos, 0:20 of 0:20 video"
    assert not modules & TORCH_AND_KIN, sorted(modules & TORCH_AND_KIN)
    verbose, _ = longshot(tmp_path / "verbose", "--verbose", "ingest", str(video), "--home", str(tmp_path / "home-verbose"))
    assert verbose.returncode == 0, verbose.stderr
    assert "image embedding falls back to pixel features" in verbose.stderr
