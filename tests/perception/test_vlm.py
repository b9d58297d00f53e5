"""The VLM client against a real HTTP server that plays scripted replies."""

from __future__ import annotations

import contextlib
import json
import socket
import threading

import numpy as np
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from perception.config import VLMConfig
from perception.errors import ConfigError, ImageError, ModelOutputError, ModelUnavailableError, VLMError
from perception.vlm.client import OPENAI_BASE_URL, OpenAIChat
from perception.vlm.json_reply import parse_json_reply
from perception.vlm.messages import ImagePart, Message, evenly_spaced
from perception.vlm.spec import vlm_from_spec
from tests.fakes import ScriptedOpenAIServer, request_images, request_parts


class Sleeps(list):
    """Records the waits between retries instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def client(server: ScriptedOpenAIServer, sleeps: Sleeps | None = None, **config) -> OpenAIChat:
    return OpenAIChat("fake-vlm", server.base_url, VLMConfig(**config), sleep=Sleeps() if sleeps is None else sleeps)


def gradient(height: int, width: int) -> np.ndarray:
    """A smooth image whose downscaled form is still recognisable after JPEG."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs * 255 // width, ys * 255 // height, np.full_like(xs, 128)], axis=-1).astype(np.uint8)


def test_request_carries_text_then_each_image_after_its_timestamp():
    with ScriptedOpenAIServer(["a red car"]) as server:
        config = VLMConfig(max_tokens=64, temperature=0.2)
        chat = OpenAIChat("fake-vlm", server.base_url + "/", config, image_max_side=320)
        reply = chat.chat(
            [
                Message.system("You watch videos."),
                Message.user(
                    "What is in these frames?",
                    ImagePart(gradient(480, 640), timestamp=5.0),
                    ImagePart(gradient(100, 50), timestamp=3723.5, label="crop of frame 42"),
                ),
            ]
        )
    assert server.errors == []
    (request,) = server.requests
    assert request["model"] == "fake-vlm"
    assert request["max_tokens"] == 64 and request["temperature"] == 0.2 and request["stream"] is False
    assert "response_format" not in request
    assert request["messages"][0] == {"role": "system", "content": "You watch videos."}
    parts = request_parts(request)
    texts = [p if isinstance(p, str) else "<image>" for p in parts]
    assert texts == [
        "You watch videos.",
        "What is in these frames?",
        "[t=0:05]",
        "<image>",
        "[t=1:02:03.5, crop of frame 42]",
        "<image>",
    ]
    big, small = request_images(request)
    assert big.shape == (240, 320, 3)  # downscaled to the longer side, aspect kept
    assert small.shape == (100, 50, 3)  # never enlarged
    expected = gradient(480, 640)[::2, ::2].astype(int)
    assert np.abs(big.astype(int) - expected).mean() < 8
    assert "authorization" not in server.headers[0]
    assert reply.text == "a red car"
    assert reply.prompt_tokens > 0 and reply.completion_tokens == 3
    assert chat.usage.requests == 1 and chat.usage.completion_tokens == 3


def test_api_key_comes_from_config_then_environment(monkeypatch):
    with ScriptedOpenAIServer(["ok", "ok", {"status": 401}], api_key="sk-right") as server:
        assert OpenAIChat("m", server.base_url, VLMConfig(api_key="sk-right")).chat([Message.user("hi")]).text == "ok"
        monkeypatch.setenv("OPENAI_API_KEY", "sk-right")
        assert OpenAIChat("m", server.base_url).chat([Message.user("hi")]).text == "ok"
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
        with pytest.raises(VLMError, match="OPENAI_API_KEY"):
            OpenAIChat("m", server.base_url).chat([Message.user("hi")])
    assert [h["authorization"] for h in server.headers] == ["Bearer sk-right", "Bearer sk-right", "Bearer sk-wrong"]
    assert len(server.requests) == 3  # a refused key is not retried


def test_retries_on_503_with_growing_backoff_then_succeeds():
    sleeps = Sleeps()
    with ScriptedOpenAIServer([{"status": 503}, {"status": 503}, "fine"]) as server:
        reply = client(server, sleeps, max_retries=3, backoff_s=1.0).chat([Message.user("hi")])
    assert reply.text == "fine"
    assert len(server.requests) == 3
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 <= sleeps[1] <= 2.0


