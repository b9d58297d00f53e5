"""Numeric settings are refused by name outside their limits, and every setting within them works:
ingest and a question run on a tiny video with any mix of in-range values (property-based).

Before the limits, sample_fps 0, segment_seconds 0, jpeg_quality 0, frame_cache_mb -1 and the
like passed configuration and crashed later with ValueError, ZeroDivisionError or OverflowError.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perception.config import LIMITS, Config, load_config
from perception.errors import ConfigError, LongshotError

_NUMERIC = sorted(LIMITS)


@given(st.sampled_from(_NUMERIC), st.one_of(st.floats(allow_nan=False), st.integers(-(10**12), 10**12)))
def test_a_numeric_setting_is_in_its_limits_or_refused_by_name(key: str, value):
    low, high = LIMITS[key]
    try:
        config = load_config(env={}, overrides={key: (value,) if key == "ingest.scales" else value})
    except ConfigError as err:
        assert f"'{key}'" in str(err)
        return
    section, name = key.split(".")
    got = getattr(getattr(config, section), name)
    for item in got if isinstance(got, tuple) else (got,):
        assert low <= item <= high and math.isfinite(item)


def _in_range(key: str, integer: bool = False, top: float | None = None):
    low, high = LIMITS[key]
    high = min(high, top) if top is not None else high
    return st.integers(math.ceil(low), int(high)) if integer else st.floats(low, high, allow_nan=False)


INGEST = st.fixed_dictionaries(
    {
        "ingest__sample_fps": _in_range("ingest.sample_fps", top=50),  # a 4 s video: 50 fps already samples every frame
        "ingest__segment_seconds": _in_range("ingest.segment_seconds", top=20),
        "ingest__batch_frames": _in_range("ingest.batch_frames", integer=True, top=64),
        "ingest__scales": st.lists(_in_range("ingest.scales", top=100), max_size=3).map(tuple),
        "ingest__frame_max_side": _in_range("ingest.frame_max_side", integer=True, top=512),
        "ingest__jpeg_quality": _in_range("ingest.jpeg_quality", integer=True),
        "ingest__bundle_frames": _in_range("ingest.bundle_frames", integer=True, top=40),
        "frames__frame_cache_mb": _in_range("frames.frame_cache_mb", integer=True, top=64),
        "agent__max_steps": _in_range("agent.max_steps", integer=True, top=6),
        "agent__search_top_k": _in_range("agent.search_top_k", integer=True, top=50),
        "agent__abstain_below": _in_range("agent.abstain_below"),
    }
)


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> Path:
    from tests.synth import make_video

    return make_video(tmp_path_factory.mktemp("media") / "tiny.mp4", seconds=4, fps=5, size=(160, 120), texts=[(1, 3, "EXIT 12")])


@pytest.mark.slow
@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(INGEST)
def test_any_settings_within_limits_ingest_and_answer(tiny_video: Path, tmp_path_factory, overrides: dict):
    from app import Longshot

    home = tmp_path_factory.mktemp("home")
    longshot = Longshot(
        config=Config(), home=home, models__ocr="none", models__speech="none", models__detector="none", **overrides
    )
    try:
        result = longshot.ingest(tiny_video)
        answer = longshot.ask(result.video.id, "Which exit is shown?")
    except LongshotError as err:  # typed, with a message: acceptable; a crash is not
        assert str(err)
        return
    assert result.video.status == "ready" and result.video.frames >= 1
    assert answer.trace[-1].action == "answer"
