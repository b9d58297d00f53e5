"""Configuration resolves defaults < TOML < environment < flags, and names bad keys."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perception.config import Config, load_config
from perception.errors import ConfigError


def test_defaults_without_any_source():
    config = load_config(env={})
    assert config == Config()
    assert config.ingest.sample_fps == 1.0
    assert config.ingest.scales == (30.0, 180.0, 600.0)
    assert config.models.vlm == "none"


def test_layers_apply_in_order(tmp_path: Path):
    toml = tmp_path / "longshot.toml"
    toml.write_text('home = "/data/ls"\n[ingest]\nsample_fps = 2\nbatch_frames = 8\n[frames]\nframe_cache_mb = 64\n')
    env = {"LONGSHOT_CONFIG": str(toml), "LONGSHOT_INGEST__BATCH_FRAMES": "16", "LONGSHOT_FRAMES__FRAME_CACHE_MB": "32"}
    config = load_config(env=env, overrides={"frames.frame_cache_mb": 8, "ingest.sample_fps": None})
    assert config.home == Path("/data/ls")
    assert config.ingest.sample_fps == 2.0  # TOML, since the flag was left unset
    assert config.ingest.batch_frames == 16  # environment beats TOML
    assert config.frames.frame_cache_mb == 8  # flags beat everything


def test_home_from_environment_and_tuple_parsing():
    config = load_config(env={"LONGSHOT_HOME": "/tmp/lib", "LONGSHOT_INGEST__SCALES": "30, 120"})
    assert config.home == Path("/tmp/lib")
    assert config.ingest.scales == (30.0, 120.0)


@pytest.mark.parametrize(
    "env, key",
    [
        ({"LONGSHOT_INGEST__SAMPLEFPS": "1"}, "ingest.samplefps"),
        ({"LONGSHOT_NOPE": "1"}, "nope"),
        ({"LONGSHOT_INGEST": "1"}, "ingest"),
        ({"LONGSHOT_INGEST__SAMPLE_FPS": "fast"}, "ingest.sample_fps"),
        ({"LONGSHOT_INGEST__BATCH_FRAMES": "2.5"}, "ingest.batch_frames"),
        ({"LONGSHOT_INGEST__SAMPLE_FPS": "nan"}, "ingest.sample_fps"),
        ({"LONGSHOT_WEB__PORT": ""}, "web.port"),
    ],
)
def test_bad_keys_and_types_name_the_key(env, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(env=env)


def test_toml_type_errors_and_broken_files(tmp_path: Path):
    bad_type = tmp_path / "a.toml"
    bad_type.write_text("[models]\nocr = 3\n")
    with pytest.raises(ConfigError, match="models.ocr"):
        load_config(bad_type, env={})
    broken = tmp_path / "b.toml"
    broken.write_text("[ingest\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", env={})


def test_replace_checks_keys():
    config = Config().replace(ingest__sample_fps=0.5)
    assert config.ingest.sample_fps == 0.5
    with pytest.raises(ConfigError):
        Config().replace(ingest__bogus=1)


_values = st.one_of(
    st.text(max_size=20), st.integers(), st.floats(allow_nan=True), st.booleans(), st.lists(st.integers(), max_size=3)
)
_keys = st.sampled_from(
    ["home", "ingest.sample_fps", "ingest.scales", "web.port", "models.vlm", "frames.frame_cache_mb", "x.y", "ingest.a.b"]
)


@given(st.dictionaries(_keys, _values, max_size=4))
def test_any_flags_give_a_config_or_a_config_error(flags):
    try:
        config = load_config(env={}, overrides=flags)
    except ConfigError as err:
        assert "configuration key" in str(err)
    else:
        assert isinstance(config, Config)
