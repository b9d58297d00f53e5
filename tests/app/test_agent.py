"""The agent loop with both policies, on a real ingested video; the VLM is a scripted HTTP server."""

from __future__ import annotations

import json

import pytest

from app import Longshot
from app.agent import describe
from app.answer import ABSTAIN_TEXT, Answer, Step
from tests.fakes.openai_server import ScriptedOpenAIServer, request_images, request_parts
from tests.synth import read_index

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
    assert answer.span is None, "an abstention points at no moment (a 'when' judge must not credit it)"


def assert_nothing_after(answer: Answer, until: float) -> None:
    """Every evidence item of every step, and of the answer, ends by `until`, and so does each of its frames."""
    items = [item for step in answer.trace for item in step.evidence] + list(answer.evidence)
    for item in items:
        assert item.start <= until and item.end <= until, item
        assert all(f.time <= until for f in item.frames), item
    assert answer.span is None or answer.span[1] <= until


def test_until_hides_the_future(library, video_id):
    answer = library.ask(video_id, "When is the notice 'GATE B7 CLOSED' shown?", until=35.0)
    assert answer.abstained
    assert_nothing_after(answer, 35.0)
    choice = library.ask(video_id, "Which notice is shown?", ["GATE B7 CLOSED", "GATE B1 CLOSED"], until=35.0)
    assert choice.choice is None and choice.abstained
    assert_nothing_after(choice, 35.0)
    later = library.ask(video_id, "When is the notice 'GATE B7 CLOSED' shown?", until=50.0)
    assert overlaps(later.span, 42, 48)
    assert_nothing_after(later, 50.0)


def test_every_step_is_recorded(library, video_id):
    answer = library.ask(video_id, "What code is shown on screen?", CODES)
    assert [s.index for s in answer.trace] == list(range(len(answer.trace)))
    for step in answer.trace:
        assert step.action in ("search_episodic", "search_semantic", "search_visual", "inspect", "sketch", "answer")
        assert isinstance(step.args, dict) and step.summary and step.seconds >= 0 and step.error is None
    assert answer.trace[-1].args["choice"] == "B" and answer.seconds >= sum(s.seconds for s in answer.trace[:-1])


def test_the_offline_policy_is_forced_to_answer_when_the_budget_runs_out(library, video_id):
    longshot = Longshot(config=library.config.replace(agent__max_steps=2))
    answer = longshot.ask(video_id, "What code is shown on screen?", CODES)  # four options to look up, two steps
    assert [s.action for s in answer.trace] == ["search_episodic", "search_episodic", "answer"]
    assert [s.args["query"] for s in answer.trace[:2]] == CODES[:2]
    assert answer.trace[-1].summary.startswith("forced")
    assert answer.choice == "B" and overlaps(answer.span, 20, 30)


def test_stream_yields_steps_then_the_answer(library, video_id):
    items = list(library.ask_stream(video_id, "What code is shown on screen?", CODES))
    assert all(isinstance(i, Step) for i in items[:-1]) and isinstance(items[-1], Answer)
    assert [s.index for s in items[:-1]] == list(range(len(items) - 1))
    seen = [e.key for s in items[:-1] for e in s.evidence]
    assert len(seen) == len(set(seen)), "evidence was returned twice"


def _vlm_library(library: Longshot, server: ScriptedOpenAIServer, **overrides) -> Longshot:
    return Longshot(
        config=library.config.replace(models__vlm=f"openai:fake-vlm@{server.base_url}", vlm__max_retries=0, **overrides)
    )


def test_vlm_policy_sees_frames_with_timestamps_and_survives_bad_actions(library, video_id):
    script = [
        json.dumps({"action": "search_episodic", "args": {"query": "vault code", "scale": 10}}),
        "I think I should look closer.",  # not JSON
        json.dumps({"action": "teleport", "args": {}}),  # unknown tool
        json.dumps({"action": "inspect", "args": {"start": 20, "end": 30, "n": 3}}),
        json.dumps({"action": "inspect", "args": {"start": 20, "end": 30, "n": 500}}),  # out of range
        json.dumps({"action": "answer", "args": {"text": "4172", "choice": "B", "evidence": [0]}}),
    ]
    with ScriptedOpenAIServer(script) as server:  # patient enough for two invalid actions in a row
        answer = _vlm_library(library, server, agent__max_invalid=4).ask(video_id, "What code is shown on screen?", CODES)
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


