"""The tools as one line each, `name(arg: type, arg?: type): what it does`, read from their JSON schemas.

A prompt that pasted every schema whole spent about 4,000 tokens on them, more than a small
local model's whole context; these lines say the same names, types, ranges and choices in
about a fifth of that. Where the server constrains replies to the schema itself
(`app.reply_schema`), the exact rules are enforced there, not read.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

MAX_LISTED_CHOICES = 5  # a longer enum shows its first few, then "..."


def signature_lines(tools: Sequence[dict[str, Any]]) -> str:
    """One line per tool; a tool carrying its own `tools` (the sketchpad's) lists them indented beneath."""
    lines = []
    for tool in tools:
        parameters = tool["parameters"]
        lines.append(f"- {tool['name']}({arguments(parameters)}): {tool['description']}")
        inner_tools = parameters.get("tools", ())
        shared = _shared_optional(inner_tools)
        for inner in inner_tools:
            own = arguments(inner["parameters"], described=False, leave_out=shared)
            lines.append(f"  - {inner['name']}({own}): {inner['description']}")
        if shared:
            lines.append(f"  Most of them also take {arguments({'properties': shared}, described=False)}.")
    return "\n".join(lines)


def _shared_optional(tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Optional arguments that most of `tools` take alike (a colour, normalised coordinates): said once, not on every line."""
    counts: dict[str, int] = {}
    schemas: dict[str, Any] = {}
    for tool in tools:
        parameters = tool["parameters"]
        for name, prop in parameters.get("properties", {}).items():
            if name in parameters.get("required", ()) or schemas.setdefault(name, prop) != prop:
                continue
            counts[name] = counts.get(name, 0) + 1
    return {name: schemas[name] for name, count in counts.items() if count > len(tools) / 2}


def arguments(schema: dict[str, Any], described: bool = True, leave_out: Collection[str] = ()) -> str:
    """`query: string, k?: integer 1-20`: required arguments first; `?` marks an optional one."""
    properties = {name: prop for name, prop in schema.get("properties", {}).items() if name not in leave_out}
    required = [name for name in properties if name in schema.get("required", ())]
    optional = [name for name in properties if name not in required]
    pieces = []
    for name in required + optional:
        prop = properties[name]
        text = f"{name}{'' if name in required else '?'}: {type_text(prop)}"
        if described and prop.get("description"):
            text += f" ({prop['description']})"
        pieces.append(text)
    return ", ".join(pieces)


def type_text(schema: dict[str, Any]) -> str:
    """A JSON schema as a short type: `integer 1-20`, `"image"`, `[number x4]`, `string|null`."""
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        values = [json.dumps(value) for value in schema["enum"]]
        return "|".join(values if len(values) <= MAX_LISTED_CHOICES else [*values[:3], "..."])
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return "|".join(type_text(option) for option in options if option.get("type") != "null")
    kind = schema.get("type", "any")
    if kind == "array":
        return _array(schema)
    if kind in ("integer", "number") and ("minimum" in schema or "maximum" in schema):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{kind} {low:g}-{high:g}"
        return f"{kind} >= {low:g}" if low is not None else f"{kind} <= {high:g}"
    return str(kind)


def _array(schema: dict[str, Any]) -> str:
    if "prefixItems" in schema:
        return "[" + ", ".join(type_text(item) for item in schema["prefixItems"]) + "]"
    item = type_text(schema.get("items", {}))
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None and low == high:
        return f"[{item} x{low}]"
    return f"[{item}, ...]"