def test_gives_up_after_the_configured_retries():
    sleeps = Sleeps()
    with ScriptedOpenAIServer([{"status": 502, "message": "upstream down"}] * 3) as server:
        with pytest.raises(VLMError, match=r"3 attempt\(s\).*502.*upstream down"):
            client(server, sleeps, max_retries=2).chat([Message.user("hi")])
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_429_waits_as_long_as_retry_after_says():
    sleeps = Sleeps()
    with ScriptedOpenAIServer([{"status": 429, "headers": {"Retry-After": "2"}}, "done"]) as server:
        assert client(server, sleeps).chat([Message.user("hi")]).text == "done"
    assert sleeps == [2.0]


def test_429_asking_for_a_long_wait_fails_at_once():
    sleeps = Sleeps()
    with ScriptedOpenAIServer([{"status": 429, "headers": {"Retry-After": "3600"}, "message": "quota"}]) as server:
        with pytest.raises(VLMError, match="3600"):
            client(server, sleeps).chat([Message.user("hi")])
    assert sleeps == [] and len(server.requests) == 1


def test_unreachable_server_fails_after_retries():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    chat = OpenAIChat("m", f"http://127.0.0.1:{port}/v1", VLMConfig(max_retries=2), sleep=sleeps)
    with pytest.raises(VLMError, match="cannot connect"):
        chat.chat([Message.user("hi")])
    assert len(sleeps) == 2


@pytest.mark.timeout(30)
@pytest.mark.parametrize("reply", [{"delay": 60, "content": "late"}, {"trickle": True}], ids=["silent", "trickling"])
def test_a_server_that_does_not_finish_times_out_without_retrying(reply):
    sleeps = Sleeps()
    with ScriptedOpenAIServer([reply, "never used"]) as server:
        with pytest.raises(VLMError, match="within 1 s"):
            client(server, sleeps, timeout_s=1.0, max_retries=3).chat([Message.user("hi")])
        assert len(server.requests) == 1 and sleeps == []


@pytest.mark.parametrize(
    "reply, error, words",
    [
        ({"raw": "<html>not json</html>"}, VLMError, "not JSON"),
        ({"raw": "[1, 2]"}, ModelOutputError, "not an object"),
        ({"body": {"error": {"message": "model crashed"}}}, VLMError, "model crashed"),
        ({"body": {"choices": []}}, ModelOutputError, "no choices"),
        ({"body": {"choices": [{"message": {"content": None}}]}}, ModelOutputError, "no text"),
        ({"content": "", "finish_reason": "length"}, ModelOutputError, "vlm.max_tokens"),
        ({"content": "<think>still thinking", "finish_reason": "length"}, ModelOutputError, "no text"),
    ],
    ids=["html", "array", "error-200", "no-choices", "null-content", "empty-length", "only-thinking"],
)
def test_unusable_replies_raise_typed_errors(reply, error, words):
    with ScriptedOpenAIServer([reply]) as server:
        with pytest.raises(error, match=words):
            client(server).chat([Message.user("hi")])
    assert len(server.requests) == 1


def test_reply_variants_are_normalised():
    replies = [
        {"content": '<think>hmm {"a": 0}</think>\n{"a": 1}'},
        {"body": {"choices": [{"message": {"content": [{"type": "text", "text": "in "}, {"type": "text", "text": "parts"}]}}]}},
    ]
    with ScriptedOpenAIServer(replies) as server:
        chat = client(server)
        assert chat.chat([Message.user("hi")]).text == '{"a": 1}'
        assert chat.chat([Message.user("hi")]).text == "in parts"


def test_reply_without_usage_counts_zero_tokens():
    with ScriptedOpenAIServer([{"content": "no usage", "usage": None}]) as server:
        reply = client(server).chat([Message.user("hi")])
    assert (reply.text, reply.prompt_tokens, reply.completion_tokens) == ("no usage", 0, 0)


def frames(count: int) -> list[ImagePart]:
    return [ImagePart(np.full((32, 32, 3), 10 * i, np.uint8), timestamp=float(i)) for i in range(count)]


@pytest.mark.parametrize("cap, kept", [(4, [0, 3, 6, 9]), (1, [9]), (10, list(range(10)))])  # 0: text only, see test_vlm_servers
def test_image_cap_keeps_evenly_spaced_frames_with_their_timestamps(cap, kept):
    with ScriptedOpenAIServer(["ok"]) as server:
        client(server, max_images=cap).chat([Message.user("Which frame?", *frames(10))])
    parts = request_parts(server.requests[0])
    assert [p for p in parts if isinstance(p, str)] == ["Which frame?"] + [f"[t=0:{i:02d}]" for i in kept]
    assert [int(image.mean().round() / 10) for image in request_images(server.requests[0])] == kept


