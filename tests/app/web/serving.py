"""Start the web app on a free port of 127.0.0.1, and call its endpoints over Gradio's plain HTTP API."""

from __future__ import annotations

import dataclasses
import socket
from typing import Any

import httpx

from app.web.server import serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def started(longshot: Any, **web: Any) -> tuple[Any, str]:
    """The app over `longshot`, running in the background with these web settings; its Blocks and URL."""
    settings = dataclasses.replace(longshot.config.web, port=free_port(), **web)
    return serve(longshot, web=settings, block=False)


def call(url: str, api: str, data: list, timeout: float = 300) -> str:
    """One event through Gradio's HTTP API (no client-side uploads); the text of its event stream."""
    posted = httpx.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=60)
    posted.raise_for_status()
    return httpx.get(f"{url}gradio_api/call/{api}/{posted.json()['event_id']}", timeout=timeout).text
