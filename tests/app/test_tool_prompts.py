"""The tools as the model reads them (one-line signatures) and as a server enforces them (the reply schema)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from app.prompts import FIRST_PROMPT_TOKENS, context_prompt, estimate_tokens, system_prompt, user_prompt
from app.reply_schema import MAX_ANSWER_CHARS, MAX_STRING_CHARS, action_reply_schema
from app.signatures import signature_lines, type_text
from app.toolbox import ACTIONS, Action, action_schemas, validate
from perception.errors import ToolArgumentError
from sketchpad import TOOLS

TIMELINE_ROOM = 400  # estimated tokens the first prompt keeps for the coarse timeline, at least


@pytest.mark.parametrize(
    "schema, text",
    [
        ({"type": "integer", "minimum": 1, "maximum": 20}, "integer 1-20"),
        ({"type": "number", "minimum": 0}, "number >= 0"),
        ({"anyOf": [{"type": "integer"}, {"const": "image", "type": "string"}, {"type": "null"}]}, 'integer|"image"'),
        ({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}, "[number x4]"),
        ({"type": "array", "items": {"type": "string"}}, "[string, ...]"),
        ({"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]}, "[number, number]"),
        ({"enum": ["a", "b"]}, '"a"|"b"'),
        ({"enum": list("abcdefg")}, '"a"|"b"|"c"|...'),
        ({}, "any"),
    ],
)
def test_a_schema_reads_as_a_short_type(schema, text):
    assert type_text(schema) == text


def test_every_action_and_sketch_tool_has_its_line_with_every_argument():
    lines = signature_lines(action_schemas())
    for name, spec in ACTIONS.items():
        line = next(line for line in lines.splitlines() if line.startswith(f"- {name}("))
        for argument, field in spec.arguments.model_fields.items():
            assert f"{argument}{'' if field.is_required() else '?'}: " in line, (name, argument)
    for tool in TOOLS:
        assert f"\n  - {tool}(" in lines


def test_the_first_prompt_fits_a_small_models_context_with_room_to_spare():
    """The fullest first round: every tool, a long question with options, all the context lines."""
    question = "Which of these notices is shown right after the narrator says where the station is, near the end?"
    options = ["VAULT CODE 4172", "VAULT CODE 4127", "GATE B7 CLOSED", "PLATFORM 9 OPEN", "The video does not mention it"]
    user = user_prompt(question, options, [], 8, context_prompt(3 * 3600.0, [10.0, 30.0, 180.0, 600.0], 3000.0))
    used = estimate_tokens(system_prompt(action_schemas())) + estimate_tokens(user)
    assert used <= FIRST_PROMPT_TOKENS - TIMELINE_ROOM, f"{used} estimated tokens leave too little for the coarse timeline"


# --- the reply schema ------------------------------------------------------------------------

SCHEMA = action_reply_schema(action_schemas())
VALID = [
    {"action": "search_episodic", "args": {"query": "vault code", "scale": 10, "k": 3}},
    {"action": "search_semantic", "args": {"query": "gate"}},
    {"action": "inspect", "args": {"start": 20, "end": 30, "n": 4}},
    {"action": "sketch", "args": {"frame": 24, "tool": "box", "args": {"box": [1, 2, 30, 40], "color": "red"}}},
    {"action": "sketch", "args": {"time": 24.5, "tool": "ocr", "args": {}}},
    {"action": "sketch", "args": {"frame": "image", "tool": "crop", "args": {"cell": "B2"}, "restart": True}},
    {"action": "answer", "args": {"text": "4172", "choice": "B", "evidence": [0, 2], "span": [20, 30]}},
]
# (reply, whether validation refuses it too: the schema is tighter on lengths, and checks a sketch
# tool's own arguments, which run_tool checks later)
INVALID = [
    ({"action": "teleport", "args": {}}, True),
    ({"action": "search_episodic", "args": {}}, True),
    ({"action": "search_episodic", "args": {"query": "x", "k": 50}}, True),
    ({"action": "inspect", "args": {"start": 1, "end": 2, "n": 500}}, True),
    ({"action": "sketch", "args": {"frame": 1, "tool": "fly", "args": {}}}, False),
    ({"action": "sketch", "args": {"frame": 1, "tool": "box", "args": {"points": [[1, 2]]}}}, False),
    ({"action": "answer", "args": {"text": "x" * (MAX_ANSWER_CHARS + 1)}}, False),
    ({"action": "search_semantic", "args": {"query": "x" * (MAX_STRING_CHARS + 1)}}, False),
    ({"action": "answer", "args": {"text": "ok"}, "extra": 1}, False),
]


@pytest.mark.parametrize("reply", VALID, ids=lambda r: r["action"])
def test_a_valid_action_fits_the_schema_and_validates(reply):
    jsonschema.validate(reply, SCHEMA)
    validate(Action(reply["action"], reply["args"]))


@pytest.mark.parametrize("reply, refused_later", INVALID, ids=range(len(INVALID)))
def test_the_schema_refuses_what_validation_would_and_more(reply, refused_later):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(reply, SCHEMA)
    if refused_later:
        with pytest.raises(ToolArgumentError):
            validate(Action(reply["action"], reply["args"]))


def test_every_reply_the_schema_allows_is_small_enough_to_finish_within_max_tokens():
    longest = max(MAX_ANSWER_CHARS, MAX_STRING_CHARS)
    assert estimate_tokens("x" * longest) + 100 < 512, "a reply cut by max_tokens would be invalid JSON"


def test_llama_cpp_turns_the_schema_into_a_grammar():
    xllamacpp = pytest.importorskip("xllamacpp")
    for tools in (action_schemas(), action_schemas(video=False)):
        grammar = xllamacpp.json_schema_to_grammar(json.dumps(action_reply_schema(tools)))
        assert grammar.strip()
