"""Talk to a vision-language model behind any OpenAI-compatible chat endpoint.

One message protocol for every caller (agent, captioner, sketchpad): a `Message` holds
text and `ImagePart`s; images travel as base64 JPEG data URLs, downscaled first, each
preceded by a text part that gives its timestamp (`[t=12:03]`), because a model cannot
tell when a frame was taken from its pixels. The same request works against vLLM,
SGLang, Ollama, llama.cpp server, LM Studio and OpenAI; where a server rejects an
optional parameter (`response_format`, `max_tokens` on newer OpenAI models) the client
adapts once and remembers.

Transient failures (connection errors, 408, 409, 429, 5xx) are retried with exponential
backoff and jitter, or after the server's Retry-After. Every attempt is bounded in
wall-clock time (`vlm.timeout_s`), not only per socket read, so a server that trickles
bytes forever cannot hang a question; a timed-out attempt is not retried.
"""

from __future__ import annotations

import base64
import email.utils
import io
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import requests
import urllib3.exceptions
from PIL import Image

from perception.config import VLMConfig
from perception.errors import ConfigError, ImageError, ModelOutputError, ModelUnavailableError, VLMError
from perception.timefmt import format_time

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
ROLES = ("system", "user", "assistant")

_CONNECT_TIMEOUT_S = 10.0
_DEADLINE_GRACE_S = 0.5  # lets the worker's own timeout error win over the watchdog's
_MAX_BODY_BYTES = 32 * 1024 * 1024
_MAX_RETRY_AFTER_S = 120.0  # a server asking for longer is out of quota, not busy
_MAX_BACKOFF_S = 60.0


@dataclass(frozen=True, eq=False)
class ImagePart:
    """An RGB image (uint8, HxWx3; gray and RGBA are converted) with when and what it is."""

    image: np.ndarray
    timestamp: float | None = None
    label: str | None = None

    def caption(self) -> str | None:
        """The text sent just before the image, e.g. `[t=12:03, crop of frame 42]`."""
        pieces = [f"t={format_time(self.timestamp)}"] if self.timestamp is not None else []
        pieces += [self.label] if self.label else []
        return f"[{', '.join(pieces)}]" if pieces else None


@dataclass(frozen=True)
class Message:
    role: str
    content: tuple[str | ImagePart, ...]

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"message role must be one of {ROLES}, got {self.role!r}")
        content = (self.content,) if isinstance(self.content, str) else tuple(self.content)
        for part in content:
            if not isinstance(part, (str, ImagePart)):
                raise TypeError(f"message content holds str or ImagePart, got {type(part).__name__}")
            if isinstance(part, ImagePart) and self.role != "user":
                raise ValueError("only user messages may carry images (OpenAI-compatible servers reject others)")
        object.__setattr__(self, "content", content)

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", (text,))

    @classmethod
    def user(cls, *parts: str | ImagePart) -> Message:
        return cls("user", parts)

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", (text,))


