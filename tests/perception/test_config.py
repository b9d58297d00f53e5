"""Configuration resolves defaults < TOML < environment < flags, and names bad keys."""

import dataclasses
import math
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from perception.config import Config, load_config
from perception.errors import ConfigError


def test_defaults_without_any_source():
    config = load_config(env={})
    assert config == Config()
    assert config.home == Path("~/.longshot").expanduser()
    assert config.ingest.sample_fps == 1.0
    assert config.ingest.scales == (30.0, 180.0, 600.0)
    assert config.models.vlm == "none"
    assert config.models.cpu_threads == 1


def test_layers_apply_in_order(tmp_path: Path):
    toml = tmp_path / "longshot.toml"
    toml.write_text('home = "/data/ls"\n[ingest]\nsample_fps = 2\nbatch_frames = 8\n[frames]\nframe_cache_mb = 64\n')
    env = {"LONGSHOT_CONFIG": str(toml), "LONGSHOT_INGEST__BATCH_FRAMES": "16", "LONGSHOT_FRAMES__FRAME_CACHE_MB": "32"}
    config = load_config(env=env, overrides={"frames.frame_cache_mb": 8, "ingest.sample_fps": None})
    assert config.home == Path("/data/ls")
    assert config.ingest.sample_fps == 2.0  # TOML, since the flag was left unset
    assert config.ingest.batch_frames == 16  # environment beats TOML
    assert config.frames.frame_cache_mb == 8  # flags beat everything
    assert config.ingest.segment_seconds == 10.0  # no layer set it: the default


def test_an_explicit_path_beats_longshot_config(tmp_path: Path):
    named, from_env = tmp_path / "named.toml", tmp_path / "env.toml"
    named.write_text("[agent]\nmax_steps = 3\n")
    from_env.write_text("[agent]\nmax_steps = 5\n")
    assert load_config(named, env={"LONGSHOT_CONFIG": str(from_env)}).agent.max_steps == 3
    assert load_config(env={"LONGSHOT_CONFIG": str(from_env)}).agent.max_steps == 5


_LAYERS = ("toml", "env", "flag")


@given(st.dictionaries(st.sampled_from(_LAYERS), st.integers(1, 1000), max_size=3))
def test_the_highest_layer_that_sets_a_key_wins(tmp_path_factory, values: dict[str, int]):
    env: dict[str, str] = {}
    if "toml" in values:
        toml = tmp_path_factory.mktemp("cfg") / "longshot.toml"
        toml.write_text(f"[agent]\nsearch_top_k = {values['toml']}\n")
        env["LONGSHOT_CONFIG"] = str(toml)
    if "env" in values:
        env["LONGSHOT_AGENT__SEARCH_TOP_K"] = str(values["env"])
    config = load_config(env=env, overrides={"agent.search_top_k": values.get("flag")})
    winner = next((values[layer] for layer in reversed(_LAYERS) if layer in values), Config().agent.search_top_k)
    assert config.agent.search_top_k == winner
    assert config.agent.max_steps == Config().agent.max_steps


def test_home_from_environment_and_tuple_parsing():
    config = load_config(env={"LONGSHOT_HOME": "/tmp/lib", "LONGSHOT_INGEST__SCALES": "30, 120"})
    assert config.home == Path("/tmp/lib")
    assert config.ingest.scales == (30.0, 120.0)
    assert load_config(env={}, overrides={"home": "~/lib"}).home == Path("~/lib").expanduser()


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
        ({"LONGSHOT_MODELS__CPU_THREADS": "0"}, "models.cpu_threads"),
        ({"LONGSHOT_MODELS__CPU_THREADS": "-1"}, "models.cpu_threads"),
        ({"LONGSHOT_HOME": ""}, "home"),
    ],
)
def test_bad_keys_and_types_name_the_key(env, key):
    with pytest.raises(ConfigError, match=f"'{key}'.*from environment"):
        load_config(env=env)


@pytest.mark.parametrize(
    "toml, key",
    [
        ("[models]\nocr = 3\n", "models.ocr"),
        ("[models]\ncpu_threads = 0\n", "models.cpu_threads"),
        ("[ingest]\nsample_fps = true\n", "ingest.sample_fps"),
        ("[ingest]\nscales = [30, 0]\n", "ingest.scales"),
        ("[frames]\nframe_cache_mb = 1\nbogus = 2\n", "frames.bogus"),
    ],
)
def test_toml_type_errors_name_the_key_and_the_file(tmp_path: Path, toml: str, key: str):
    path = tmp_path / "a.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=f"'{key}'.*from {path}"):
        load_config(path, env={})


