"""A VLM endpoint that fails at the network level: down, answering 5xx, timing out, sending bytes
forever, or answering with a body that is not JSON. Questions (Longshot.ask and ask_image) and
ingest captioning retry with backoff where retrying can help, wait a bounded time, and then go on
offline: the answer comes from the offline policy with its evidence, and the trace says why.

(Client-level retries are in tests/perception/test_vlm.py; a model whose text is not a valid
action is in tests/app/test_agent.py; ingest with timeouts, 500s and garbage without retries in
tests/memory/test_build.py.)
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from app import Longshot
from tests.app.conftest import NOTICES
from tests.fakes.openai_server import ScriptedOpenAIServer

CODES = ["1234", "4172", "9000", "5555"]
TIMEOUT_S = 1.0
RETRIES = 2
FAULTS = {
    "503": ({"status": 503, "message": "overloaded"}, "HTTP 503"),
    "timeout": ({"delay": 5.0, "content": "late"}, f"within {TIMEOUT_S:g} s"),
    "streams-forever": ({"trickle": True}, f"within {TIMEOUT_S:g} s"),
    "not-json-body": ({"raw": "<html>502 Bad Gateway</html>"}, "not JSON"),
}
ATTEMPTS = {"503": RETRIES + 1, "timeout": 1, "streams-forever": 1, "not-json-body": 1}  # a timeout is not retried


def vlm_settings(base_url: str) -> dict:
    return {
        "models__vlm": f"openai:fake-vlm@{base_url}",
        "vlm__timeout_s": TIMEOUT_S,
        "vlm__max_retries": RETRIES,
        "vlm__backoff_s": 0.05,
    }


def refused_url() -> str:
    """A local port nothing listens on: connection refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_ask_with_a_failing_vlm_answers_offline_after_a_bounded_wait(library, video_id, fault):
    reply, says = FAULTS[fault]
    with ScriptedOpenAIServer(lambda request: reply) as server:
        longshot = Longshot(config=library.config.replace(**vlm_settings(server.base_url)))
        answer = longshot.ask(video_id, "What code is shown on screen?", CODES)
        requests = len(server.requests)
    failed = [step for step in answer.trace if step.error]
    assert failed and says in failed[0].error  # the trace says what went wrong
    assert requests == ATTEMPTS[fault]  # retried where that can help, then the VLM is left alone
    assert answer.choice == "B" and answer.evidence  # the offline policy found the code
    assert any(e.start <= NOTICES[0][0] < e.end for e in answer.evidence)


@pytest.mark.timeout(120)
def test_ask_with_the_vlm_down_answers_offline(library, video_id):
    longshot = Longshot(config=library.config.replace(**vlm_settings(refused_url())))
    answer = longshot.ask(video_id, "What code is shown on screen?", CODES)
    assert "cannot connect" in next(step.error for step in answer.trace if step.error)
    assert answer.choice == "B"


@pytest.mark.timeout(120)
def test_ask_image_with_a_vlm_that_streams_forever_answers_offline(media: Path, tmp_path: Path):
    with ScriptedOpenAIServer(lambda request: {"trickle": True}) as server:
        longshot = Longshot(
            home=tmp_path / "home", models__detector="none", models__speech="none", **vlm_settings(server.base_url)
        )
        started = time.monotonic()
        answer = longshot.ask_image(media / "images" / "opencv" / "board.jpg", "What use is the board marked for?")
        waited = time.monotonic() - started
        requests = len(server.requests)
    assert requests == 1 and any(step.error and "within" in step.error for step in answer.trace)
    assert "home" in answer.text.lower() or "office" in answer.text.lower()  # read offline
    assert waited < 60  # one timeout, not one per step (a bound on waiting, far from any machine's speed)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("fault", ["503", "streams-forever", "down"])
def test_ingest_with_a_failing_vlm_captions_offline_after_a_bounded_number_of_tries(notices_video, tmp_path, fault):
    settings = {"models__speech": "none", "ingest__scales": (30.0,)}
    if fault == "down":
        result = Longshot(home=tmp_path / "home", **settings, **vlm_settings(refused_url())).ingest(notices_video)
        requests = None
    else:
        reply, _ = FAULTS[fault]
        with ScriptedOpenAIServer(lambda request: reply) as server:
            result = Longshot(home=tmp_path / "home", **settings, **vlm_settings(server.base_url)).ingest(notices_video)
            requests = len(server.requests)
    assert result.video.status == "ready"
    assert "the VLM failed 3 times in a row" in result.warnings[-1]
    if requests is not None:
        assert requests == 3 * ATTEMPTS[fault]  # three calls, each with its retries, then offline for the rest
    longshot = Longshot(home=tmp_path / "home", **settings)
    captions = " ".join(s.caption for s in longshot.episodic.segments(result.video.id, scale=10))
    assert NOTICES[0][2] in captions  # offline captions from OCR
