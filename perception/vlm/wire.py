"""What an OpenAI-compatible server answered: the reply's text and token counts, its error in
its own words, and how long it asks us to wait. Every malformed reply is a typed error."""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from perception.errors import ContextOverflowError, ModelOutputError, VLMError
from perception.vlm.messages import VLMReply

# How servers say a prompt is too long: llama.cpp (exceed_context_size_error), vLLM and OpenAI
# ("maximum context length", context_length_exceeded), SGLang ("longer than the model's context length").
_OVERFLOW = re.compile(r"exceed_context_size|context_length_exceeded|maximum context length|context (length|size|window)", re.I)
_CONTEXT_TOKENS = re.compile(r"(?:maximum context length is\s*|context (?:length|size|window)\D{0,3})(\d+)", re.I)
_PROMPT_TOKENS = re.compile(r"(?:request \(|requested |has |input \(|resulted in |prompt \(?)(\d+)(?: input)? tokens", re.I)
# How a text-only model's server refuses an image (llama.cpp answers 500, which is not worth retrying).
_NO_IMAGES = re.compile(r"image input is not supported|does not support (image|vision|multimodal)|not a multimodal", re.I)


def decode_body(url: str, raw: bytes) -> dict[str, Any]:
    """The JSON object of a 200 reply."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise VLMError(
            f"{url} answered 200 with a body that is not JSON ({raw[:120]!r}); "
            "is the base URL an OpenAI-compatible API (usually ending in /v1)?"
        ) from None
    if not isinstance(body, dict):
        raise ModelOutputError(f"{url} answered with JSON that is not an object: {raw[:120]!r}")
    if body.get("error") and not body.get("choices"):
        raise VLMError(f"{url} answered with an error: {error_message(raw)}")
    return body


def reply_from(body: dict[str, Any]) -> VLMReply:
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
    usage: dict[str, Any] = body["usage"] if isinstance(body.get("usage"), dict) else {}
    return VLMReply(text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def error_message(raw: bytes) -> str:
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


def context_overflow(url: str, raw: bytes) -> ContextOverflowError | None:
    """The error a reply means when it says the prompt does not fit the context, else None; the token
    counts come from the server's own fields (llama.cpp) or its words (vLLM, OpenAI, SGLang)."""
    message = error_message(raw)
    if not _OVERFLOW.search(message + raw[:2000].decode("utf-8", "replace")):
        return None
    fields: dict[str, Any] = {}
    try:
        body = json.loads(raw)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            fields = body["error"]
    except (UnicodeDecodeError, ValueError):
        pass
    context = _count(fields.get("n_ctx")) or _first_number(_CONTEXT_TOKENS, message)
    prompt = _count(fields.get("n_prompt_tokens")) or _first_number(_PROMPT_TOKENS, message)
    return ContextOverflowError(f"{url}: the prompt does not fit the model's context: {message}", prompt, context)


def refuses_images(message: str) -> bool:
    """Whether a server's error says the model cannot take images."""
    return bool(_NO_IMAGES.search(message))


def _first_number(pattern: re.Pattern[str], text: str) -> int:
    match = pattern.search(text)
    return int(match.group(1)) if match else 0


def rejection_message(url: str, model: str, status: int, message: str) -> str:
    """A 4xx in words a user can act on."""
    hints = {
        401: "set vlm.api_key or OPENAI_API_KEY to a key this endpoint accepts",
        403: "set vlm.api_key or OPENAI_API_KEY to a key this endpoint accepts",
        404: f"check the base URL (it usually ends in /v1) and that the server serves model '{model}'",
        413: "the request is too large; lower vlm.max_images",
        400: "if the model cannot read images, set vlm.max_images = 0",
    }
    hint = hints.get(status, "")
    return f"{url} rejected the request (HTTP {status}): {message}" + (f". {hint}" if hint else "")


def retry_after(headers: Mapping[str, str]) -> float | None:
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