@dataclass(frozen=True)
class VLMReply:
    text: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class VLMUsage:
    """What a client has spent so far; token counts are 0 where a server reports none."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def encode_image(image: np.ndarray, max_side: int, quality: int = 85) -> bytes:
    """JPEG bytes of `image`, its longer side shrunk to `max_side` (never enlarged)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ImageError(f"an image for the VLM must be a uint8 numpy array, got {_describe(image)}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))) or image.size == 0:
        raise ImageError(f"an image for the VLM must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    picture = Image.fromarray(image).convert("RGB")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def encode_messages(
    messages: Sequence[Message], max_side: int, max_images: int, quality: int = 85
) -> tuple[list[dict[str, Any]], int]:
    """OpenAI chat messages, and how many images were left out to respect `max_images`.

    Over the cap, the images kept are evenly spaced over the whole conversation in the
    order they appear, the first and the last always among them (the last alone when the
    cap is 1): for frames of a video that keeps the span covered. A dropped image takes
    its timestamp text with it. Text-only messages are sent as a plain string, which
    every server accepts.
    """
    total = sum(isinstance(part, ImagePart) for message in messages for part in message.content)
    kept = set(evenly_spaced(total, max_images))
    encoded, seen = [], 0
    for message in messages:
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, str):
                parts.append({"type": "text", "text": part})
                continue
            seen += 1
            if seen - 1 not in kept:
                continue
            caption = part.caption()
            if caption:
                parts.append({"type": "text", "text": caption})
            data = base64.b64encode(encode_image(part.image, max_side, quality)).decode("ascii")
            parts.append({"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}})
        if all(p["type"] == "text" for p in parts):
            encoded.append({"role": message.role, "content": "\n".join(p["text"] for p in parts)})
        else:
            encoded.append({"role": message.role, "content": parts})
    return encoded, total - len(kept)


def evenly_spaced(count: int, limit: int) -> list[int]:
    """At most `limit` indices of `range(count)`, evenly spaced, first and last included."""
    if count <= limit:
        return list(range(count))
    if limit <= 0:
        return []
    if limit == 1:
        return [count - 1]
    return [round(i * (count - 1) / (limit - 1)) for i in range(limit)]


class _Retryable(Exception):
    """A transient failure: connection refused or dropped mid-reply."""


class _TimedOut(Exception):
    """No complete reply by the deadline. Not retried: a model that needed longer than
    `timeout_s` once will likely need it again, and the user would wait for nothing."""


class _Rejected(Exception):
    """The server answered 4xx: retrying the same request cannot help."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class _Adaptation:
    """How to reshape a request whose `key` a server rejected (400/422); tried once per request.

    `reason` must appear in the server's message, or None to try it on any 400.
    """

    key: str
    reason: str | None
    apply: Callable[[dict[str, Any]], dict[str, Any]]

    def applies(self, payload: dict[str, Any], message: str) -> bool:
        return self.key in payload and (self.reason is None or self.reason in message)


def _without(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda payload: {k: v for k, v in payload.items() if k != key}


def _renamed_max_tokens(payload: dict[str, Any]) -> dict[str, Any]:
    return _without("max_tokens")(payload) | {"max_completion_tokens": payload["max_tokens"]}


# Specific reasons first (newer OpenAI models refuse max_tokens and temperature); the
# last is the fallback for local servers that reject response_format in their own words.
_ADAPTATIONS = (
    _Adaptation("max_tokens", "max_completion_tokens", _renamed_max_tokens),
    _Adaptation("temperature", "temperature", _without("temperature")),
    _Adaptation("response_format", None, _without("response_format")),
)


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
        self._learned: set[str] = set()  # keys of adaptations this server needed before

    def __repr__(self) -> str:
        return f"OpenAIChat(model={self.model!r}, base_url={self.base_url!r})"

    @property
    def usage(self) -> VLMUsage:
        return self._usage

    def chat(self, messages: Sequence[Message], max_tokens: int | None = None, json_mode: bool = False) -> VLMReply:
        """Send `messages`, return the reply text and its token counts.

        Raises VLMError when the endpoint fails after retries or times out, and
        ModelOutputError when it answers without any text.
        """
        if not messages:
            raise ValueError("chat() needs at least one message")
        encoded, dropped = encode_messages(messages, self.image_max_side, self.config.max_images, self.jpeg_quality)
        if dropped:
            kept = self.config.max_images
            log.info("sent %d of %d images to %s (vlm.max_images)", kept, kept + dropped, self.model)
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": encoded,
            "max_tokens": max_tokens or self.config.max_tokens,
            "temperature": self.config.temperature,
            "stream": False,
        }
        if json_mode:
            payload["response_format"] = {"type": "json_object"}
        body = self._post_adapting(payload)
        reply = _reply_from(body)
        with self._lock:
            self._usage = VLMUsage(
                self._usage.requests + 1,
                self._usage.prompt_tokens + reply.prompt_tokens,
                self._usage.completion_tokens + reply.completion_tokens,
            )
        return reply

    def _post_adapting(self, payload: dict[str, Any]) -> dict[str, Any]:
        applied = [a for a in _ADAPTATIONS if a.key in self._learned and a.key in payload]
        for adaptation in applied:
            payload = adaptation.apply(payload)
        while True:
            try:
                body = self._post(payload)
            except _Rejected as rejection:
                adaptation = next((a for a in _ADAPTATIONS if a not in applied and a.applies(payload, rejection.message)), None)
                if rejection.status not in (400, 422) or adaptation is None:
                    raise VLMError(self._rejection_message(rejection)) from None
                log.info("%s rejected the request (%s); retrying without %s", self.url, rejection, adaptation.key)
                applied.append(adaptation)
                payload = adaptation.apply(payload)
                continue
            self._learned.update(a.key for a in applied)
            return body

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with retries on transient failures; the decoded JSON of a 200."""
        attempts = self.config.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            try:
                status, headers, raw = self._exchange_within_deadline(payload)
            except _Retryable as failure:
                reason = str(failure)
            except _TimedOut:
                raise VLMError(
                    f"no complete reply from {self.url} within {self.config.timeout_s:g} s; "
                    "raise vlm.timeout_s or use a faster model"
                ) from None
            else:
                if status == 200:
                    return self._decode(raw)
                message = _error_message(raw)
                if status not in (408, 409, 429) and status < 500:
                    raise _Rejected(status, message)
                reason = f"HTTP {status}: {message}"
                wait = _retry_after(headers)
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

    def _exchange_within_deadline(self, payload: dict[str, Any]) -> tuple[int, Mapping[str, str], bytes]:
        """One HTTP exchange, given up on at `timeout_s` even if the server keeps trickling bytes.

        The exchange runs in a daemon thread that checks the deadline between reads;
        the caller stops waiting at the deadline whatever the thread is blocked on.
        """
        deadline = time.monotonic() + self.config.timeout_s
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = self._exchange(payload, deadline)
            except BaseException as error:  # handed to the caller's thread
                outcome["error"] = error

        worker = threading.Thread(target=run, name="longshot-vlm-request", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()) + _DEADLINE_GRACE_S)
        if worker.is_alive():
            raise _TimedOut()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _exchange(self, payload: dict[str, Any], deadline: float) -> tuple[int, Mapping[str, str], bytes]:
        remaining = max(0.01, deadline - time.monotonic())
        headers = {"Content-Type": "application/json", "User-Agent": "longshot"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            response = self._session.post(
                self.url,
                json=payload,
                headers=headers,
                timeout=(min(_CONNECT_TIMEOUT_S, remaining), remaining),
                stream=True,
            )
        except requests.ConnectTimeout as error:
            raise _Retryable(f"cannot connect: {error}") from None
        except requests.Timeout:
            raise _TimedOut() from None
        except requests.ConnectionError as error:
            raise _Retryable(f"cannot connect: {error}") from None
        except requests.RequestException as error:
            raise VLMError(f"cannot send a request to {self.url}: {error}") from None
        with response:
            body = bytearray()
            try:
                # read1 returns as soon as any bytes arrive, so the deadline is checked
                # between reads even when a server sends one byte at a time.
                while chunk := response.raw.read1(65536, decode_content=True):
                    body += chunk
                    if len(body) > _MAX_BODY_BYTES:
                        raise VLMError(f"{self.url} sent a reply larger than {_MAX_BODY_BYTES >> 20} MiB")
                    if time.monotonic() > deadline:
                        raise _TimedOut()
            except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                raise _TimedOut() from None
            except (urllib3.exceptions.HTTPError, OSError) as error:
                raise _Retryable(f"connection dropped while reading the reply: {error}") from None
            return response.status_code, response.headers, bytes(body)

    def _decode(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            raise VLMError(
                f"{self.url} answered 200 with a body that is not JSON ({raw[:120]!r}); "
                "is the base URL an OpenAI-compatible API (usually ending in /v1)?"
            ) from None
        if not isinstance(body, dict):
            raise ModelOutputError(f"{self.url} answered with JSON that is not an object: {raw[:120]!r}")
        if body.get("error") and not body.get("choices"):
            raise VLMError(f"{self.url} answered with an error: {_error_message(raw)}")
        return body

    def _rejection_message(self, rejection: _Rejected) -> str:
        hints = {
            401: "set vlm.api_key or OPENAI_API_KEY to a key this endpoint accepts",
            403: "set vlm.api_key or OPENAI_API_KEY to a key this endpoint accepts",
            404: f"check the base URL (it usually ends in /v1) and that the server serves model '{self.model}'",
            413: "the request is too large; lower vlm.max_images",
            400: "if the model cannot read images, set vlm.max_images = 0",
        }
        hint = hints.get(rejection.status, "")
        return f"{self.url} rejected the request (HTTP {rejection.status}): {rejection.message}" + (f". {hint}" if hint else "")


def _reply_from(body: dict[str, Any]) -> VLMReply:
    """The text of the first choice; a leading <think> block of a reasoning model is dropped."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ModelOutputError(f"the VLM reply has no choices: {json.dumps(body)[:200]}")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # some servers answer in parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    if not isinstance(content, str):
        content = ""
    text = re.sub(r"^\s*<think>.*?(</think>|$)", "", content, count=1, flags=re.DOTALL).strip()
    if not text:
        finish = choices[0].get("finish_reason")
        hint = "; raise vlm.max_tokens" if finish == "length" else ""
        raise ModelOutputError(f"the VLM reply has no text (finish_reason={finish!r}){hint}")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return VLMReply(text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _error_message(raw: bytes) -> str:
    """The server's own words for an error: OpenAI, FastAPI and plain-text styles."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return raw[:300].decode("utf-8", "replace").strip() or "(empty body)"
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            value = body.get(key)
            if isinstance(value, dict) and value.get("message"):
                return str(value["message"])[:500]
            if value:
                return str(value)[:500]
    return json.dumps(body)[:300]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `Retry-After` (seconds or an HTTP date), if given."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_SPEC = re.compile(r"^openai:(?P<model>[^@]+?|.+?(?=@https?://))(?:@(?P<url>https?://\S+))?$")


def vlm_from_spec(spec: str, config: VLMConfig) -> OpenAIChat | None:
    """The client named by `models.vlm`: `none`, `openai:<model>@<base-url>` or `openai:<model>`.

    The model name may hold colons (`openai:llava:13b@http://localhost:11434/v1`); the
    base URL starts at the first `@http://` or `@https://`. Without a URL the model is
    OpenAI's own, which needs a key.
    """
    text = spec.strip() if isinstance(spec, str) else ""
    if text.lower() == "none":
        return None
    match = _SPEC.match(text)
    if not match or not match["model"].strip():
        raise ConfigError(
            f"configuration key 'models.vlm' must be 'none', 'openai:<model>' or "
            f"'openai:<model>@<base-url>' with an http(s) URL, got {spec!r}"
        )
    model, url = match["model"].strip(), match["url"] or OPENAI_BASE_URL
    if url == OPENAI_BASE_URL and not (config.api_key or os.environ.get("OPENAI_API_KEY")):
        raise ModelUnavailableError(
            "vlm", f"no API key for {OPENAI_BASE_URL}", "set OPENAI_API_KEY or vlm.api_key, or name a local server"
        )
    return OpenAIChat(model, url, config)


_FENCE = re.compile(r"```[\w+-]*[ \t]*\r?\n?(.*?)```", re.DOTALL)
_MAX_REPLY_CHARS = 200_000
_MAX_OBJECT_STARTS = 1_000  # bounds the scan on adversarial text like '{"a":{"a":...'


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(strict=False, parse_constant=_reject_constant)


def parse_json_reply(text: str) -> dict[str, Any]:
    """The one JSON object a model meant, from a reply that may wrap it in prose or fences.

    Candidates are the top-level objects of the reply, each starting at a `{`. The first
    one inside a fenced block (```json ... ```) wins, since that is where models put
    the answer they mean; otherwise the first one. Only strict JSON counts (raw
    newlines inside strings aside): a trailing comma, single quotes or NaN make a
    candidate invalid, and nothing is ever evaluated. Raises ModelOutputError, and
    nothing else, when there is no object.
    """
    if not isinstance(text, str):
        raise ModelOutputError(f"expected the model's reply as text, got {type(text).__name__}")
    if len(text) > _MAX_REPLY_CHARS:
        raise ModelOutputError(f"the model's reply is too long to parse ({len(text)} characters)")
    fences = [match.span(1) for match in _FENCE.finditer(text)]
    first = None
    for start, end, value in _top_level_objects(text):
        if any(low <= start and end <= high for low, high in fences):
            return value
        if first is None:
            first = value
            if not fences:
                break
    if first is None:
        raise ModelOutputError(f"no JSON object in the model's reply: {text[:200]!r}")
    return first


def _top_level_objects(text: str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(start, end, object) for each JSON object not nested in an earlier one."""
    start = text.find("{")
    for _ in range(_MAX_OBJECT_STARTS):
        if start < 0:
            return
        try:
            value, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        yield start, end, value
        start = text.find("{", end)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    return type(value).__name__
