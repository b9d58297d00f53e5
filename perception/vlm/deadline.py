"""One HTTP exchange with a hard wall-clock deadline.

Kept by hand rather than taken from a library: `requests` and `httpx` bound each socket
read, not the whole reply, so a server that trickles one byte a second never times out,
and retry libraries (tenacity, urllib3's Retry) wrap the same per-read timeouts. Here the
exchange runs in a daemon thread that checks the deadline between reads (`read1` returns
as soon as any bytes arrive), and the caller stops waiting at the deadline whatever that
thread is blocked on, so a question can never hang on an endpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
import urllib3.exceptions

from perception.errors import VLMError

CONNECT_TIMEOUT_S = 10.0
MAX_BODY_BYTES = 32 * 1024 * 1024
_GRACE_S = 0.5  # lets the worker's own timeout error win over the caller's

Exchange = tuple[int, Mapping[str, str], bytes]  # status, headers, body


class Retryable(Exception):
    """A transient failure: connection refused or dropped mid-reply."""


class TimedOut(Exception):
    """No complete reply by the deadline. Not retried: a model that needed longer than
    `timeout_s` once will likely need it again, and the user would wait for nothing."""


def post_within(
    session: requests.Session, url: str, payload: dict[str, Any], headers: Mapping[str, str], timeout_s: float
) -> Exchange:
    """POST `payload` as JSON and read the whole reply, giving up at `timeout_s` even if the
    server keeps sending bytes. Raises Retryable, TimedOut, or VLMError (cannot send, reply too large)."""
    deadline = time.monotonic() + timeout_s
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = _exchange(session, url, payload, headers, deadline)
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, name="longshot-vlm-request", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()) + _GRACE_S)
    if worker.is_alive():
        raise TimedOut()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _exchange(
    session: requests.Session, url: str, payload: dict[str, Any], headers: Mapping[str, str], deadline: float
) -> Exchange:
    remaining = max(0.01, deadline - time.monotonic())
    try:
        response = session.post(
            url, json=payload, headers=dict(headers), timeout=(min(CONNECT_TIMEOUT_S, remaining), remaining), stream=True
        )
    except requests.ConnectTimeout as error:
        raise Retryable(f"cannot connect: {error}") from None
    except requests.Timeout:
        raise TimedOut() from None
    except requests.ConnectionError as error:
        raise Retryable(f"cannot connect: {error}") from None
    except requests.RequestException as error:
        raise VLMError(f"cannot send a request to {url}: {error}") from None
    with response:
        body = bytearray()
        try:
            while chunk := response.raw.read1(65536, decode_content=True):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise VLMError(f"{url} sent a reply larger than {MAX_BODY_BYTES >> 20} MiB")
                if time.monotonic() > deadline:
                    raise TimedOut()
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            raise TimedOut() from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise Retryable(f"connection dropped while reading the reply: {error}") from None
        return response.status_code, response.headers, bytes(body)
