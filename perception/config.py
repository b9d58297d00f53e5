"""One configuration tree: defaults, then a TOML file, then LONGSHOT_* variables, then flags.

Sections are frozen dataclasses, so a resolved `Config` can be shared between threads
and processes without anyone changing it under another's feet. Environment variables
name nested keys with a double underscore (`LONGSHOT_INGEST__SAMPLE_FPS=2`); the library
home is plain `LONGSHOT_HOME`. Unknown keys and wrong types raise `ConfigError` naming
the key, because a typo silently ignored is a setting silently lost.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perception.errors import ConfigError

ENV_PREFIX = "LONGSHOT_"


@dataclass(frozen=True)
class ModelsConfig:
    """Backend per role, as `"<backend>:<model>"`, or `"none"` to turn a role off."""

    ocr: str = "rapidocr:PP-OCRv6"
    speech: str = "faster-whisper:tiny.en"
    text_embedding: str = "sentence-transformers:all-MiniLM-L6-v2"
    image_embedding: str = "open_clip:ViT-B-32/laion2b_s34b_b79k"
    detector: str = "ultralytics:yolo11n.pt"
    vlm: str = "none"
    device: str = "cpu"
    # Threads per model on the CPU. Ingest runs OCR, speech and embeddings side by side, so one
    # each keeps the cores busy; more makes their spinning thread pools fight (measured: 120 s
    # -> 94 s for an hour of footage on 2 cores, and 10x faster query embeddings under load).
    cpu_threads: int = 1


@dataclass(frozen=True)
class VLMConfig:
    """How to talk to an OpenAI-compatible endpoint; the key falls back to OPENAI_API_KEY."""

    api_key: str = ""
    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 1.0
    max_images: int = 8
    max_tokens: int = 512
    temperature: float = 0.0


@dataclass(frozen=True)
class IngestConfig:
    sample_fps: float = 1.0
    batch_frames: int = 32
    segment_seconds: float = 10.0
    scales: tuple[float, ...] = (30.0, 180.0, 600.0)
    frame_max_side: int = 448
    jpeg_quality: int = 85
    bundle_frames: int = 16
    ocr_change_threshold: float = 0.08
    max_file_gb: float = 64.0


@dataclass(frozen=True)
class FramesConfig:
    frame_cache_mb: int = 256


@dataclass(frozen=True)
class AgentConfig:
    max_steps: int = 8
    max_invalid: int = 3
    inspect_frames: int = 8
    search_top_k: int = 5
    abstain_below: float = 0.2


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: int = 2048
    ingest_concurrency: int = 1
    ask_concurrency: int = 4


@dataclass(frozen=True)
class Config:
    home: Path = field(default_factory=lambda: Path("~/.longshot").expanduser())
    media: str = ""  # the real media folder the needle sets are built from (LONGSHOT_MEDIA); "" when not named
    models: ModelsConfig = field(default_factory=ModelsConfig)
    vlm: VLMConfig = field(default_factory=VLMConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    frames: FramesConfig = field(default_factory=FramesConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    web: WebConfig = field(default_factory=WebConfig)

    def replace(self, **dotted: Any) -> Config:
        """A copy with `section.key=value` overrides applied and checked."""
        return _apply(self, {k.replace("__", "."): v for k, v in dotted.items()}, source="argument")


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
        config = _apply(config, _flatten(_read_toml(Path(path))), source=str(path))
    config = _apply(config, _from_env(env), source="environment")
    if overrides:
        config = _apply(config, {k: v for k, v in overrides.items() if v is not None}, source="flags")
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} does not exist") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for name, value in env.items():
        if name.startswith(ENV_PREFIX) and name != ENV_PREFIX + "CONFIG":
            found[name[len(ENV_PREFIX) :].lower().replace("__", ".")] = value
    return found


def _apply(config: Config, flat: Mapping[str, Any], source: str) -> Config:
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for dotted, raw in flat.items():
        head, _, rest = dotted.partition(".")
        fields = {f.name: f for f in dataclasses.fields(Config)}
        if head not in fields:
            raise ConfigError(f"unknown configuration key '{dotted}' (from {source})")
        current = getattr(config, head)
        if not rest:
            if dataclasses.is_dataclass(current):
                raise ConfigError(f"configuration key '{dotted}' is a section, not a value (from {source})")
            top[head] = _coerce(dotted, raw, _hints(Config)[head], source)
            continue
        if not dataclasses.is_dataclass(current) or "." in rest:
            raise ConfigError(f"unknown configuration key '{dotted}' (from {source})")
        hints = _hints(type(current))
        if rest not in hints:
            raise ConfigError(f"unknown configuration key '{dotted}' (from {source})")
        sections.setdefault(head, {})[rest] = _within_limits(dotted, _coerce(dotted, raw, hints[rest], source), source)
    changes = dict(top)
    for head, values in sections.items():
        changes[head] = dataclasses.replace(getattr(config, head), **values)
    return dataclasses.replace(config, **changes)


LIMITS: dict[str, tuple[float, float]] = {
    # Inclusive bounds of the numeric settings. A value outside is refused here, by name, instead of
    # failing later deep inside ingest or a question (division by zero, infinite loops, ValueErrors).
    "vlm.timeout_s": (0.001, 86400),
    "vlm.max_retries": (0, 100),
    "vlm.backoff_s": (0, 3600),
    "vlm.max_images": (0, 1000),
    "vlm.max_tokens": (1, 10**7),
    "vlm.temperature": (0, 10),
    "ingest.sample_fps": (0.001, 1000),
    "ingest.batch_frames": (1, 100_000),
    "ingest.segment_seconds": (0.1, 86400),
    "ingest.scales": (0.1, 10**7),
    "ingest.frame_max_side": (16, 16384),
    "ingest.jpeg_quality": (1, 100),
    "ingest.bundle_frames": (1, 99_999),
    "ingest.ocr_change_threshold": (1e-6, 1),
    "ingest.max_file_gb": (0.001, 10**9),
    "frames.frame_cache_mb": (0, 10**7),
    "agent.max_steps": (0, 1000),
    "agent.max_invalid": (0, 1000),
    "agent.inspect_frames": (1, 256),
    "agent.search_top_k": (1, 1000),
    "agent.abstain_below": (0, 1),
    "web.port": (0, 65535),
    "web.max_upload_mb": (1, 10**7),
    "web.ingest_concurrency": (1, 64),
    "web.ask_concurrency": (1, 1024),
}


def _within_limits(key: str, value: Any, source: str) -> Any:
    low, high = LIMITS.get(key, (None, None))
    if low is None:
        return value
    for item in value if isinstance(value, tuple) else (value,):
        if not low <= item <= high:
            raise ConfigError(f"configuration key '{key}' must be between {low:g} and {high:g}, got {item!r} (from {source})")
    return value


def _hints(cls: type) -> dict[str, Any]:
    return {name: hint for name, hint in typing.get_type_hints(cls).items() if not name.startswith("_")}


def _coerce(key: str, raw: Any, hint: Any, source: str) -> Any:
    """Turn a TOML value, an env string or a flag into the declared type, or say why not."""

    def wrong(expected: str) -> ConfigError:
        return ConfigError(f"configuration key '{key}' must be {expected}, got {raw!r} (from {source})")

    if hint is Path:
        if not isinstance(raw, (str, Path)) or not str(raw):
            raise wrong("a path")
        return Path(raw).expanduser()
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return raw.lower() in {"1", "true", "yes", "on"}
        raise wrong("true or false")
    if hint is int:
        if isinstance(raw, bool):
            raise wrong("an integer")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw.strip())
            except ValueError:
                pass
        raise wrong("an integer")
    if hint is float:
        value = raw
        if isinstance(raw, str):
            try:
                value = float(raw.strip())
            except ValueError:
                raise wrong("a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise wrong("a number")
        return float(value)
    if hint is str:
        if not isinstance(raw, str):
            raise wrong("a string")
        return raw
    if typing.get_origin(hint) is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, (list, tuple)):
            raise wrong("a list")
        return tuple(_coerce(key, i.strip() if isinstance(i, str) else i, item, source) for i in items if i != "")
    if isinstance(hint, types.UnionType):
        raise wrong(str(hint))
    raise ConfigError(f"configuration key '{key}' has an unsupported type {hint}")