def test_broken_and_missing_files(tmp_path: Path):
    broken = tmp_path / "b.toml"
    broken.write_text("[ingest\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", env={})


def test_replace_checks_keys_and_ranges():
    config = Config().replace(ingest__sample_fps=0.5, **{"agent.max_steps": 2})
    assert (config.ingest.sample_fps, config.agent.max_steps) == (0.5, 2)
    assert config.ingest.batch_frames == Config().ingest.batch_frames
    with pytest.raises(ConfigError, match="unknown configuration key 'ingest.bogus'"):
        Config().replace(ingest__bogus=1)
    with pytest.raises(ConfigError, match="'models.cpu_threads'"):
        Config().replace(models__cpu_threads=0)


def test_a_config_is_a_frozen_value_workers_can_receive():
    config = Config().replace(ingest__scales=(10, 20), home="/tmp/lib")
    assert pickle.loads(pickle.dumps(config)) == config  # the eval runner ships it to processes and Ray
    assert hash(config) == hash(Config().replace(ingest__scales=(10.0, 20.0), home="/tmp/lib"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.ingest.sample_fps = 2.0  # type: ignore[misc]
    assert dataclasses.asdict(config)["ingest"]["scales"] == (10.0, 20.0)
    assert dataclasses.replace(config.web, port=8080).port == 8080
    with pytest.raises(ValueError, match="port"):  # replace is validated too: no way around the ranges
        dataclasses.replace(config.web, port=70000)


# Each flag comes with whether it is valid and then the value the config must hold, or else the key the error must name.
def _flag(key: str, good: st.SearchStrategy, bad: st.SearchStrategy, expect=lambda v: v):
    return st.one_of(good.map(lambda v: (key, v, True, expect(v))), bad.map(lambda v: (key, v, False, key)))


_text = st.text(max_size=12)
_FLAGS = st.one_of(
    _flag(
        "ingest.sample_fps",
        st.floats(0.001, 1000) | st.integers(1, 1000),
        st.floats(allow_nan=True).filter(lambda v: not 0.001 <= v <= 1000) | st.booleans() | st.sampled_from(["fast", "", "1e"]),
        float,
    ),
    _flag(
        "web.port",
        st.integers(0, 65535),
        st.integers(65536, 10**9)
        | st.floats(0.5, 9.5).filter(lambda v: v % 1)
        | _text.filter(lambda t: not any(map(str.isdigit, t))),
    ),
    _flag("models.vlm", _text, st.integers() | st.lists(st.integers(), max_size=2)),
    _flag(
        "ingest.scales",
        st.lists(st.floats(0.1, 10**7), max_size=3),
        st.lists(st.floats(0.1, 10**7), max_size=2).map(lambda v: [*v, 0.0]),
        tuple,
    ),
    _flag("home", st.sampled_from(["/tmp/lib", "~/lib", "lib"]), st.integers() | st.just("  "), lambda v: Path(v).expanduser()),
    st.sampled_from([("x.y", "x"), ("ingest.a.b", "ingest.a"), ("ingest.samplefps", "ingest.samplefps")]).map(
        lambda unknown: (unknown[0], 1, False, unknown[1])
    ),
)


@given(st.lists(_FLAGS, max_size=4, unique_by=lambda flag: flag[0]))
def test_flags_give_exactly_their_values_or_an_error_naming_a_bad_key(flags):
    overrides = {key: value for key, value, _, _ in flags}
    bad = [named for _, _, valid, named in flags if not valid]
    try:
        config = load_config(env={}, overrides=overrides)
    except ConfigError as err:
        assert bad, f"valid flags refused: {err}"
        assert any(f"'{key}'" in str(err) for key in bad), str(err)
        return
    assert not bad, f"accepted {bad}"
    for key, _, _, expected in flags:
        value = config
        for part in key.split("."):
            value = getattr(value, part)
        assert value == expected or (isinstance(value, float) and math.isclose(value, expected))
