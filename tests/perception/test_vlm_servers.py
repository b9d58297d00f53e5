"""What the client learns about a server and adapts to: whether the model sees, JSON schemas a server may
refuse, prompts too long for the model's context. Against the scripted server, for the faults and the
metadata a real server will not produce on demand; tests/perception/test_llamacpp.py meets a real one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from perception.config import VLMConfig
from perception.errors import ContextOverflowError, VLMError
from perception.vlm.client import OpenAIChat
from perception.vlm.messages import ImagePart, Message
from perception.vlm.wire import context_overflow, refuses_images
from tests.fakes import ScriptedOpenAIServer, request_images, request_parts

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
FRAME = ImagePart(np.full((32, 48, 3), 90, np.uint8), timestamp=12.0, label="frame 3")


def chat_with(server: ScriptedOpenAIServer, **config) -> OpenAIChat:
    return OpenAIChat("fake-vlm", server.base_url, VLMConfig(max_retries=2, backoff_s=0, **config))


# --- does the model see? -------------------------------------------------------------------


def test_a_model_the_server_lists_as_text_only_gets_captions_without_images():
    with ScriptedOpenAIServer(["a frame"], vision=False) as server:
        chat = chat_with(server)
        chat.chat([Message.user("What is here?", FRAME)])
        sent = server.requests[0]
    assert chat.capabilities.vision is False and chat.capabilities.source == "/models"
    assert request_images(sent) == []
    assert request_parts(sent) == ["What is here?\n[t=0:12, frame 3]"], "the caption stays, the pixels go"


def test_a_model_that_sees_gets_its_images():
    with ScriptedOpenAIServer(["a frame"]) as server:
        chat = chat_with(server)
        chat.chat([Message.user("What is here?", FRAME)])
        assert len(request_images(server.requests[0])) == 1
    assert chat.vision is True


@pytest.mark.parametrize(
    "refusal",
    [
        {"status": 400, "message": "Invalid content type: image_url"},
        {"status": 500, "message": "image input is not supported - hint: you may need to provide the mmproj"},
    ],
)
def test_a_server_that_says_nothing_is_probed_once_and_remembered(refusal):
    with ScriptedOpenAIServer([refusal, "one", "two"], vision=None) as server:
        chat = chat_with(server)
        chat.chat([Message.user("first", FRAME)])
        again = OpenAIChat("fake-vlm", server.base_url, VLMConfig())  # another client of the same endpoint
        again.chat([Message.user("second", FRAME)])
        probe, first, second = server.requests
    assert len(request_images(probe)) == 1 and probe["max_tokens"] == 1
    assert request_images(first) == [] and request_images(second) == [], "learned once, for every client of the endpoint"
    assert chat.capabilities.source == "a probe with an image"


def test_a_probe_the_model_answers_means_it_sees():
    with ScriptedOpenAIServer(["OK", "a frame"], vision=None) as server:
        chat = chat_with(server)
        chat.chat([Message.user("What is here?", FRAME)])
        assert len(request_images(server.requests[1])) == 1
    assert chat.vision is True


def test_text_only_requests_never_probe():
    with ScriptedOpenAIServer(["plain"], vision=None) as server:
        chat_with(server).chat([Message.user("no images here")])
        assert len(server.requests) == 1


def test_max_images_zero_says_text_only_without_asking():
    with ScriptedOpenAIServer(["plain"]) as server:
        chat = chat_with(server, max_images=0)
        chat.chat([Message.user("What is here?", FRAME)])
        assert len(server.requests) == 1 and request_parts(server.requests[0]) == ["What is here?\n[t=0:12, frame 3]"]
    assert chat.capabilities.source == "vlm.max_images = 0"


def test_a_500_that_refuses_images_is_not_retried():
    refusal = {"status": 500, "message": "image input is not supported"}
    with ScriptedOpenAIServer([refusal, refusal, refusal]) as server:
        with pytest.raises(VLMError, match="image input is not supported"):
            chat_with(server).chat([Message.user("What is here?", FRAME)])
        assert len(server.requests) == 1


def test_describe_says_where_what_context_and_whether_it_sees():
    with ScriptedOpenAIServer([], vision=False) as server:
        text = chat_with(server).describe()
    assert text.startswith(server.base_url) and "context not reported" in text and "text only (from /models)" in text


# --- JSON schemas ----------------------------------------------------------------------------


def test_a_schema_goes_as_response_format_json_schema():
    with ScriptedOpenAIServer(['{"a": 1}']) as server:
        chat = chat_with(server)
        chat.chat([Message.user("j")], json_mode=True, schema=SCHEMA)
    assert server.requests[0]["response_format"] == {"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA}}
    assert chat.constrained


def test_a_refused_schema_becomes_json_mode_then_nothing_and_is_remembered():
    refusal = {"status": 400, "message": "response_format is not supported"}
    with ScriptedOpenAIServer([refusal, refusal, '{"a": 1}', '{"a": 2}', '{"a": 3}']) as server:
        chat = chat_with(server)
        assert chat.chat([Message.user("j")], json_mode=True, schema=SCHEMA).text == '{"a": 1}'
        assert not chat.constrained
        chat.chat([Message.user("j")], json_mode=True, schema=SCHEMA)
        chat.chat([Message.user("j")], json_mode=True)
    formats = [r.get("response_format", {}).get("type") for r in server.requests]
    assert formats == ["json_schema", "json_object", None, None, None]


def test_a_server_that_takes_schemas_but_not_json_mode_keeps_its_schemas():
    """LM Studio answers json_object with 400 but constrains to a json_schema."""
    refusal = {"status": 400, "message": "'response_format.type' must be 'json_schema'"}
    with ScriptedOpenAIServer([refusal, '{"a": 1}', '{"a": 2}']) as server:
        chat = chat_with(server)
        chat.chat([Message.user("j")], json_mode=True)
        chat.chat([Message.user("j")], json_mode=True, schema=SCHEMA)
    formats = [r.get("response_format", {}).get("type") for r in server.requests]
    assert formats == ["json_object", None, "json_schema"]


@pytest.mark.parametrize("setting, expected", [("json_object", "json_object"), ("text", None)])
def test_response_format_setting_turns_constraints_down(setting, expected):
    with ScriptedOpenAIServer(['{"a": 1}']) as server:
        chat = chat_with(server, response_format=setting)
        chat.chat([Message.user("j")], json_mode=True, schema=SCHEMA)
    assert server.requests[0].get("response_format", {}).get("type") == expected
    assert not chat.constrained


# --- prompts too long --------------------------------------------------------------------------

LLAMA_CPP = {
    "error": {
        "code": 400,
        "message": "request (3031 tokens) exceeds the available context size (2048 tokens), try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": 3031,
        "n_ctx": 2048,
    }
}
VLLM = {
    "object": "error",
    "message": "This model's maximum context length is 4096 tokens. However, you requested 5012 tokens "
    "(4500 in the messages, 512 in the completion). Please reduce the length of the messages or completion.",
    "type": "BadRequestError",
    "code": 400,
}
OPENAI = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9100 tokens.",
        "type": "invalid_request_error",
        "code": "context_length_exceeded",
    }
}
SGLANG = {
    "object": "error",
    "message": "The input (6000 tokens) is longer than the model's context length (4096 tokens).",
    "code": 400,
}


@pytest.mark.parametrize(
    "body, prompt, context",
    [(LLAMA_CPP, 3031, 2048), (VLLM, 5012, 4096), (OPENAI, 9100, 8192), (SGLANG, 6000, 4096)],
    ids=["llama.cpp", "vllm", "openai", "sglang"],
)
def test_each_servers_overflow_is_a_context_overflow_with_its_counts(body, prompt, context):
    with ScriptedOpenAIServer([{"status": 400, "body": body}]) as server:
        with pytest.raises(ContextOverflowError) as caught:
            chat_with(server).chat([Message.user("long")], json_mode=True, schema=SCHEMA)
        assert len(server.requests) == 1, "an overflow is not a parameter to adapt away"
    assert (caught.value.prompt_tokens, caught.value.context_tokens) == (prompt, context)


def test_other_errors_are_not_overflows():
    assert context_overflow("u", json.dumps({"error": {"message": "model not found"}}).encode()) is None
    assert context_overflow("u", b"<html>Bad Request</html>") is None
    assert refuses_images("image input is not supported") and not refuses_images("rate limited")
