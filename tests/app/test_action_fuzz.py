"""Property-based tests of what a model sends the agent: any reply text gives an action or a
ModelOutputError, and any action, however odd its name and arguments, validates into its schema's
model or fails as a ToolArgumentError; an action embedded in prose or a fence comes out whole."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from app.policies.vlm import parse_action
from app.toolbox import ACTIONS, Action, Inspect, Sketch, validate
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
ARGS = st.dictionaries(st.one_of(FIELDS, st.text(max_size=8)), st.one_of(JSON, st.floats(), st.just(float("inf"))), max_size=6)


@given(NAMES, ARGS)
def test_an_action_validates_into_its_schema_or_is_a_tool_argument_error(name: str, args: dict):
    try:
        parsed = validate(Action(name, args))
    except ToolArgumentError as err:
        assert str(err)
        return
    assert name in ACTIONS and isinstance(parsed, ACTIONS[name][0])
    assert set(parsed.model_dump()) <= set(ACTIONS[name][0].model_fields)  # nothing extra gets through
    if isinstance(parsed, Inspect):
        assert math.isfinite(parsed.start) and math.isfinite(parsed.end) and parsed.start >= 0 and 1 <= parsed.n <= 16
    if isinstance(parsed, Sketch):
        assert (parsed.frame is None) != (parsed.time is None)


@given(st.text(max_size=400))
def test_any_reply_text_is_an_action_or_a_model_output_error(text: str):
    try:
        action = parse_action(text)
    except ModelOutputError:
        return
    assert isinstance(action.name, str) and isinstance(action.args, dict)


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
