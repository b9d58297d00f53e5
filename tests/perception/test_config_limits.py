"""Every number in the configuration declares its range beside its field; a value outside is
refused by name through every layer, and any mix of values inside ingests and answers.

Before the ranges, sample_fps 0, segment_seconds 0, jpeg_quality 0, frame_cache_mb -1 and the
like passed configuration and crashed later with ValueError, ZeroDivisionError or OverflowError;
cpu_threads 0 reached faster-whisper unchecked.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from perception.config import Config, load_config
from perception.errors import ConfigError


def _numeric_schemas() -> dict[str, dict]:
    """Dotted key -> JSON schema of every number in the tree (of its items, for a list), as pydantic reports it."""
    schema = TypeAdapter(Config).json_schema()
    found = {}
    for section, reference in schema["properties"].items():
        if "$ref" not in reference:
            continue
        for name, field in schema["$defs"][reference["$ref"].rsplit("/", 1)[-1]]["properties"].items():
            item = field.get("items", field)
            if item.get("type") in {"integer", "number"}:
                found[f"{section}.{name}"] = item
    return found


SCHEMAS = _numeric_schemas()
RANGES = {key: (s.get("minimum"), s.get("maximum"), s["type"] == "integer") for key, s in SCHEMAS.items()}
LISTS = {"ingest.scales"}


def _given(key: str, value):
    return (value,) if key in LISTS else value


def _read(config: Config, key: str):
    section, name = key.split(".")
    value = getattr(getattr(config, section), name)
    return value[0] if key in LISTS else value


def test_every_number_declares_its_range():
    assert {"models.cpu_threads", "ingest.sample_fps", "ingest.scales", "web.port", "vlm.timeout_s"} <= set(RANGES)
    assert [key for key, (low, high, _) in RANGES.items() if low is None or high is None] == []
    assert RANGES["models.cpu_threads"][:2] == (1, 4096)


def _outside(key: str) -> list:
    low, high, integer = RANGES[key]
    return [low - 1, high + 1] if integer else [math.nextafter(low, -math.inf), math.nextafter(high, math.inf)]


@pytest.mark.parametrize("key", sorted(RANGES))
def test_the_ends_of_a_range_pass(key: str):
    for edge in RANGES[key][:2]:
        assert _read(load_config(env={}, overrides={key: _given(key, edge)}), key) == edge


@pytest.mark.parametrize("side", [0, 1], ids=["below", "above"])
@pytest.mark.parametrize("key", sorted(RANGES))
def test_just_past_a_range_is_refused_by_name_in_every_layer(key: str, side: int, tmp_path: Path):
    value = _outside(key)[side]
    section, name = key.split(".")
    toml = tmp_path / "longshot.toml"
    toml.write_text(f"[{section}]\n{name} = {list(_given(key, value)) if key in LISTS else value!r}\n")
    layers = {
        "flags": lambda: load_config(env={}, overrides={key: _given(key, value)}),
        "environment": lambda: load_config(env={f"LONGSHOT_{section}__{name}".upper(): repr(value)}),
        str(toml): lambda: load_config(toml, env={}),
    }
    for source, load in layers.items():
        with pytest.raises(ConfigError, match=f"'{key}'") as refused:
            load()
        assert f"(from {source})" in str(refused.value)


@pytest.mark.parametrize("threads", [0, -1])
def test_cpu_threads_below_one_is_refused_by_name(threads: int):
    with pytest.raises(ConfigError, match="'models.cpu_threads'"):
        load_config(env={"LONGSHOT_MODELS__CPU_THREADS": str(threads)})


@given(st.sampled_from(sorted(RANGES)), st.one_of(st.floats(allow_nan=True), st.integers(-(10**12), 10**12)))
def test_a_number_is_taken_exactly_when_it_is_in_its_range(key: str, value):
    low, high, integer = RANGES[key]
    inside = math.isfinite(value) and low <= value <= high and (not integer or float(value).is_integer())
    try:
        config = load_config(env={}, overrides={key: _given(key, value)})
    except ConfigError as err:
        assert not inside, f"{key}={value!r} is inside {low}..{high} but was refused: {err}"
        assert f"'{key}'" in str(err)
        return
    assert inside, f"{key}={value!r} is outside {low}..{high} but was taken"
    assert _read(config, key) == value


def _in_range(key: str, top: float | None = None):
    low, high, integer = RANGES[key]
    high = min(high, top) if top is not None else high
    return st.integers(math.ceil(low), int(high)) if integer else st.floats(low, high, allow_nan=False)


INGEST = st.fixed_dictionaries(
    {
        "ingest__sample_fps": _in_range("ingest.sample_fps", top=50),  # a 4 s video: 50 fps already samples every frame
        "ingest__segment_seconds": _in_range("ingest.segment_seconds", top=20),
        "ingest__batch_frames": _in_range("ingest.batch_frames", top=64),
        "ingest__scales": st.lists(_in_range("ingest.scales", top=100), max_size=3).map(tuple),
        "ingest__frame_max_side": _in_range("ingest.frame_max_side", top=512),
        "ingest__jpeg_quality": _in_range("ingest.jpeg_quality"),
        "ingest__bundle_frames": _in_range("ingest.bundle_frames", top=40),
        "frames__frame_cache_mb": _in_range("frames.frame_cache_mb", top=64),
        "agent__max_steps": _in_range("agent.max_steps", top=6),
        "agent__search_top_k": _in_range("agent.search_top_k", top=50),
        "agent__abstain_below": _in_range("agent.abstain_below"),
        "models__cpu_threads": _in_range("models.cpu_threads", top=4),
    }
)


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> Path:
    from tests.synth import make_video

    return make_video(tmp_path_factory.mktemp("media") / "tiny.mp4", seconds=4, fps=5, size=(160, 120), texts=[(1, 3, "EXIT 12")])


@pytest.mark.slow
@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(INGEST)
def test_any_settings_within_their_ranges_ingest_and_answer(tiny_video: Path, tmp_path_factory, overrides: dict):
    from app import Longshot

    home = tmp_path_factory.mktemp("home")
    longshot = Longshot(
        config=Config(), home=home, models__ocr="none", models__speech="none", models__detector="none", **overrides
    )
    result = longshot.ingest(tiny_video)
    answer = longshot.ask(result.video.id, "Which exit is shown?")
    assert result.video.status == "ready" and result.video.frames >= 1
    assert answer.trace[-1].action == "answer" and answer.text


def test_a_setting_out_of_range_stops_the_api_before_any_work(tmp_path: Path):
    from app import Longshot

    with pytest.raises(ConfigError, match="'ingest.sample_fps'"):
        Longshot(config=Config(), home=tmp_path / "home", ingest__sample_fps=0)
    assert not (tmp_path / "home").exists()
