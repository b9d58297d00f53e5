"""One configuration tree: defaults, then a TOML file, then LONGSHOT_* variables, then flags.

Sections are frozen pydantic dataclasses: a resolved `Config` can be shared between threads
and processes (pickled to workers, hashed) without anyone changing it under another's feet,
and every way of building one, `dataclasses.replace` included, is validated. Each number
declares its range beside its field, so a value outside is refused by name here instead of
failing later deep inside ingest or a question. Environment variables name nested keys with
a double underscore (`LONGSHOT_INGEST__SAMPLE_FPS=2`); the library home is plain
`LONGSHOT_HOME`. Unknown keys and wrong types raise `ConfigError` naming the key, because a
typo silently ignored is a setting silently lost.

pydantic alone, not pydantic-settings: tried on this tree, pydantic-settings ignores an
unknown `LONGSHOT_NOPE`, wants JSON for a list in the environment (`[30, 120]`, not
`30, 120`), reads `os.environ` rather than a given mapping, and merges every layer before it
validates, so an error could not say which layer it came from. The layering it would add is
the dict merge below.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from perception.errors import ConfigError

ENV_PREFIX = "LONGSHOT_"


def _not_bool(value: Any) -> Any:
    """pydantic reads true as 1; a switch where a number belongs is a mistake, not a number."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _comma_list(value: Any) -> Any:
    """`"30, 120"` (an environment variable or a flag) as a list; lists pass as they are."""
    return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


def _not_empty(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must be a path, not empty")
    return value


Int = Annotated[int, BeforeValidator(_not_bool)]
Real = Annotated[float, BeforeValidator(_not_bool)]
Home = Annotated[Path, BeforeValidator(_not_empty), AfterValidator(Path.expanduser)]
_SECTION = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True, config=_SECTION)
class ModelsConfig:
    """Backend per role, as `"<backend>:<model>"`, or `"none"` to turn a role off."""

    ocr: str = "rapidocr:PP-OCRv6"
    speech: str = "faster-whisper:tiny.en"
    text_embedding: str = "onnx:all-MiniLM-L6-v2"
    image_embedding: str = "open_clip:ViT-B-32/laion2b_s34b_b79k"
    detector: str = "ultralytics:yolo11n.pt"
    vlm: str = "none"
    device: str = "cpu"
    # Threads per model on the CPU. Ingest runs OCR, speech and embeddings side by side, so one
    # each keeps the cores busy; more makes their spinning thread pools fight (measured: 120 s
    # -> 94 s for an hour of footage on 2 cores, and 10x faster query embeddings under load).
    cpu_threads: Int = Field(default=1, ge=1, le=4096)


@dataclass(frozen=True, config=_SECTION)
class VLMConfig:
    """How to talk to an OpenAI-compatible endpoint; the key falls back to OPENAI_API_KEY."""

    api_key: str = ""
    timeout_s: Real = Field(default=60.0, ge=0.001, le=86400)
    max_retries: Int = Field(default=3, ge=0, le=100)
    backoff_s: Real = Field(default=1.0, ge=0, le=3600)
    max_images: Int = Field(default=8, ge=0, le=1000)
    max_tokens: Int = Field(default=512, ge=1, le=10**7)
    temperature: Real = Field(default=0.0, ge=0, le=10)
    # How actions are asked for: constrained to their JSON schema where the server can
    # (llama.cpp, vLLM, SGLang), else plain JSON mode, else parsed from free text.
    response_format: Literal["json_schema", "json_object", "text"] = "json_schema"
    # A `llamacpp:` model's context per request, and how many requests it serves at once
    # (llama.cpp slots; the KV cache holds context_tokens x parallel tokens).
    context_tokens: Int = Field(default=4096, ge=256, le=10**7)
    parallel: Int = Field(default=2, ge=1, le=64)