def test_evenly_spaced_never_repeats_and_keeps_the_ends():
    for count in range(1, 40):
        for limit in range(2, count):
            picked = evenly_spaced(count, limit)
            assert len(set(picked)) == limit and picked == sorted(picked)
            assert picked[0] == 0 and picked[-1] == count - 1


def test_json_mode_falls_back_once_when_response_format_is_rejected_and_remembers():
    script = [{"status": 400, "message": "unknown field"}, '{"a": 1}', '{"b": 2}']
    with ScriptedOpenAIServer(script) as server:
        chat = client(server)
        assert chat.chat([Message.user("json please")], json_mode=True).text == '{"a": 1}'
        assert chat.chat([Message.user("json please")], json_mode=True).text == '{"b": 2}'
    first, second, third = server.requests
    assert first["response_format"] == {"type": "json_object"}
    assert "response_format" not in second and "response_format" not in third


def test_json_mode_sends_response_format_where_it_is_accepted():
    with ScriptedOpenAIServer(['{"a": 1}']) as server:
        assert parse_json_reply(client(server).chat([Message.user("j")], json_mode=True).text) == {"a": 1}
    assert server.requests[0]["response_format"] == {"type": "json_object"}


def test_a_400_that_no_adaptation_explains_is_an_error():
    with ScriptedOpenAIServer([{"status": 400, "message": "image input not supported"}] * 2) as server:
        with pytest.raises(VLMError, match="image input not supported.*vlm.max_images"):
            client(server).chat([Message.user("hi")], json_mode=True)
    assert len(server.requests) == 2  # once as asked, once without response_format


def test_newer_openai_models_get_max_completion_tokens():
    refusal = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
    with ScriptedOpenAIServer([{"status": 400, "message": refusal}, "ok", "ok"]) as server:
        chat = client(server, max_tokens=99)
        chat.chat([Message.user("hi")])
        chat.chat([Message.user("hi")])
    assert server.requests[0]["max_tokens"] == 99
    for request in server.requests[1:]:
        assert "max_tokens" not in request and request["max_completion_tokens"] == 99


def test_client_is_safe_to_share_between_threads():
    with ScriptedOpenAIServer(lambda request: request_parts(request)[0].upper()) as server:
        chat = client(server)
        answers: dict[int, str] = {}

        def ask(number: int) -> None:
            answers[number] = chat.chat([Message.user(f"question {number}")]).text

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == {n: f"QUESTION {n}" for n in range(8)}
    assert chat.usage.requests == 8


def test_messages_and_images_are_checked_before_sending():
    with pytest.raises(ValueError, match="role"):
        Message("robot", ("hi",))
    with pytest.raises(ValueError, match="user"):
        Message("system", (ImagePart(np.zeros((4, 4, 3), np.uint8)),))
    with ScriptedOpenAIServer([]) as server:
        chat = client(server)
        for image in [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 2), np.uint8), np.zeros((0, 4, 3), np.uint8)]:
            with pytest.raises(ImageError):
                chat.chat([Message.user(ImagePart(image))])
    assert server.requests == []


def test_gray_and_rgba_images_are_sent_as_rgb_jpeg():
    with ScriptedOpenAIServer(["ok"]) as server:
        gray, rgba = np.full((8, 6), 200, np.uint8), np.zeros((8, 6, 4), np.uint8)
        client(server).chat([Message.user(ImagePart(gray), ImagePart(rgba))])
    assert [image.shape for image in request_images(server.requests[0])] == [(8, 6, 3), (8, 6, 3)]


def test_fake_server_refuses_malformed_requests_with_the_reason():
    png = (
        "data:image/jpeg;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    bad = [
        {"messages": [{"role": "user", "content": "hi"}]},
        {"model": "m", "messages": []},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": png}}]}]},
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    ]
    with ScriptedOpenAIServer(["unused"]) as server:
        answers = [requests.post(server.base_url + "/chat/completions", json=body, timeout=10) for body in bad]
    assert [a.status_code for a in answers] == [400] * 4
    assert [a.json()["error"]["message"] for a in answers] == server.errors
    assert "model" in server.errors[0] and "PNG" in server.errors[2] and "stream" in server.errors[3]
    assert server.remaining == 1


