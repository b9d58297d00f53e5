"""What a model behind an endpoint can take: images or text only, and its context size.

Learned once per endpoint and model, and remembered for the life of the process: first
from what the server says about itself where it says it (llama.cpp's `/props`, a model
list that names input modalities or a context length as llama.cpp and vLLM give, Ollama's
`/api/show`), otherwise by the client's one-time probe with a tiny image
(`OpenAIChat.capabilities`). A server that says nothing and cannot be probed is assumed to
see, as before, and asked again next time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

METADATA_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Capabilities:
    vision: bool
    context_tokens: int  # per request; 0 where the server does not say
    source: str  # how it was learned, for `longshot doctor` and logs


_known: dict[tuple[str, str], Capabilities] = {}
_lock = threading.Lock()


def remembered(base_url: str, model: str) -> Capabilities | None:
    with _lock:
        return _known.get((base_url, model))


def remember(base_url: str, model: str, capabilities: Capabilities) -> Capabilities:
    with _lock:
        return _known.setdefault((base_url, model), capabilities)


def forget() -> None:
    """Forget everything learned (a server replaced at the same address may differ; tests start clean)."""
    with _lock:
        _known.clear()


def server_says(session: requests.Session, base_url: str, model: str, headers: Mapping[str, str]) -> Capabilities | None:
    """What the server's own metadata says, or None where it says nothing about images."""
    root = base_url.removesuffix("/v1")

    def get(url: str) -> Any:
        return _json(lambda: session.get(url, headers=dict(headers), timeout=METADATA_TIMEOUT_S))

    def post(url: str, body: dict[str, Any]) -> Any:
        return _json(lambda: session.post(url, json=body, headers=dict(headers), timeout=METADATA_TIMEOUT_S))

    props = get(f"{root}/props")
    if isinstance(props, dict) and isinstance(props.get("modalities"), dict):
        settings = props.get("default_generation_settings")
        context = settings.get("n_ctx") if isinstance(settings, dict) else None
        return Capabilities(bool(props["modalities"].get("vision")), _count(context), "/props")
    listed = _entry(get(f"{base_url}/models"), model)
    context = _count(listed.get("max_model_len")) or _count(_field(listed, "meta", "n_ctx"))
    modalities = _field(listed, "architecture", "input_modalities")
    if isinstance(modalities, list):
        return Capabilities("image" in modalities, context, "/models")
    shown = post(f"{root}/api/show", {"model": model})
    if isinstance(shown, dict) and isinstance(shown.get("capabilities"), list):
        return Capabilities("vision" in shown["capabilities"], context, "/api/show")
    return None


def _json(request: Callable[[], requests.Response]) -> Any:
    try:
        response = request()
        return response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def _entry(listing: Any, model: str) -> dict[str, Any]:
    """The model's entry in an OpenAI model list (the only one, where the server serves one)."""
    data = listing.get("data") if isinstance(listing, dict) else None
    entries = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
    named = [e for e in entries if model == e.get("id") or model in _names(e.get("aliases"))]
    return (named or (entries if len(entries) == 1 else [{}]))[0]


def _names(aliases: Any) -> list[str]:
    return [a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else []


def _field(entry: dict[str, Any], section: str, key: str) -> Any:
    value = entry.get(section)
    return value.get(key) if isinstance(value, dict) else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
