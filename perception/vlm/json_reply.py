"""The JSON object a model meant, read out of whatever text it wrapped the object in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from perception.errors import ModelOutputError

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