@pytest.mark.parametrize(
    "spec, model, url",
    [
        ("openai:qwen2.5-vl@http://localhost:8000/v1", "qwen2.5-vl", "http://localhost:8000/v1"),
        ("  openai:llava:13b@http://127.0.0.1:11434/v1/ ", "llava:13b", "http://127.0.0.1:11434/v1"),
        ("openai:Qwen/Qwen2.5-VL-7B-Instruct@https://gpu.lan/v1", "Qwen/Qwen2.5-VL-7B-Instruct", "https://gpu.lan/v1"),
        ("openai:gpt-4o-mini", "gpt-4o-mini", OPENAI_BASE_URL),
    ],
)
def test_vlm_from_spec_builds_a_client(spec, model, url):
    chat = vlm_from_spec(spec, VLMConfig(api_key="sk-test"))
    assert isinstance(chat, OpenAIChat) and (chat.model, chat.base_url) == (model, url)


def test_vlm_from_spec_none_is_no_model():
    assert vlm_from_spec("none", VLMConfig()) is None
    assert vlm_from_spec(" None ", VLMConfig()) is None


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "openai:",
        "openai:@http://x/v1",
        "gpt-4o",
        "vllm:qwen@http://x/v1",
        "openai:m@localhost:8000/v1",
        "openai:m@http://x/v1 trailing",
    ],
)
def test_vlm_from_spec_refuses_malformed_specs_naming_the_key(spec):
    with pytest.raises(ConfigError, match="models.vlm"):
        vlm_from_spec(spec, VLMConfig())


def test_official_openai_without_a_key_is_unavailable(monkeypatch):
    with pytest.raises(ModelUnavailableError, match="OPENAI_API_KEY"):
        vlm_from_spec("openai:gpt-4o", VLMConfig())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert vlm_from_spec("openai:gpt-4o", VLMConfig()).model == "gpt-4o"


REAL_REPLIES = [
    ('{"action": "answer", "text": "42"}', {"action": "answer", "text": "42"}),
    ('  \ufeff{"a": 1}\n', {"a": 1}),
    ('```json\n{"action": "search_visual", "query": "red car"}\n```', {"action": "search_visual", "query": "red car"}),
    (
        'Sure! Here is the action:\n```json\n{"action": "inspect", "start": 10, "end": 20}\n```\nLet me know.',
        {"action": "inspect", "start": 10, "end": 20},
    ),
    ('```\n{"a": [1, 2, {"b": null}]}\n```', {"a": [1, 2, {"b": None}]}),
    ('```json {"one": "line"}```', {"one": "line"}),
    ('Thought: I should look closer.\nAction: {"action": "inspect", "n": 4}', {"action": "inspect", "n": 4}),
    ('<think>maybe {x}? or {"draft": 1</think>{"action": "answer"}', {"action": "answer"}),
    ('{"text": "use {braces} and \\"quotes\\" and ```fences```"}', {"text": 'use {braces} and "quotes" and ```fences```'}),
    ('Example: {"x": 0}\nAnswer:\n```json\n{"a": 1}\n```', {"a": 1}),
    ('{"a": 1} and then {"b": 2}', {"a": 1}),
    ('[{"a": 1}]', {"a": 1}),
    ('{"名前": "東京", "emoji": "🎬"}', {"名前": "東京", "emoji": "🎬"}),
    ('{"text": "line one\nline two"}', {"text": "line one\nline two"}),
    ('{"a": 1,} then {"b": 2}', {"b": 2}),
]


@pytest.mark.parametrize("reply, expected", REAL_REPLIES)
def test_parse_json_reply_finds_the_object(reply, expected):
    assert parse_json_reply(reply) == expected


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "no json here",
        "[1, 2]",
        '{"a": 1,}',
        "{'a': 1}",
        '{"a": None}',
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": 1',
        "```json\n```",
        "{" * 100_000,
        "[" * 100_000,
        '{"a":' * 30_000,
        None,
        42,
        b'{"a": 1}',
    ],
    ids=lambda r: repr(r)[:30],
)
def test_parse_json_reply_refuses_what_is_not_strict_json(reply):
    with pytest.raises(ModelOutputError):
        parse_json_reply(reply)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)
prose = st.text().map(lambda text: text.replace("{", "(").replace("}", ")"))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_json_reply_raises_only_model_output_error(text):
    with contextlib.suppress(ModelOutputError):
        assert isinstance(parse_json_reply(text), dict)


@settings(max_examples=300, deadline=None)
@given(prose, json_objects, prose, st.sampled_from(["plain", "fenced", "indented", "unicode"]))
def test_parse_json_reply_returns_the_one_embedded_object(before, obj, after, style):
    body = {
        "plain": json.dumps(obj),
        "fenced": "```json\n" + json.dumps(obj) + "\n```",
        "indented": json.dumps(obj, indent=2),
        "unicode": json.dumps(obj, ensure_ascii=False),
    }[style]
    assert parse_json_reply(before + body + after) == obj
