"""The one chat client for any OpenAI-compatible endpoint (vLLM, SGLang, Ollama, llama.cpp
server, LM Studio, OpenAI).

Transient failures (connection errors, 408, 409, 429, 5xx) are retried with exponential
backoff and jitter, or after the server's Retry-After. Every attempt is bounded in
wall-clock time (`vlm.timeout_s`, see `perception.vlm.deadline`), not only per socket read,
so a server that trickles bytes forever cannot hang a question; a timed-out attempt is not
retried. Where a server rejects an optional parameter the request adapts once and the
client remembers (`perception.vlm.adapt`).

A model that cannot see (`capabilities`, learned once per endpoint) gets the text of a
message without its images: each image's caption stays. A prompt too long for the model's
context raises ContextOverflowError, so that the caller can shorten it.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import requests

from perception.config import VLMConfig
from perception.errors import ConfigError, VLMError
from perception.vlm.adapt import Adapter, Payload, Rejected
from perception.vlm.capability import Capabilities, remember, remembered, server_says
from perception.vlm.deadline import Retryable, TimedOut, post_within
from perception.vlm.messages import ImagePart, Message, VLMReply, VLMUsage, encode_messages, without_images
from perception.vlm.wire import (
    context_overflow,
    decode_body,
    error_message,
    refuses_images,
    rejection_message,
    reply_from,
    retry_after,
)

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
RETRIED_STATUSES = (408, 409, 429)  # and every 5xx
_MAX_RETRY_AFTER_S = 120.0  # a server asking for longer is out of quota, not busy
_MAX_BACKOFF_S = 60.0
ASSUMED = "assumed: the server did not say, and the probe got no answer"


class OpenAIChat:
    """A chat client for one model at one OpenAI-compatible endpoint; safe to share between threads."""

    def __init__(
        self,
        model: str,
        base_url: str = OPENAI_BASE_URL,
        config: VLMConfig | None = None,
        *,
        image_max_side: int = 768,
        jpeg_quality: int = 85,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.config = config or VLMConfig()
        if not model:
            raise ConfigError("the VLM model name is empty; set models.vlm to 'openai:<model>@<base-url>'")
        if self.config.max_images < 0 or self.config.max_retries < 0 or self.config.timeout_s <= 0:
            raise ConfigError("vlm.max_images and vlm.max_retries must be >= 0 and vlm.timeout_s > 0")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.image_max_side = image_max_side
        self.jpeg_quality = jpeg_quality
        self._api_key = self.config.api_key or os.environ.get("OPENAI_API_KEY", "")
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._usage = VLMUsage()
        self._adapter = Adapter()

    def __repr__(self) -> str:
        return f"OpenAIChat(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def usage(self) -> VLMUsage:
        return self._usage

    @property
    def source(self) -> str:
        """Where the model is served, as `longshot doctor` shows it."""
        return self.base_url

    @property
    def vision(self) -> bool:
        """Whether the model takes images; learned on first use (see `capabilities`)."""
        return self.capabilities.vision

    @property
    def capabilities(self) -> Capabilities:
        """Images or text only, and the context size: `vlm.max_images = 0` says text only; otherwise
        what the server says about itself, else a one-time probe with a tiny image, remembered per
        endpoint and model. Where neither answers, the model is taken to see, and asked again next time."""
        if self.config.max_images == 0:
            return Capabilities(False, 0, "vlm.max_images = 0")
        known = remembered(self.base_url, self.model)
        if known is not None:
            return known
        learned = server_says(self._session, self.base_url, self.model, self._headers()) or self._probe_images()
        if learned is None:
            return Capabilities(True, 0, ASSUMED)
        log.info("%s at %s: vision %s (from %s)", self.model, self.base_url, learned.vision, learned.source)
        return remember(self.base_url, self.model, learned)

    def describe(self) -> str:
        """Where the model is, its context and whether it sees, for `longshot doctor` (may ask the server)."""
        known = self.capabilities
        context = f"context {known.context_tokens} tokens" if known.context_tokens else "context not reported"
        how = known.source if known.source == ASSUMED else f"from {known.source}"
        return f"{self.source}; {context}; {'vision' if known.vision else 'text only'} ({how})"

    def chat(
        self,
        messages: Sequence[Message],
        max_tokens: int | None = None,
        json_mode: bool = False,
        schema: dict[str, Any] | None = None,
    ) -> VLMReply:
        """Send `messages`, return the reply text and its token counts.

        `json_mode` asks for a JSON object; `schema` for one that fits this JSON schema, where
        the server can constrain its output to it (llama.cpp, vLLM, SGLang) and
        `vlm.response_format` allows. A server that refuses a schema gets JSON mode, and one
        that refuses that gets neither (the caller parses the text either way).

        Raises ContextOverflowError when the prompt does not fit the model's context,
        VLMError when the endpoint fails after retries or times out, and ModelOutputError
        when it answers without any text.
        """
        if not messages:
            raise ValueError("chat() needs at least one message")
        if any(isinstance(part, ImagePart) for message in messages for part in message.content) and not self.vision:
            messages = without_images(messages)
        cap = self.config.max_images
        encoded, dropped = encode_messages(messages, self.image_max_side, cap, self.jpeg_quality)
        if dropped:
            log.info("sent %d of %d images to %s (vlm.max_images)", cap, cap + dropped, self.model)
        payload: Payload = {
            "model": self.model,
            "messages": encoded,
            "max_tokens": max_tokens or self.config.max_tokens,
            "temperature": self.config.temperature,
            "stream": False,
        }
        response_format = self._response_format(json_mode, schema)
        if response_format:
            payload["response_format"] = response_format
        try:
            body = self._adapter.send(payload, self._post, self.url)
        except Rejected as rejection:
            overflow = context_overflow(self.url, rejection.body)
            if overflow is not None:
                raise overflow from None
            raise VLMError(rejection_message(self.url, self.model, rejection.status, rejection.message)) from None
        reply = reply_from(body)
        with self._lock:
            self._usage = self._usage.plus(reply)
        return reply

    @property
    def constrained(self) -> bool:
        """Whether actions go out with their JSON schema: allowed by `vlm.response_format`, and not
        refused by this server so far."""
        return self.config.response_format == "json_schema" and not self._adapter.learned("json_schema")

    def _response_format(self, json_mode: bool, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        wanted = self.config.response_format
        if schema is not None and wanted == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
        if (json_mode or schema is not None) and wanted != "text":
            return {"type": "json_object"}
        return None

    def _probe_images(self) -> Capabilities | None:
        """Send one tiny image once: a 200 says the model sees, a refusal that it does not; None when
        the endpoint cannot answer now (down, timed out, a server error that says nothing of images)."""
        tiny = Message.user("Reply with OK.", ImagePart(np.full((16, 16, 3), 128, np.uint8)))
        encoded, _ = encode_messages([tiny], self.image_max_side, 1, self.jpeg_quality)
        payload = {"model": self.model, "messages": encoded, "max_tokens": 1, "temperature": 0.0, "stream": False}
        try:
            status, _, raw = post_within(self._session, self.url, payload, self._headers(), self.config.timeout_s)
        except (Retryable, TimedOut, VLMError):
            return None
        if status == 200:
            return Capabilities(True, 0, "a probe with an image")
        if status in (400, 415, 422) or refuses_images(error_message(raw)):
            return Capabilities(False, 0, "a probe with an image")
        return None

    def _post(self, payload: Payload) -> dict[str, Any]:
        """POST with retries on transient failures; the decoded JSON of a 200."""
        attempts = self.config.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            try:
                status, headers, raw = post_within(self._session, self.url, payload, self._headers(), self.config.timeout_s)
            except Retryable as failure:
                reason = str(failure)
            except TimedOut:
                raise VLMError(
                    f"no complete reply from {self.url} within {self.config.timeout_s:g} s; "
                    "raise vlm.timeout_s or use a faster model"
                ) from None
            else:
                if status == 200:
                    return decode_body(self.url, raw)
                message = error_message(raw)
                if (status not in RETRIED_STATUSES and status < 500) or refuses_images(message):
                    raise Rejected(status, message, raw)
                reason = f"HTTP {status}: {message}"
                wait = retry_after(headers)
                if wait is not None and wait > _MAX_RETRY_AFTER_S:
                    raise VLMError(f"{self.url} is rate limiting and asks to retry after {wait:g} s: {message}")
                if wait is not None and attempt + 1 < attempts:
                    log.warning("%s answered %s; retrying after %g s", self.url, reason, wait)
                    self._sleep(wait)
                    continue
            if attempt + 1 < attempts:
                delay = min(_MAX_BACKOFF_S, self.config.backoff_s * 2**attempt * self._rng.uniform(0.5, 1.0))
                log.warning("%s failed (%s); retry %d of %d in %.1f s", self.url, reason, attempt + 1, attempts - 1, delay)
                self._sleep(delay)
        raise VLMError(
            f"VLM endpoint {self.url} failed after {attempts} attempt(s): {reason}. "
            "Check that the server is running and reachable (models.vlm), or raise vlm.max_retries"
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "longshot"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers
