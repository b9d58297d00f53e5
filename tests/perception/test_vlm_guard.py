"""The one rule for giving up on a failing VLM, alone: failures in a row per scope, the
endpoint's failures counting against every kind of request, unusable replies against their kind."""

from __future__ import annotations

import threading

import pytest

from perception.errors import ModelOutputError, VLMError
from perception.vlm.guard import VLMGuard

DOWN = VLMError("no complete reply within 1 s")
GARBLED = ModelOutputError("no JSON object in the model's reply")


def test_endpoint_failures_in_a_row_leave_every_kind_out():
    guard = VLMGuard(give_up_after=3)
    assert guard.failed("caption", DOWN) is None
    assert guard.failed("summary", DOWN) is None  # another kind, the same endpoint: still in a row
    assert guard.failed("facts", DOWN) == "the VLM failed 3 times in a row"
    assert not any(guard.allows(kind) for kind in ("caption", "summary", "facts", "never asked"))


def test_a_success_breaks_the_run():
    guard = VLMGuard(give_up_after=3)
    for _ in range(5):
        assert guard.failed("caption", DOWN) is None
        assert guard.failed("caption", DOWN) is None
        guard.succeeded("summary")  # the endpoint answered
    assert guard.allows("caption")


def test_unusable_replies_leave_out_their_kind_only():
    guard = VLMGuard(give_up_after=3)
    assert guard.failed("facts", GARBLED) is None
    guard.succeeded("caption")  # captions work: the facts' run goes on
    assert guard.failed("facts", GARBLED) is None
    assert guard.failed("facts", GARBLED) == "the VLM facts failed 3 times in a row"
    assert not guard.allows("facts") and guard.allows("caption") and guard.allows("summary")


def test_an_unusable_reply_shows_the_endpoint_answers():
    guard = VLMGuard(give_up_after=2)
    assert guard.failed("caption", DOWN) is None
    assert guard.failed("facts", GARBLED) is None  # a reply came: the endpoint's run is broken
    assert guard.failed("caption", DOWN) is None
    assert guard.allows("caption") and guard.allows("facts")


def test_a_question_gives_up_at_the_first_endpoint_failure():
    guard = VLMGuard(give_up_after=1)
    assert guard.allows("action")
    assert guard.failed("action", DOWN) == "the VLM failed 1 time in a row"
    assert not guard.allows("action")


def test_giving_up_is_said_once():
    guard = VLMGuard(give_up_after=1)
    assert guard.failed("caption", DOWN) is not None
    assert guard.failed("caption", DOWN) is None  # a caller that asks anyway is not told twice


def test_patience_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        VLMGuard(give_up_after=0)


def test_threads_failing_at_once_give_up_exactly_once():
    guard = VLMGuard(give_up_after=50)
    said: list[str] = []
    start = threading.Barrier(8)

    def fail_many() -> None:
        start.wait()
        for _ in range(25):
            if message := guard.failed("caption", DOWN):
                said.append(message)

    threads = [threading.Thread(target=fail_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert said == ["the VLM failed 50 times in a row"] and not guard.allows("caption")
