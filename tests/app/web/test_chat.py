"""The chat as plain data: the steps as tool messages as they happen, then the answer."""

from __future__ import annotations

import dataclasses

import pytest

from app.answer import Answer
from app.web.chat import QuestionError, answer_message, chat_stream, step_message

slow = pytest.mark.slow


@slow
def test_chat_streams_steps_as_tool_messages_then_the_answer(library, video_id):
    states = list(chat_stream(library, video_id, "What is the vault code?", []))
    first, _ = states[0]
    assert first[0] == {"role": "user", "content": "What is the vault code?"}
    assert first[-1]["metadata"]["status"] == "pending"
    steps = [m for m in states[-2][0] if m.get("metadata", {}).get("status") == "done"]
    assert steps and all(m["metadata"]["title"] and "duration" in m["metadata"] for m in steps)
    assert any(m["metadata"]["title"].startswith("Searched the timeline") for m in steps)
    final, answer = states[-1]
    assert isinstance(answer, Answer) and "4172" in answer.text
    assert "pending" not in str(final) and "4172" in final[-1]["content"] and "metadata" not in final[-1]
    assert all(a is None for _, a in states[:-1])


@slow
def test_chat_keeps_the_history_of_earlier_questions(library, video_id):
    history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"}]
    final, _ = list(chat_stream(library, video_id, "When is GATE B7 CLOSED shown?", history))[-1]
    assert final[:2] == history and final[2]["content"] == "When is GATE B7 CLOSED shown?"


@slow
@pytest.mark.parametrize(("video", "question", "message"), [(None, "what?", "pick a video"), ("x", "  ", "type a question")])
def test_chat_refuses_what_it_cannot_ask(library, video, question, message):
    with pytest.raises(QuestionError, match=message):
        next(chat_stream(library, video, question, []))


def test_answer_says_when_the_video_was_still_being_ingested(half_ingested):
    answer = Answer("the code is 4172", None, (3.0, 5.0), (), (), 0.5, policy="offline")
    text = answer_message(answer, half_ingested)["content"]
    assert text.startswith("**the code is 4172**") and "<small>at 0:03-0:05 ·" in text
    assert "first 0:06 of 0:12" in text and "still being ingested" in text


@slow
def test_video_text_is_shown_as_text_not_markup(library, video_id):
    step = next(s for s in library.ask(video_id, "What is the vault code?").trace if s.evidence)
    hostile = dataclasses.replace(step, summary="<img src=x onerror=alert(1)>")
    assert "<img" not in step_message(hostile)["content"] and "&lt;img" in step_message(hostile)["content"]
