"""Property-based tests of what a model sends the agent, each checked against an oracle the code
under test does not share: validation accepts only what the prompt's schema offers, within the
limits the prompt states; the parser finds the first JSON object a reply holds, whatever prose
surrounds it, and refuses a reply whose object is not an action."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.policies.vlm import parse_action
from app.toolbox import ACTIONS, Action, Inspect, Sketch, action_schemas, validate
from perception.errors import ModelOutputError, ToolArgumentError

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
NAMES = st.one_of(st.sampled_from(sorted(ACTIONS)), st.text(max_size=20))
FIELDS = st.sampled_from(
    [
        "query",
        "scale",
        "k",
        "start",
        "end",
        "n",
        "frame",
        "time",
        "tool",
        "args",
        "restart",
        "text",
        "choice",
        "evidence",
        "span",
        "delete",
        "__class__",
    ]
)
ODD_VALUES = st.one_of(JSON, st.floats(), st.just(float("inf")))
LIKELY_VALUES = st.one_of(
    st.integers(-3, 40),
    st.floats(-5, 5000),
    st.text(min_size=1, max_size=4),
    st.just("image"),
    st.lists(st.integers(-2, 30), max_size=24),
    st.lists(st.floats(-5, 500), min_size=2, max_size=2),
    st.booleans(),
)
PROMPT = {schema["name"]: schema["parameters"] for schema in action_schemas()}  # what the model is told


@st.composite
def calls(draw) -> tuple[str, dict]:
    """An action name and arguments, mostly the action's own with plausible values, so many validate."""
    name = draw(NAMES)
    schema = PROMPT.get(name, {})
    own = sorted(schema.get("properties", ())) or ["query"]
    args = {key: draw(LIKELY_VALUES) for key in schema.get("required", ()) if draw(st.integers(0, 9))}
    keys = st.one_of(st.sampled_from(own), st.sampled_from(own), st.sampled_from(own), FIELDS, st.text(max_size=8))
    values = st.one_of(LIKELY_VALUES, LIKELY_VALUES, ODD_VALUES)
    return name, {**args, **draw(st.dictionaries(keys, values, max_size=3))}


def stated_limits(prop: dict[str, Any]) -> dict[str, Any]:
    """The limits the prompt states for one argument, whether it is optional (anyOf with null) or not."""
    limits = dict(prop)
    for option in prop.get("anyOf", ()):
        limits.update(option)
    return limits


def within(value: Any, limits: dict[str, Any]) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return limits.get("minimum", -math.inf) <= value <= limits.get("maximum", math.inf)
    if isinstance(value, str):
        return limits.get("minLength", 0) <= len(value) <= limits.get("maxLength", math.inf)
    if isinstance(value, list | tuple):
        return len(value) <= limits.get("maxItems", math.inf)
    return True


@settings(max_examples=400)
@given(calls())
def test_validation_accepts_only_what_the_prompt_offers_within_its_stated_limits(call: tuple[str, dict]):
    name, args = call
    try:
        parsed = validate(Action(name, args))
    except ToolArgumentError as err:
        assert str(err)
        return
    assert name in PROMPT, "accepted an action the prompt does not list"
    offered = PROMPT[name]["properties"]
    assert set(args) <= set(offered), "accepted an argument the prompt does not offer"
    assert set(PROMPT[name].get("required", ())) <= set(args), "accepted a call without a required argument"
    for key, value in parsed.model_dump().items():
        assert within(value, stated_limits(offered[key])), (key, value, offered[key])
    if isinstance(parsed, Inspect):
        assert math.isfinite(parsed.start) and math.isfinite(parsed.end)
    if isinstance(parsed, Sketch):
        assert (parsed.frame is None) != (parsed.time is None)


PROSE = st.text(max_size=30).filter(lambda s: "{" not in s and "`" not in s)
OBJECTS = st.one_of(
    st.builds(lambda name, args: {"action": name, "args": args}, st.one_of(st.sampled_from(sorted(ACTIONS)), JSON), JSON),
    st.builds(lambda name, args: {"name": name, "arguments": args}, JSON, st.dictionaries(st.text(max_size=8), JSON)),
    st.dictionaries(st.text(max_size=10), JSON, max_size=3),
)


@given(st.lists(st.one_of(PROSE, OBJECTS), max_size=5))
def test_the_first_object_in_a_reply_is_the_action_or_the_reply_is_refused(parts: list):
    reply = " ".join(json.dumps(part) if isinstance(part, dict) else part for part in parts)
    first = next((part for part in parts if isinstance(part, dict)), None)
    name = None if first is None else first.get("action", first.get("name"))
    args = None if first is None else first.get("args", first.get("arguments", {}))
    if not isinstance(name, str) or not isinstance(args, dict):
        try:
            parse_action(reply)
        except ModelOutputError:
            return
        raise AssertionError(f"no action in {reply!r}, yet one was parsed")
    assert parse_action(reply) == Action(name, args)


@given(
    st.sampled_from(sorted(ACTIONS)),
    st.dictionaries(st.text(max_size=8), JSON, max_size=4),
    st.text(max_size=40).filter(lambda s: "{" not in s and "`" not in s),
    st.booleans(),
    st.booleans(),
)
def test_an_action_in_prose_or_a_fence_comes_out_whole(name: str, args: dict, prose: str, fenced: bool, tool_call: bool):
    body = {"name": name, "arguments": args} if tool_call else {"action": name, "args": args}
    text = json.dumps(body)
    reply = f"{prose}\n```json\n{text}\n```\n{prose}" if fenced else f"{prose} {text} {prose}"
    action = parse_action(reply)
    assert action == Action(name, args)