@dataclass(frozen=True, config=_SECTION)
class IngestConfig:
    sample_fps: Real = Field(default=1.0, ge=0.001, le=1000)
    batch_frames: Int = Field(default=32, ge=1, le=100_000)
    segment_seconds: Real = Field(default=10.0, ge=0.1, le=86400)
    scales: Annotated[
        tuple[Annotated[float, Field(ge=0.1, le=10**7), BeforeValidator(_not_bool)], ...], BeforeValidator(_comma_list)
    ] = (30.0, 180.0, 600.0)
    frame_max_side: Int = Field(default=448, ge=16, le=16384)
    jpeg_quality: Int = Field(default=85, ge=1, le=100)
    bundle_frames: Int = Field(default=16, ge=1, le=99_999)
    ocr_change_threshold: Real = Field(default=0.08, ge=1e-6, le=1)
    max_file_gb: Real = Field(default=64.0, ge=0.001, le=10**9)
    # Motion (activity, camera motion, stillness) from the sampled frames, in a process of its own.
    motion: bool = True
    # Extra frames at perception.motion's local rate where activity starts and ends: onsets within
    # 0.1 s instead of 0.5 s, for about twice motion's cost (mostly seeking to decode them).
    motion_refine: bool = False


@dataclass(frozen=True, config=_SECTION)
class FramesConfig:
    frame_cache_mb: Int = Field(default=256, ge=0, le=10**7)


@dataclass(frozen=True, config=_SECTION)
class AgentConfig:
    max_steps: Int = Field(default=8, ge=0, le=1000)
    max_invalid: Int = Field(default=3, ge=0, le=1000)
    inspect_frames: Int = Field(default=8, ge=1, le=256)
    search_top_k: Int = Field(default=5, ge=1, le=1000)
    abstain_below: Real = Field(default=0.2, ge=0, le=1)
    # A question across the library: the agent runs on at most this many candidate videos, and on no
    # more once this many seconds have gone (the first always runs).
    library_videos: Int = Field(default=3, ge=1, le=100)
    library_seconds: Real = Field(default=120.0, ge=0.1, le=86400)
    # What a configured VLM or LLM does: pick every action and write the answer ("policy"),
    # or only write free-form answers from the evidence the offline policy found ("reader").
    vlm_role: Literal["policy", "reader"] = "policy"


@dataclass(frozen=True, config=_SECTION)
class WebConfig:
    host: str = "127.0.0.1"
    port: Int = Field(default=7860, ge=0, le=65535)
    max_upload_mb: Int = Field(default=2048, ge=1, le=10**7)
    ingest_concurrency: Int = Field(default=1, ge=1, le=64)
    ask_concurrency: Int = Field(default=4, ge=1, le=1024)


_USER = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_PASSWORD_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[0-9a-f]{16,}\$[0-9a-f]{32,}")
_TOKEN_HASH = re.compile(r"sha256\$[0-9a-f]{64}")


def _secrets(key: str, kind: str, pattern: re.Pattern, command: str) -> Any:
    """`{name: hash}` (a TOML table) or `"name=hash, ..."` (a variable) as sorted pairs, each checked.

    A refusal is a ConfigError raised here, not a ValueError, so that pydantic does not quote the
    value: a password pasted where its hash belongs must not be printed back."""

    def refuse(reason: str) -> ConfigError:
        return ConfigError(f"configuration key '{key}': {reason}")

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            value = dict(item.split("=", 1) if "=" in item else (item, "") for item in _comma_list(value))
        if isinstance(value, Mapping):
            value = sorted((str(name).strip(), str(stored).strip()) for name, stored in value.items())
        if not isinstance(value, (list, tuple)) or not all(isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in value):
            raise refuse(f"must be a table of {kind} names and hashes")
        for name, stored in value:
            if not _USER.fullmatch(str(name)):
                raise refuse(f"{kind} name {str(name)[:64]!r} must be 1-64 letters, digits or _.@-")
            if not pattern.fullmatch(str(stored)):
                raise refuse(f"the {kind} {name!r} needs a hash, not a secret in plain text; make one with `{command}`")
        return value

    return BeforeValidator(parse)


Secrets = tuple[tuple[str, str], ...]


