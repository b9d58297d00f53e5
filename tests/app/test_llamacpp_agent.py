"""The agent with a real model server in the loop: llama.cpp with SmolLM2-135M-Instruct, a tiny text-only
model, over the app tests' library (VAULT CODE 4172 at 0:21-0:27, GATE B7 CLOSED at 0:42-0:48).

The model is too weak to trust with answers, so these tests hold the plumbing to what it must do whatever
the model says: every reply fits the action schema, every question ends with an answer and a trace of the
model's steps, the first prompt fits 2,048 tokens, an overflow is retried with less evidence, two
questions run at once, and a server killed mid-question leaves the question to the offline policy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from app import Longshot
from app.agent import AgentState
from app.answer import Answer, Evidence, Step
from app.cli import cli
from app.policies import OfflinePolicy, VLMPolicy
from app.policies.vlm import parse_action
from app.prompts import FIRST_PROMPT_TOKENS
from app.reply_schema import action_reply_schema
from app.toolbox import action_schemas, validate
from perception.errors import ContextOverflowError

pytestmark = pytest.mark.slow

SLOW_MACHINE_S = 600  # a round's time limit: a 2-core machine shared by many jobs took up to 40 s a round
CODES = ["VAULT CODE 4127", "VAULT CODE 4172", "GATE B7 CLOSED"]
QUESTIONS = [
    ("What code is shown on screen?", None),
    ("Which notice is shown first?", CODES),
    ("When is the gate closed notice shown?", None),
]


@pytest.fixture(scope="module")
def local(library, smollm2):
    """The library with SmolLM2 as its model, served by llama.cpp in this process (two slots)."""
    settings = library.config.replace(models__vlm=f"llamacpp:{smollm2}", agent__max_steps=4, vlm__timeout_s=SLOW_MACHINE_S)
    longshot = Longshot(config=settings)
    yield longshot
    longshot.close()


def model_steps(answer: Answer) -> list[Step]:
    """The steps the model chose (before any handover), the answer step aside."""
    steps = []
    for step in answer.trace[:-1]:
        if "the offline policy takes over" in step.summary:
            break
        steps.append(step)
    return steps


@pytest.mark.parametrize("question, options", QUESTIONS, ids=["open", "choice", "when"])
def test_a_question_ends_with_an_answer_and_a_trace_of_the_models_steps(local, video_id, question, options):
    answer = local.ask(video_id, question, options)
    assert answer.trace and answer.trace[-1].action == "answer"
    assert answer.policy in ("vlm", "vlm+offline")
    assert answer.usage["rounds"] >= 1 and answer.usage["prompt_tokens"] > 0, "the model was asked"
    assert 0 < answer.usage["first_prompt_tokens"] <= FIRST_PROMPT_TOKENS, "the first prompt fits a 2,048-token context"
    for step in model_steps(answer):
        assert step.error is None or "no evidence yet" in step.error or "invalid arguments" in step.error, step


def test_ask_stream_yields_the_models_steps_then_the_answer(local, video_id):
    items = list(local.ask_stream(video_id, "What code is shown on screen?"))
    *steps, answer = items
    assert isinstance(answer, Answer) and steps and all(isinstance(s, Step) for s in steps)
    assert [s.index for s in steps] == list(range(len(steps)))


def test_an_image_question_in_text_only_mode_ends_with_an_answer(local, tmp_path):
    picture = Image.new("RGB", (360, 140), "white")
    ImageDraw.Draw(picture).text((30, 60), "PLATFORM 9 OPEN", fill="black")
    path = tmp_path / "sign.png"
    picture.save(path)
    answer = local.ask_image(path, "What does the sign say?")
    assert answer.trace[-1].action == "answer" and answer.usage["rounds"] >= 1
    assert not local.models.vlm.vision


def test_every_reply_under_the_schema_is_a_valid_action(local, video_id):
    """The first prompt of each question, sent as the policy sends it: the reply fits the schema and validates."""
    chat = local.models.vlm
    policy = VLMPolicy(chat, OfflinePolicy())
    assert chat.constrained
    schema = action_reply_schema(action_schemas())
    for question, options in QUESTIONS * 2:
        state = AgentState(question, tuple(options or ()), None, 8, local._toolbox(video_id).scales(), 60.0)
        reply = chat.chat(policy._messages(state, force=False), json_mode=True, schema=policy.reply_schema)
        action = json.loads(reply.text)
        jsonschema.validate(action, schema)
        validate(parse_action(reply.text))


def test_a_prompt_over_the_context_is_retried_once_with_the_evidence_that_fits(local):
    chat = local.models.vlm
    policy = VLMPolicy(chat, OfflinePolicy())
    state = AgentState("What is the vault code?", (), None, 8, [10.0, 30.0], 60.0)
    words = "the notice on the wall says the vault code again and the gate stays closed until noon " * 4
    state.evidence.extend(Evidence("segment", 10.0 * i, 10.0 * i + 10, f"{words} ({i})", 1.0 - i / 100) for i in range(40))
    whole = policy._messages(state, force=False)
    with pytest.raises(ContextOverflowError):
        chat.chat(whole, json_mode=True, schema=policy.reply_schema)  # the untrimmed prompt is over 4,096 tokens
    action = policy.next_action(state)
    assert action.name and state.usage["rounds"] == 1
    assert state.usage["max_prompt_tokens"] <= local.config.vlm.context_tokens


def test_two_questions_at_once(local, video_id):
    answers: list[Answer] = []
    errors: list[BaseException] = []

    def ask(question: str, options) -> None:
        try:
            answers.append(local.ask(video_id, question, options))
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=ask, args=pair) for pair in QUESTIONS[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert not errors and len(answers) == 2 and all(a.trace[-1].action == "answer" for a in answers)


def test_longshot_ask_with_vlm_llamacpp_prints_the_models_steps(library, video_id, smollm2):
    result = CliRunner().invoke(
        cli,
        ["ask", video_id, "What code is shown on screen?", "--vlm", f"llamacpp:{smollm2}", "--home", str(library.config.home)],
    )
    assert result.exit_code == 0, result.output
    assert "step 0:" in result.stderr and "policy vlm" in result.stdout


SERVE = """
import sys, time
from perception.vlm.llamacpp import LlamaCppServer
server = LlamaCppServer(__import__("pathlib").Path(sys.argv[1]), None, 4096, 1, 1)
print(server.base_url, flush=True)
time.sleep(3600)
"""


def test_a_server_killed_mid_question_leaves_it_to_the_offline_policy(library, video_id, smollm2):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(smollm2)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), "the server did not start"
        longshot = Longshot(
            config=library.config.replace(
                models__vlm=f"openai:smol@{url}", vlm__max_retries=1, vlm__backoff_s=0.1, vlm__timeout_s=SLOW_MACHINE_S
            )
        )
        steps = longshot.ask_stream(video_id, "What code is shown on screen?", CODES)
        first = next(steps)
        process.kill()
        process.wait(30)
        *rest, answer = list(steps)
    finally:
        process.kill()
    assert isinstance(first, Step)
    assert any(s.error and "failed after 2 attempt" in s.error for s in rest), "the dead server is one error step"
    assert answer.policy == "vlm+offline" and any("the offline policy takes over: the model failed" in s.summary for s in rest)
    assert answer.choice == "B", "the offline policy answered"


def test_the_eval_runs_end_to_end_with_the_local_model(library, video_id, smollm2, notices_video, tmp_path):
    dataset = tmp_path / "set.jsonl"
    lines = [
        {"id": "code", "video": str(notices_video), "question": "Which code is shown?", "options": CODES, "answer": "B"},
        {
            "id": "gate",
            "video": str(notices_video),
            "question": "When is the gate closed notice shown?",
            "answer": "",
            "span": [42, 48],
        },
    ]
    dataset.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    env = {"LONGSHOT_MODELS__VLM": f"llamacpp:{smollm2}", "LONGSHOT_AGENT__MAX_STEPS": "3", "LONGSHOT_VLM__TIMEOUT_S": "600"}
    result = CliRunner().invoke(
        cli_with_eval(),
        [
            "eval",
            "--dataset",
            "jsonl",
            "--root",
            str(dataset),
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
            "--home",
            str(library.config.home),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert {r["id"] for r in records} == {"code", "gate"} and all(r["policy"].startswith("vlm") for r in records)
    assert all(r["usage"].get("rounds", 0) >= 1 for r in records), "the model answered in the eval"


def cli_with_eval():
    """`longshot` with `eval` mounted (evals sits above the app, so the app's CLI test imports it here)."""
    from evals.cli import cli as full

    return full
