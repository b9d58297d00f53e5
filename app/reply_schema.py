"""The JSON schema of one action reply, for servers that constrain a model's output to it.

Sent as `response_format` (llama.cpp, vLLM and SGLang turn it into a grammar), it makes
even a small model write `{"action": <a tool>, "args": <that tool's arguments>}` and
nothing else: each action is one alternative, and a sketch is one alternative per
sketchpad tool, so that `args` must fit the tool named. Strings and lists are bounded
so that a whole reply fits in the reply's token budget: a model that rambles inside a
string is cut by the schema, not by `max_tokens` in the middle of the object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_STRING_CHARS = 200
MAX_ANSWER_CHARS = 400
MAX_ITEMS = 16
_DROPPED = ("title", "description", "default", "tools", "examples")


def action_reply_schema(tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One object among the tools' alternatives (the tools as `action_schemas()` lists them)."""
    variants: list[dict[str, Any]] = []
    for tool in tools:
        parameters = tool["parameters"]
        inner = parameters.get("tools")
        if inner:  # the sketchpad: one alternative per drawing tool, its args fitting that tool
            for drawing in inner:
                args = _bounded(parameters, MAX_STRING_CHARS)
                args["properties"]["tool"] = {"const": drawing["name"]}
                args["properties"]["args"] = _bounded(drawing["parameters"], MAX_STRING_CHARS)
                args["required"] = sorted({*args.get("required", ()), "args"})
                variants.append(_variant(tool["name"], args))
            continue
        limit = MAX_ANSWER_CHARS if tool["name"] == "answer" else MAX_STRING_CHARS
        variants.append(_variant(tool["name"], _bounded(parameters, limit)))
    return {"oneOf": variants}


def _variant(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"action": {"const": name}, "args": args},
        "required": ["action", "args"],
        "additionalProperties": False,
    }


def _bounded(schema: Any, max_chars: int) -> Any:
    """The schema without prose, its strings at most `max_chars` long and its lists at most MAX_ITEMS."""
    if isinstance(schema, list):
        return [_bounded(item, max_chars) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: _bounded(value, max_chars) for key, value in schema.items() if key not in (*_DROPPED, "properties")}
    if isinstance(schema.get("properties"), dict):  # argument names are kept whatever they are called
        bounded["properties"] = {name: _bounded(value, max_chars) for name, value in schema["properties"].items()}
    if bounded.get("type") == "string" and "enum" not in bounded and "pattern" not in bounded:
        bounded["maxLength"] = min(bounded.get("maxLength", max_chars), max_chars)
    if bounded.get("type") == "array" and "prefixItems" not in bounded:
        bounded["maxItems"] = min(bounded.get("maxItems", MAX_ITEMS), MAX_ITEMS)
    return bounded
