"""Requests reshaped for servers that reject an optional parameter.

The same request works against vLLM, SGLang, Ollama, llama.cpp server, LM Studio and
OpenAI, except where a server refuses an optional key (`response_format` on some local
servers, `max_tokens` and `temperature` on newer OpenAI models): then the request is sent
again without it, once, and the client remembers what this server needed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Payload = dict[str, Any]


class Rejected(Exception):
    """The server answered 4xx: retrying the same request cannot help."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Adaptation:
    """How to reshape a request whose `key` a server rejected (400/422); tried once per request.

    `reason` must appear in the server's message, or None to try it on any 400.
    """

    key: str
    reason: str | None
    apply: Callable[[Payload], Payload]

    def applies(self, payload: Payload, rejection: Rejected) -> bool:
        explained = self.reason is None or self.reason in rejection.message
        return rejection.status in (400, 422) and self.key in payload and explained


def _without(key: str) -> Callable[[Payload], Payload]:
    return lambda payload: {k: v for k, v in payload.items() if k != key}


def _renamed_max_tokens(payload: Payload) -> Payload:
    return _without("max_tokens")(payload) | {"max_completion_tokens": payload["max_tokens"]}


# Specific reasons first (newer OpenAI models refuse max_tokens and temperature); the
# last is the fallback for local servers that reject response_format in their own words.
ADAPTATIONS = (
    Adaptation("max_tokens", "max_completion_tokens", _renamed_max_tokens),
    Adaptation("temperature", "temperature", _without("temperature")),
    Adaptation("response_format", None, _without("response_format")),
)


class Adapter:
    """What one server needed so far; safe to share between threads."""

    def __init__(self) -> None:
        self._learned: set[str] = set()
        self._lock = threading.Lock()

    def send(self, payload: Payload, post: Callable[[Payload], Payload], url: str) -> Payload:
        """`post(payload)`, adapted as this server needed before, and again on each rejection an
        adaptation explains; a Rejected no adaptation explains is raised."""
        with self._lock:
            applied = [a for a in ADAPTATIONS if a.key in self._learned and a.key in payload]
        for learned in applied:
            payload = learned.apply(payload)
        while True:
            try:
                body = post(payload)
            except Rejected as rejection:
                adaptation = next((a for a in ADAPTATIONS if a not in applied and a.applies(payload, rejection)), None)
                if adaptation is None:
                    raise
                log.info("%s rejected the request (%s); retrying without %s", url, rejection, adaptation.key)
                applied.append(adaptation)
                payload = adaptation.apply(payload)
                continue
            with self._lock:
                self._learned.update(a.key for a in applied)
            return body
