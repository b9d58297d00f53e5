"""The message protocol every caller (agent, captioner, sketchpad) speaks to a VLM, and how
it goes over the wire.

A `Message` holds text and `ImagePart`s. Images travel as base64 JPEG data URLs, downscaled
first, each preceded by a text part that gives its timestamp (`[t=12:03]`), because a model
cannot tell when a frame was taken from its pixels.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from perception.errors import ImageError
from perception.timefmt import format_time

ROLES = ("system", "user", "assistant")


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

    def plus(self, reply: VLMReply) -> VLMUsage:
        tokens = (self.prompt_tokens + reply.prompt_tokens, self.completion_tokens + reply.completion_tokens)
        return VLMUsage(self.requests + 1, *tokens)


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
    encoded: list[dict[str, Any]] = []
    seen = 0
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


def without_images(messages: Sequence[Message]) -> list[Message]:
    """The messages for a model that cannot see: each image replaced by its caption (when and what it is)."""
    return [
        Message(m.role, tuple(part if isinstance(part, str) else (part.caption() or "[an image]") for part in m.content))
        for m in messages
    ]


def evenly_spaced(count: int, limit: int) -> list[int]:
    """At most `limit` indices of `range(count)`, evenly spaced, first and last included."""
    if count <= limit:
        return list(range(count))
    if limit <= 0:
        return []
    if limit == 1:
        return [count - 1]
    return [round(i * (count - 1) / (limit - 1)) for i in range(limit)]


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    return type(value).__name__
