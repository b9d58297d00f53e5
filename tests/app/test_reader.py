"""The grounding check, the LLM reader, and the policies that use them: against the scripted server, over the
app tests' library (a synthetic video with VAULT CODE 4172 at 0:21-0:27 and GATE B7 CLOSED at 0:42-0:48)."""

from __future__ import annotations

import json

import pytest

from app import Longshot
from app.answer import ABSTAIN_TEXT, Evidence
from app.reader import Reader, grounding, keeps, reads
from perception.config import VLMConfig
from perception.vlm.client import OpenAIChat
from tests.fakes import ScriptedOpenAIServer, request_parts

EVIDENCE = [
    Evidence("segment", 20.0, 30.0, 'On screen: "VAULT CODE X7-QL9". Speech: the vault opens at noon', 0.8),
    Evidence("fact", 40.0, 50.0, "GATE B7 CLOSED shown: GATE B7 CLOSED", 0.6),
]


@pytest.mark.parametrize(
    "answer",
    [
        "The vault code is X7-QL9 (at 0:21-0:27).",
        "x7 ql9",
        "The vault opens at noon.",
        "Gate B7 is closed, shown at 0:42.",
        "The video shows the vault codes.",  # framing words and plurals
    ],
)
def test_answers_the_evidence_holds_are_grounded(answer):
    assert grounding(answer, "What is the vault code?", EVIDENCE).grounded


@pytest.mark.parametrize(
    "answer, missing",
    [
        ("The vault code is X7-QL8.", "x7-ql8"),
        ("The code is 4172.", "4172"),
        ("A dragon guards the treasure chamber.", "dragon"),
        ("Gate B8 is closed.", "b8"),  # a short code counts too
        ("17", "17"),  # an evidence item's number, as a small model writes it: not in the evidence's text
    ],
)
def test_answers_with_what_the_evidence_never_said_are_not(answer, missing):
    check = grounding(answer, "What is the vault code?", EVIDENCE)
    assert not check.grounded and missing in check.missing and missing in check.describe()


GATE = "GATE B7 CLOSED (at 2:15)"
SELFISH = "Speech: Unless to be rather cold-hearted and rather selfish is to be ill-disposed. (at 9:30)"


@pytest.mark.parametrize(
    "extractive, answer, kept, dropped",
    [
        (GATE, "The notice says GATE B7 CLOSED.", True, ()),
        (GATE, "The gate is closed.", False, ("7",)),  # the code is the answer
        (GATE, "The answer is: The answer is: The answer is:", False, ("closed", "gate")),
        (SELFISH, "Being rather cold-hearted and selfish is said to be ill-disposed.", True, ()),
        (SELFISH, "He was not an ill-disposed young man.", False, ("rather", "selfish")),  # another moment's words
    ],
)
def test_a_reworded_answer_must_keep_what_the_extractive_one_says(extractive, answer, kept, dropped):
    check = keeps(answer, extractive, "What is said or shown?")
    assert check.grounded is kept and set(dropped) <= set(check.missing)


def test_prose_questions_are_read_and_exact_ones_are_not():
    assert reads("What does the narrator say about the vault?", [])
    assert not reads("How many times is the gate notice shown?", [])
    assert not reads("When is the gate closed?", [])
    assert not reads("Which code is shown?", ["A", "B"])


def test_the_reader_writes_from_the_evidence_and_adds_the_moments_it_cites():
    reply = json.dumps({"answer": "The vault code is X7-QL9.", "evidence": [0, 7]})
    with ScriptedOpenAIServer([reply]) as server:
        reading = Reader(OpenAIChat("llm", server.base_url, VLMConfig(max_retries=0))).read("What is the code?", EVIDENCE, [0, 1])
        sent = server.requests[0]
    assert reading.text == "The vault code is X7-QL9. (0:20-0:30)" and reading.cited == (0,) and reading.grounding.grounded
    prompt = request_parts(sent)[0]
    assert "[0] segment 0:20-0:30" in prompt and "[1] fact 0:40-0:50" in prompt and "What is the code?" in prompt
    assert sent["response_format"]["type"] == "json_schema"


# --- the policies, end to end over the library ----------------------------------------------------------

QUESTION = "What does the vault notice say?"