def test_the_models_first_prompt_holds_the_coarse_timeline_of_what_was_committed(library, video_id):
    """The overview is read from the video's timeline: the notices with their own times, only up to `until`."""
    answer_now = json.dumps({"action": "answer", "args": {"text": "VAULT CODE 4172"}})
    with ScriptedOpenAIServer(lambda request: answer_now) as server:
        longshot = _vlm_library(library, server, agent__max_steps=2)
        longshot.ask(video_id, "What code is shown on screen?")
        second = len(server.requests)
        longshot.ask(video_id, "What code is shown on screen?", until=35.0)
        firsts = (server.requests[0], server.requests[second])
        whole, early = ("\n".join(p for p in request_parts(r) if isinstance(p, str)) for r in firsts)
    assert "Coarse timeline of the video" in whole
    assert '"VAULT CODE 4172" (0:2' in whole and '"GATE B7 CLOSED" (0:4' in whole, whole
    assert '"VAULT CODE 4172" (0:2' in early and "GATE B7 CLOSED" not in early, "what comes after `until` stays hidden"


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


def test_vlm_that_keeps_failing_hands_the_question_to_the_offline_policy(library, video_id):
    with ScriptedOpenAIServer(lambda request: "no json here") as server:
        answer = _vlm_library(library, server).ask(video_id, "What code is shown on screen?", CODES)
        asked = len(server.requests)
    errors = [s for s in answer.trace if s.error]
    assert len(errors) == 2 and asked == 2, "the model is asked no more once it has failed twice in a row"
    handover = answer.trace[2]
    assert "the offline policy takes over: 2 invalid actions in a row" in handover.summary
    assert handover.error is None and handover.evidence, "the offline policy searched"
    assert answer.policy == "vlm+offline"
    assert answer.choice == "B", "the offline policy answered the question, not only from the failed rounds"


def test_a_model_that_stops_finding_anything_new_hands_over(library, video_id):
    search = json.dumps({"action": "search_episodic", "args": {"query": "vault code", "k": 3}})
    with ScriptedOpenAIServer(lambda request: search) as server:
        answer = _vlm_library(library, server, agent__max_steps=8).ask(video_id, "What code is shown on screen?", CODES)
        asked = len(server.requests)
    assert asked == 3, "one search that finds, two that find nothing new, then no more asking"
    assert "the offline policy takes over: no new evidence in 2 steps" in answer.trace[3].summary
    offline = answer.trace[3:-1]
    assert len(offline) >= 4 and len(answer.trace) > 8, "the offline policy searched on a budget of its own"
    assert answer.choice == "B"


def test_the_loop_never_returns_the_same_evidence_twice(library, video_id):
    search = {"action": "search_episodic", "args": {"query": "vault code", "k": 3}}
    script = [
        json.dumps(search),
        json.dumps(search),
        json.dumps({"action": "answer", "args": {"text": "done", "choice": "Z", "evidence": [0, 99]}}),
    ]
    with ScriptedOpenAIServer(script) as server:
        answer = _vlm_library(library, server).ask(video_id, "What code is shown on screen?", CODES)
        after_repeat = "".join(part for part in request_parts(server.requests[2]) if isinstance(part, str))
    first, again = answer.trace[0], answer.trace[1]
    assert len(first.evidence) == 3 and again.evidence == ()
    assert "3 already seen, not repeated" in again.summary
    assert all(after_repeat.count(describe(item, i)) == 1 for i, item in enumerate(first.evidence)), "each item shown once"
    assert answer.choice is None, "a letter past the options is not a choice"
    assert answer.evidence == (first.evidence[0],), "only evidence that exists is cited"


def test_until_holds_for_every_action_a_model_takes(library, video_id):
    """Searches of each memory, an inspect over the whole video and the answer: nothing after `until` gets through."""
    until = 30.0
    script = [
        json.dumps({"action": "search_episodic", "args": {"query": "gate closed notice", "k": 10}}),
        json.dumps({"action": "search_semantic", "args": {"query": "GATE B7 CLOSED", "k": 10}}),
        json.dumps({"action": "search_visual", "args": {"query": "a notice on screen", "k": 10}}),
        json.dumps({"action": "inspect", "args": {"start": 0, "end": 60, "n": 8}}),
        json.dumps({"action": "answer", "args": {"text": "at 0:45", "span": [42, 48]}}),
    ]
    with ScriptedOpenAIServer(script) as server:
        answer = _vlm_library(library, server).ask(video_id, "When is the notice 'GATE B7 CLOSED' shown?", until=until)
        shown = request_images(server.requests[-1])
    assert [s.action for s in answer.trace] == ["search_episodic", "search_semantic", "search_visual", "inspect", "answer"]
    assert all(s.error is None for s in answer.trace)
    assert_nothing_after(answer, until)
    assert answer.span == (until, until), "a span the model gives is cut at until"
    assert shown and all(read_index(image) / 5 <= until for image in shown), "frames shown to the model are from before until"
