"""Requests reshaped for servers that reject an optional parameter.

The same request works against vLLM, SGLang, Ollama, llama.cpp server, LM Studio and
OpenAI, except where a server refuses an optional key (`response_format` on some local
servers, `max_tokens` and `temperature` on newer OpenAI models): then the request is sent
again without it, once, and the client remembers what this server needed. A JSON schema
that a server refuses becomes plain JSON mode first, and only then no format at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perception.vlm.wire import context_overflow

log = logging.getLogger(__name__)

Payload = dict[str, Any]


class Rejected(Exception):
    """The server answered 4xx: retrying the same request cannot help."""

    def __init__(self, status: int, message: str, body: bytes = b""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body


@dataclass(frozen=True)
class Adaptation:
    """How to reshape a request whose `key` a server rejected (400/422); tried once per request.

    `reason` must appear in the server's message, or None to try it on any 400; `fits` says
    which values of `key` it reshapes (any, by default).
    """

    name: str
    key: str
    reason: str | None
    apply: Callable[[Payload], Payload]
    fits: Callable[[Any], bool] = lambda value: True

    def reshapes(self, payload: Payload) -> bool:
        return self.key in payload and self.fits(payload[self.key])

    def applies(self, payload: Payload, rejection: Rejected) -> bool:
        explained = self.reason is None or self.reason in rejection.message
        return rejection.status in (400, 422) and self.reshapes(payload) and explained


def _without(key: str) -> Callable[[Payload], Payload]:
    return lambda payload: {k: v for k, v in payload.items() if k != key}


def _renamed_max_tokens(payload: Payload) -> Payload:
    return _without("max_tokens")(payload) | {"max_completion_tokens": payload["max_tokens"]}


def _json_mode(payload: Payload) -> Payload:
    return payload | {"response_format": {"type": "json_object"}}


def _is_schema(response_format: Any) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") == "json_schema"


# Specific reasons first (newer OpenAI models refuse max_tokens and temperature); the last
# two are the fallbacks for local servers that reject response_format in their own words:
# a JSON schema becomes JSON mode, and JSON mode goes.
ADAPTATIONS = (
    Adaptation("max_tokens", "max_tokens", "max_completion_tokens", _renamed_max_tokens),
    Adaptation("temperature", "temperature", "temperature", _without("temperature")),
    Adaptation("json_schema", "response_format", None, _json_mode, _is_schema),
    Adaptation("response_format", "response_format", None, _without("response_format"), lambda value: not _is_schema(value)),
)


class Adapter:
    """What one server needed so far; safe to share between threads."""

    def __init__(self) -> None:
        self._learned: set[str] = set()
        self._lock = threading.Lock()

    def send(self, payload: Payload, post: Callable[[Payload], Payload], url: str) -> Payload:
        """`post(payload)`, adapted as this server needed before, and again on each rejection an
        adaptation explains; a Rejected no adaptation explains is raised."""
        applied: list[Adaptation] = []
        with self._lock:
            learned = [a for a in ADAPTATIONS if a.name in self._learned]
        for adaptation in learned:
            if adaptation.reshapes(payload):
                payload = adaptation.apply(payload)
                applied.append(adaptation)
        while True:
            try:
                body = post(payload)
            except Rejected as rejection:
                if context_overflow(url, rejection.body) is not None:
                    raise  # too long is not a parameter this server refuses
                fix = next((a for a in ADAPTATIONS if a not in applied and a.applies(payload, rejection)), None)
                if fix is None:
                    raise
                log.info("%s rejected the request (%s); retrying adapted (%s)", url, rejection, fix.name)
                applied.append(fix)
                payload = fix.apply(payload)
                continue
            with self._lock:
                self._learned.update(a.name for a in applied)
            return body

    def learned(self, name: str) -> bool:
        """Whether this server needed the adaptation `name` (e.g. 'json_schema': it refused schemas)."""
        with self._lock:
            return name in self._learned
