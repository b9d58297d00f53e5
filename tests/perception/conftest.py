"""A machine with no downloaded weights, whatever this one has: the fixture the model-locating tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def no_model_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty Hugging Face, open_clip (under $HOME) and ultralytics (settings and weights) caches, run from an empty folder."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
