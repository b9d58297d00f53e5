"""How many uploads the web app takes in: a budget of files and bytes per window of time.

Gradio bounds each upload's size (`max_file_size`) but not how many arrive: every POST to its
upload route is written to its cache folder, whether or not an ingest ever uses it, so a loop of
uploads fills the disk. This middleware counts what the route has let in during the last
`window_s` seconds and answers 429 past the budget; Gradio's `delete_cache` removes uploads older
than the window, so uploads on disk stay within the budget. The library's own copy of a video
(accept_upload) lives outside that cache and is not touched.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

from starlette.middleware import Middleware

UPLOAD_WINDOW_S = 3600
UPLOADS_PER_WINDOW = 64
UPLOAD_BYTES_PER_WINDOW_IN_FILES = 4  # the byte budget, in uploads of the largest size allowed


class UploadQuota:
    """ASGI middleware: POSTs to a path ending in `/upload` past `max_uploads` requests or `max_bytes`
    (by Content-Length, or `max_bytes` itself when absent) within `window_s` get 429 and Retry-After."""

    def __init__(self, app: Any, max_uploads: int, max_bytes: int, window_s: float, clock=time.monotonic):
        self.app = app
        self.max_uploads = max_uploads
        self.max_bytes = max_bytes
        self.window_s = window_s
        self._clock = clock
        self._taken: deque[tuple[float, int]] = deque()  # (when, bytes) of each upload let in
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/upload"):
            wait = self._admit(_content_length(scope, self.max_bytes))
            if wait is not None:
                await _refuse(send, wait, self.max_uploads, self.max_bytes, self.window_s)
                return
        await self.app(scope, receive, send)

    def _admit(self, size: int) -> float | None:
        """None when the upload fits the budget (and is counted); otherwise seconds until it would."""
        now = self._clock()
        with self._lock:
            while self._taken and self._taken[0][0] <= now - self.window_s:
                self._taken.popleft()
            used = sum(taken for _, taken in self._taken)
            if len(self._taken) < self.max_uploads and used + size <= self.max_bytes:
                self._taken.append((now, size))
                return None
            oldest = self._taken[0][0] if self._taken else now
            return max(1.0, oldest + self.window_s - now)


def upload_quota(max_upload_mb: float) -> Middleware:
    """The middleware with the app's budget: UPLOADS_PER_WINDOW uploads and a few of the largest per window."""
    return Middleware(
        UploadQuota,
        max_uploads=UPLOADS_PER_WINDOW,
        max_bytes=int(UPLOAD_BYTES_PER_WINDOW_IN_FILES * max_upload_mb * 2**20),
        window_s=UPLOAD_WINDOW_S,
    )


def _content_length(scope: dict, fallback: int) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return fallback
    return fallback


async def _refuse(send: Any, wait: float, uploads: int, size: int, window_s: float) -> None:
    body = json.dumps(
        {
            "detail": (
                f"Too many uploads: this server takes {uploads} uploads or {size / 2**20:.0f} MB per "
                f"{window_s / 60:.0f} minutes; try again in {wait / 60:.0f} minutes"
            )
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(int(wait)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
