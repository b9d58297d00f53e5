"""The agent loop with both policies, on a real ingested video; the VLM is a scripted HTTP server."""

from __future__ import annotations

import json

import pytest

from app import Longshot
from app.answer import ABSTAIN_TEXT, Answer, Step
from tests.fakes.openai_server import ScriptedOpenAIServer, request_images, request_parts

pytestmark = pytest.mark.slow

CODES = ["VAULT CODE 4127", "VAULT CODE 4172", "VAULT CODE 4712", "VAULT CODE 1472"]


def overlaps(span, start, end) -> bool:
    return span is not None and span[0] < end and span[1] > start


def test_offline_multiple_choice_picks_the_code_that_was_shown(library, video_id):
    answer = library.ask(video_id, "What code is shown on screen?", CODES)
    assert answer.choice == "B"
    assert overlaps(answer.span, 20, 30)
    assert any("4172" in e.text for e in answer.evidence)
    actions = [s.action for s in answer.trace]
    assert actions[0] == "search_episodic" and actions[-1] == "answer"
    assert "search_semantic" in actions and "inspect" in actions


def test_offline_when_question_gives_the_span_of_the_notice(library, video_id):
    answer = library.ask(video_id, "When is the notice 'GATE B7 CLOSED' shown?")
    assert overlaps(answer.span, 42, 48), answer
    assert not answer.abstained


def test_offline_order_question(library, video_id):
    options = ["the notice 'GATE B7 CLOSED'", "the notice 'VAULT CODE 4172'"]
    answer = library.ask(video_id, "Which comes first?", options)
    assert answer.choice == "B"


def test_offline_abstains_on_what_the_video_does_not_hold(library, video_id):
    answer = library.ask(video_id, "What colour is the giraffe's umbrella?")
    assert answer.abstained and answer.text == ABSTAIN_TEXT


def test_until_hides_the_future(library, video_id):
    answer = library.ask(video_id, "When is the notice 'GATE B7 CLOSED' shown?", until=35.0)
    assert answer.abstained
    for step in answer.trace:
        for item in step.evidence:
            assert item.start <= 35.0
            assert all(f.time <= 35.0 for f in item.frames)


def test_stream_yields_steps_then_the_answer(library, video_id):
    items = list(library.ask_stream(video_id, "What code is shown on screen?", CODES))
    assert all(isinstance(i, Step) for i in items[:-1]) and isinstance(items[-1], Answer)
    assert [s.index for s in items[:-1]] == list(range(len(items) - 1))
    seen = [e.key for s in items[:-1] for e in s.evidence]
    assert len(seen) == len(set(seen)), "evidence was returned twice"


def _vlm_library(library: Longshot, server: ScriptedOpenAIServer, **overrides) -> Longshot:
    return Longshot(config=library.config.replace(models__vlm=f"openai:fake-vlm@{server.base_url}", vlm__max_retries=0, **overrides))


def test_vlm_policy_sees_frames_with_timestamps_and_survives_bad_actions(library, video_id):
    script = [
        json.dumps({"action": "search_episodic", "args": {"query": "vault code", "scale": 10}}),
        "I think I should look closer.",  # not JSON
        json.dumps({"action": "teleport", "args": {}}),  # unknown tool
        json.dumps({"action": "inspect", "args": {"start": 20, "end": 30, "n": 3}}),
        json.dumps({"action": "inspect", "args": {"start": 20, "end": 30, "n": 500}}),  # out of range
        json.dumps({"action": "answer", "args": {"text": "4172", "choice": "B", "evidence": [0]}}),
    ]
    with ScriptedOpenAIServer(script) as server:
        answer = _vlm_library(library, server).ask(video_id, "What code is shown on screen?", CODES)
        assert server.errors == []
        requests = server.requests
    assert answer.choice == "B" and answer.policy == "vlm"
    errors = [s for s in answer.trace if s.error]
    assert len(errors) == 3
    assert "JSON" in errors[0].error or "json" in errors[0].error
    assert "teleport" in errors[1].error
    assert "n" in errors[2].error
    # the request after inspect carries the chosen frames as images, each preceded by its timestamp
    after_inspect = requests[4]
    images = request_images(after_inspect)
    assert 1 <= len(images) <= 3
    parts = request_parts(after_inspect)
    for position, part in enumerate(parts):
        if not isinstance(part, str):
            assert isinstance(parts[position - 1], str) and "0:2" in parts[position - 1]
    # the error of the previous round is shown to the model
    assert "teleport" in json.dumps(requests[3])


def test_vlm_that_never_answers_is_forced_and_falls_back(library, video_id):
    search = json.dumps({"action": "search_episodic", "args": {"query": "code"}})
    with ScriptedOpenAIServer(lambda request: search) as server:
        longshot = _vlm_library(library, server, agent__max_steps=3)
        answer = longshot.ask(video_id, "What code is shown on screen?", CODES)
        last_request = json.dumps(server.requests[-1])
    assert len([s for s in answer.trace if s.action == "search_episodic"]) == 3
    assert "no steps left" in last_request
    assert answer.trace[-1].action == "answer" and answer.trace[-1].summary.startswith("forced")
    assert answer.choice == "B"  # the offline scorer answered from the evidence the model gathered


def test_vlm_that_keeps_failing_stops_after_repeated_invalid_actions(library, video_id):
    with ScriptedOpenAIServer(lambda request: "no json here") as server:
        answer = _vlm_library(library, server, agent__max_invalid=2).ask(video_id, "What code is shown on screen?")
    assert len([s for s in answer.trace if s.error]) == 2
    assert answer.trace[-1].action == "answer"