@dataclass(frozen=True, config=_SECTION)
class AuthConfig:
    """Who may use a server bound beyond loopback (web app, MCP over HTTP): users with scrypt password
    hashes (`longshot auth user NAME` prints one) and programs with bearer tokens, kept as sha256 hashes
    (`longshot auth token NAME`). Failed attempts past `max_failures` per client in `window_s` wait."""

    users: Annotated[Secrets, _secrets("auth.users", "user", _PASSWORD_HASH, "longshot auth user NAME")] = ()
    tokens: Annotated[Secrets, _secrets("auth.tokens", "token", _TOKEN_HASH, "longshot auth token NAME")] = ()
    max_failures: Int = Field(default=5, ge=1, le=10**6)
    max_failures_overall: Int = Field(default=50, ge=1, le=10**9)
    window_s: Real = Field(default=60.0, ge=1, le=86400)
    session_hours: Real = Field(default=12.0, ge=0.01, le=24 * 365)


@dataclass(frozen=True, config=_SECTION)
class Config:
    home: Home = field(default_factory=lambda: Path("~/.longshot").expanduser())
    media: str = ""  # the real media folder the needle sets are built from (LONGSHOT_MEDIA); "" when not named
    models: ModelsConfig = field(default_factory=ModelsConfig)
    vlm: VLMConfig = field(default_factory=VLMConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    frames: FramesConfig = field(default_factory=FramesConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    web: WebConfig = field(default_factory=WebConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)

    def replace(self, **dotted: Any) -> Config:
        """A copy with `section__key=value` (or `"section.key"`) overrides applied and checked."""
        return _apply(self, _nest(dotted, "argument"), "argument")


_TREE = TypeAdapter(Config)


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Resolve the configuration in the documented order.

    `path` defaults to `$LONGSHOT_CONFIG`; `overrides` are dotted keys from flags
    (`{"ingest.sample_fps": 2.0}`); None values in overrides are ignored, so a CLI can
    pass every flag and let the unset ones fall through.
    """
    env = os.environ if env is None else env
    config = Config()
    path = path or env.get(ENV_PREFIX + "CONFIG")
    if path:
        config = _apply(config, _read_toml(Path(path)), str(path))
    variables = {
        name[len(ENV_PREFIX) :].lower(): value
        for name, value in env.items()
        if name.startswith(ENV_PREFIX) and name != ENV_PREFIX + "CONFIG"
    }
    config = _apply(config, _nest(variables, "environment"), "environment")
    flags = {key: value for key, value in (overrides or {}).items() if value is not None}
    return _apply(config, _nest(flags, "flags"), "flags")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} does not exist") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err


def _nest(flat: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`{"ingest.sample_fps": 2}` or `{"ingest__sample_fps": 2}` as `{"ingest": {"sample_fps": 2}}`."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        *sections, name = key.replace("__", ".").split(".")
        node = tree
        for depth, section in enumerate(sections, 1):
            node = node.setdefault(section, {})
            if not isinstance(node, dict):
                raise _both(".".join(sections[:depth]), source)
        if isinstance(node.get(name), dict):
            raise _both(key, source)
        node[name] = value
    return tree


def _both(key: str, source: str) -> ConfigError:
    return ConfigError(f"configuration key '{key}' is given both as a value and as a section (from {source})")


def _merge(base: dict[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in layer.items():
        below = merged.get(key)
        merged[key] = _merge(below, value) if isinstance(below, dict) and isinstance(value, Mapping) else value
    return merged


def _apply(config: Config, layer: Mapping[str, Any], source: str) -> Config:
    """`config` with one layer of settings over it, validated whole; the error names the layer."""
    if not layer:
        return config
    try:
        return _TREE.validate_python(_merge(dataclasses.asdict(config), layer))
    except ValidationError as err:
        raise _refusal(err, source) from None


def _refusal(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"] if isinstance(part, str))
    if first["type"] in {"unexpected_keyword_argument", "extra_forbidden"}:
        return ConfigError(f"unknown configuration key '{key}' (from {source})")
    if first["type"] == "dataclass_type":
        return ConfigError(f"configuration key '{key}' is a section, not a value (from {source})")
    reason = first["msg"].removeprefix("Value error, ")
    given = repr(first["input"])
    given = given if len(given) <= 80 else given[:77] + "..."
    return ConfigError(f"configuration key '{key}': {reason[:1].lower()}{reason[1:]}, got {given} (from {source})")
