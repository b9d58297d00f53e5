"""The VLM policy with a model that reads text only, and with prompts too long for the model's context:
against the scripted server (a real server's overflow is in tests/app/test_llamacpp_agent.py)."""

from __future__ import annotations

import json
import re

import pytest

from app import Longshot
from app.policies.vlm import REPLY_ROOM, TRIM_MARGIN
from app.prompts import estimate_tokens
from tests.fakes import ScriptedOpenAIServer, request_images, request_parts

CODES = ["VAULT CODE 4127", "VAULT CODE 4172", "GATE B7 CLOSED"]
LLAMA_OVERFLOW = {
    "status": 400,
    "body": {
        "error": {
            "code": 400,
            "message": "request (5200 tokens) exceeds the available context size (4096 tokens), try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 5200,
            "n_ctx": 4096,
        }
    },
}


def with_llm(library: Longshot, server: ScriptedOpenAIServer, **overrides) -> Longshot:
    return Longshot(config=library.config.replace(models__vlm=f"openai:llm@{server.base_url}", vlm__max_retries=0, **overrides))


def text_of(request: dict) -> str:
    return "\n".join(part for part in request_parts(request) if isinstance(part, str))


def test_frames_reach_a_text_only_model_as_their_memory_text(library, video_id):
    script = [
        json.dumps({"action": "inspect", "args": {"start": 20, "end": 30, "n": 2}}),
        json.dumps({"action": "sketch", "args": {"time": 24, "tool": "ocr", "args": {}}}),
        json.dumps({"action": "answer", "args": {"text": "VAULT CODE 4172", "choice": "B", "evidence": [0]}}),
    ]
    with ScriptedOpenAIServer(script, vision=False) as server:
        answer = with_llm(library, server).ask(video_id, "Which code is shown?", CODES)
        after_inspect, after_sketch = server.requests[1], server.requests[2]
    assert request_images(after_inspect) == [] and request_images(after_sketch) == []
    inspected = text_of(after_inspect)
    assert "not shown, this model reads text only. Memory there:" in inspected and "VAULT CODE 4172" in inspected
    assert inspected.count("reads text only") == 2, "one stand-in per frame inspect picked"
    sketched = text_of(after_sketch)
    assert "[sketch 1: ocr on frame" in sketched and "Result: {" in sketched, "the tool's structured result"
    assert '"lines": [{"id": 1, "text": "VAULT CODE 4172"' in sketched
    assert answer.choice == "B"


def test_an_image_question_to_a_text_only_model_asks_it_to_read_with_tools(tmp_path):
    import numpy as np
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (320, 120), "white")
    ImageDraw.Draw(picture).text((20, 50), "EXIT 12", fill="black")
    script = [json.dumps({"action": "answer", "args": {"text": "I cannot see it."}})]
    with ScriptedOpenAIServer(script, vision=False) as server:
        longshot = Longshot(home=tmp_path, models__vlm=f"openai:llm@{server.base_url}", vlm__max_retries=0)
        longshot.ask_image(np.asarray(picture), "What does the sign say?")
        first = server.requests[0]
    assert request_images(first) == []
    assert "the image (frame 'image', 320x120 px): not shown" in text_of(first) and "sketch tool such as ocr" in text_of(first)


def evidence_lines(request: dict) -> list[str]:
    return [line for line in text_of(request).splitlines() if re.match(r"\[\d+\] ", line)]


def overflow_then_answer(counts: bool):
    """A server whose context holds the prompt with half its evidence (as our estimate sizes it), then answers."""
    searches = [
        json.dumps({"action": "search_episodic", "args": {"query": "vault code", "k": 8}}),
        json.dumps({"action": "search_semantic", "args": {"query": "gate", "k": 8}}),
    ]
    answer = json.dumps({"action": "answer", "args": {"text": "VAULT CODE 4172", "choice": "B", "evidence": [0]}})
    requests: list[dict] = []

    def script(request: dict):
        requests.append(request)
        if len(requests) <= 2:
            return searches[len(requests) - 1]
        if len(requests) > 3:
            return answer
        if not counts:
            return {"status": 400, "message": "This request exceeds the model's context window."}
        prompt = sum(estimate_tokens(m["content"] if isinstance(m["content"], str) else "") for m in request["messages"])
        evidence = sum(estimate_tokens(line) for line in evidence_lines(request))
        context = int((prompt - evidence / 2 + REPLY_ROOM) / TRIM_MARGIN) + 1
        body = {"error": {"message": "exceeds the available context size", "n_prompt_tokens": prompt, "n_ctx": context}}
        return {"status": 400, "body": body}

    return script


@pytest.mark.parametrize("counts", [True, False], ids=["with-counts", "without"])
def test_a_prompt_too_long_is_sent_again_with_the_best_evidence_that_fits(library, video_id, counts):
    with ScriptedOpenAIServer(overflow_then_answer(counts)) as server:
        answer = with_llm(library, server).ask(video_id, "Which code is shown?", CODES)
        too_long, retried = server.requests[2], server.requests[3]
    every, kept = evidence_lines(too_long), evidence_lines(retried)
    assert 0 < len(kept) < len(every) and set(kept) <= set(every), "some evidence left out, the rest with its own numbers"
    assert sum(estimate_tokens(line) for line in kept) <= sum(estimate_tokens(line) for line in every) / 2
    assert "evidence items left out to fit the model's context" in text_of(retried)
    assert answer.choice == "B" and answer.policy == "vlm" and not any(s.error for s in answer.trace)


def test_a_prompt_that_still_does_not_fit_hands_the_question_over(library, video_id):
    script = [json.dumps({"action": "search_episodic", "args": {"query": "vault code"}}), LLAMA_OVERFLOW, LLAMA_OVERFLOW]
    with ScriptedOpenAIServer(script) as server:
        answer = with_llm(library, server).ask(video_id, "Which code is shown?", CODES)
        asked = len(server.requests)
    assert asked == 3, "one retry, then no more asking"
    assert "does not fit the model's context" in answer.trace[1].error
    assert "the offline policy takes over: the model failed" in answer.trace[2].summary
    assert answer.choice == "B" and answer.policy == "vlm+offline"
