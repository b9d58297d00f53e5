"""Fakes for the edges Longshot does not own (network services), shared by all tests."""

from tests.fakes.openai_server import (
    ScriptedOpenAIServer,
    check_chat_request,
    completion,
    request_images,
    request_parts,
)

__all__ = ["ScriptedOpenAIServer", "check_chat_request", "completion", "request_images", "request_parts"]