def with_llm(library: Longshot, server: ScriptedOpenAIServer, **overrides) -> Longshot:
    return Longshot(config=library.config.replace(models__vlm=f"openai:llm@{server.base_url}", vlm__max_retries=0, **overrides))


def test_as_reader_the_llm_writes_the_offline_policys_answer(library, video_id):
    def script(request):
        return json.dumps({"answer": "It says VAULT CODE 4172.", "evidence": [0]})

    with ScriptedOpenAIServer(script) as server:
        answer = with_llm(library, server, agent__vlm_role="reader").ask(video_id, QUESTION)
        assert len(server.requests) == 1, "the offline policy searched; the LLM only wrote the answer"
    assert answer.text.startswith("It says VAULT CODE 4172. (0:2") and answer.policy == "offline+reader"
    assert "written by the reader from evidence" in answer.trace[-1].summary
    assert answer.span is not None and 20 <= answer.span[0] <= answer.span[1] <= 30, "the moment of the evidence it cites"


def test_as_reader_an_answer_the_evidence_does_not_hold_gives_way_to_the_extractive_one(library, video_id):
    with ScriptedOpenAIServer(lambda request: json.dumps({"answer": "It says VAULT CODE 9999.", "evidence": [0]})) as server:
        answer = with_llm(library, server, agent__vlm_role="reader").ask(video_id, QUESTION)
    assert "9999" not in answer.text and "4172" in answer.text
    assert "not in the evidence: 9999" in answer.trace[-1].summary and "the extractive answer" in answer.trace[-1].summary


def test_as_reader_an_answer_that_drops_the_code_gives_way_to_the_extractive_one(library, video_id):
    with ScriptedOpenAIServer(lambda request: json.dumps({"answer": "It says the vault code.", "evidence": [0]})) as server:
        answer = with_llm(library, server, agent__vlm_role="reader").ask(video_id, QUESTION)
    assert "4172" in answer.text and "drops 4172" in answer.trace[-1].summary


def test_as_reader_a_reader_that_fails_leaves_the_extractive_answer(library, video_id):
    with ScriptedOpenAIServer(lambda request: {"status": 503}) as server:
        answer = with_llm(library, server, agent__vlm_role="reader").ask(video_id, QUESTION)
    assert "4172" in answer.text and "the reader failed" in answer.trace[-1].summary


@pytest.mark.parametrize(
    ("said", "given", "trace"),
    [
        ("It says OPEN SESAME.", "4172", "not in the evidence: open, sesame"),  # replaced by the extractive one
        ("VAULT CODE 4172", "VAULT CODE 4172", "grounded in the evidence"),  # stands
    ],
)
def test_a_text_only_models_answer_stands_only_if_grounded(library, video_id, said, given, trace):
    script = [
        json.dumps({"action": "search_episodic", "args": {"query": "vault notice"}}),
        json.dumps({"action": "answer", "args": {"text": said, "evidence": [0]}}),
    ]
    with ScriptedOpenAIServer(script, vision=False) as server:
        answer = with_llm(library, server).ask(video_id, QUESTION)
    assert given in answer.text and "SESAME" not in answer.text
    assert trace in answer.trace[-1].summary


def test_an_answer_before_any_evidence_is_refused_as_a_guess(library, video_id):
    script = [
        json.dumps({"action": "answer", "args": {"text": "B", "choice": "B"}}),
        json.dumps({"action": "search_episodic", "args": {"query": "vault code"}}),
        json.dumps({"action": "answer", "args": {"text": "VAULT CODE 4172", "choice": "A", "evidence": [0]}}),
    ]
    with ScriptedOpenAIServer(script) as server:
        answer = with_llm(library, server).ask(video_id, "Which code is shown?", ["VAULT CODE 4172", "VAULT CODE 4127"])
    assert answer.trace[0].error == "there is no evidence yet: search before you answer"
    assert answer.choice == "A" and answer.policy == "vlm"


def test_abstaining_is_not_checked(library, video_id):
    script = [
        json.dumps({"action": "search_episodic", "args": {"query": "dragon"}}),
        json.dumps({"action": "answer", "args": {"text": ABSTAIN_TEXT}}),
    ]
    with ScriptedOpenAIServer(script, vision=False) as server:
        answer = with_llm(library, server).ask(video_id, "What does the dragon say?")
    assert answer.abstained and "grounded" not in answer.trace[-1].summary
