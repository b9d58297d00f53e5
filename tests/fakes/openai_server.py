"""A real OpenAI-compatible HTTP server that plays a script, for tests of anything that calls a VLM.

It stands in for vLLM, Ollama or OpenAI at the network edge, so the client code under
test runs exactly as in production: sockets, timeouts, retries and all.

    with ScriptedOpenAIServer(["first reply", {"status": 503}, "after retry"]) as server:
        chat = OpenAIChat("fake-vlm", server.base_url)
        ...
        assert server.errors == []
        request = server.requests[0]          # the JSON body the client sent

Each POST to `/v1/chat/completions` is checked for the shape of a chat request (model,
a list of messages, text and `image_url` parts, images as base64 JPEG data URLs, no
streaming); a request of the wrong shape gets 400 with the reason, which is also added
to `.errors`. A well-formed request takes the next reply of the script. A reply is:

- a string: a normal completion with that content;
- a dict, whose keys are all optional:
  - `content` (str): the completion text, default "";
  - `status` (int): the HTTP status, default 200; a non-200 without `body` sends an
    OpenAI-style `{"error": {"message": ...}}` with `message` (str) as its text;
  - `body` (dict or str): sent as is (a dict as JSON), whatever the status;
  - `raw` (str): sent as is with status 200 and a JSON content type (garbage tests);
  - `headers` (dict): extra response headers, e.g. `{"Retry-After": "2"}`;
  - `delay` (float): seconds to wait before answering;
  - `trickle` (True): send a 200 header, then one byte every 50 ms, forever;
  - `usage` (dict or None): the `usage` object, None to leave it out; by default
    prompt_tokens counts the words of the text parts plus 85 per image, and
    completion_tokens the words of the content;
  - `finish_reason` (str): default "stop";
- or, instead of a list, a callable taking the request JSON and returning a reply.

When the script runs out, the server answers 500 and notes it in `.errors`.

`GET /v1/models` lists the model with its input modalities, as llama.cpp and OpenRouter
do: text and image by default, text only with `vision=False`, and no listing at all
(404) with `vision=None`, so that a client must probe.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from PIL import Image

Reply = str | dict[str, Any]
Script = Sequence[Reply] | Callable[[dict[str, Any]], Reply]

JPEG_DATA_URL = "data:image/jpeg;base64,"
ROLES = {"system", "developer", "user", "assistant", "tool"}
RESPONSE_FORMATS = ("text", "json_object", "json_schema")


class ScriptedOpenAIServer:
    """An HTTP server on 127.0.0.1 (a free port) that answers chat completions from a script."""

    def __init__(self, script: Script = (), *, model: str | None = None, api_key: str | None = None, vision: bool | None = True):
        """`model`: when set, other model names get 404; `api_key`: when set, requests must carry it;
        `vision`: what the model list says of images (None: no model list)."""
        self.model = model
        self.api_key = api_key
        self.vision = vision
        self.requests: list[dict[str, Any]] = []  # every JSON body received, well-formed or not
        self.headers: list[dict[str, str]] = []  # the headers of each of those requests
        self.errors: list[str] = []  # why requests were refused, and script overruns
        self._script = script if callable(script) else list(script)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>/v1`, what a client takes as its base URL."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def remaining(self) -> int:
        """Replies of a list script not yet used (0 for a callable script)."""
        return 0 if callable(self._script) else len(self._script)

    def start(self) -> ScriptedOpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="scripted-openai", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; delayed and trickling replies are cut short."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, request: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)

    def _refuse(self, reason: str) -> str:
        with self._lock:
            self.errors.append(reason)
        return reason

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        if callable(self._script):
            return self._script(request)
        with self._lock:
            if self._script:
                return self._script.pop(0)
        return {"status": 500, "message": self._refuse("the scripted server has no reply left")}


def check_chat_request(request: Any) -> str | None:
    """Why `request` is not a well-formed chat completion request, or None when it is."""
    if not isinstance(request, dict):
        return "the body must be a JSON object"
    if not isinstance(request.get("model"), str) or not request["model"]:
        return "'model' must be a non-empty string"
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    for number, message in enumerate(messages):
        reason = _check_message(message)
        if reason:
            return f"messages[{number}]: {reason}"
    max_tokens = request.get("max_tokens", 1)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return "'max_tokens' must be a positive integer"
    temperature = request.get("temperature", 0)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        return "'temperature' must be a number between 0 and 2"
    if request.get("stream", False) is not False:
        return "this server does not stream; send 'stream': false"
    response_format = request.get("response_format", {"type": "text"})
    if not isinstance(response_format, dict) or response_format.get("type") not in RESPONSE_FORMATS:
        return "'response_format' must be {'type': 'text' | 'json_object' | 'json_schema'}"
    return None


def _check_message(message: Any) -> str | None:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        return f"each message needs a 'role' among {sorted(ROLES)}"
    content = message.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list) or not content:
        return "'content' must be a string or a non-empty list of parts"
    for part in content:
        if not isinstance(part, dict):
            return "each content part must be an object"
        if part.get("type") == "text":
            if not isinstance(part.get("text"), str):
                return "a text part needs a string 'text'"
        elif part.get("type") == "image_url":
            if message["role"] != "user":
                return "only user messages may hold images"
            url = part.get("image_url", {}).get("url") if isinstance(part.get("image_url"), dict) else None
            reason = _check_jpeg_url(url)
            if reason:
                return reason
        else:
            return f"unknown content part type {part.get('type')!r}"
    return None


def _check_jpeg_url(url: Any) -> str | None:
    if not isinstance(url, str) or not url.startswith(JPEG_DATA_URL):
        return f"an image_url must be a '{JPEG_DATA_URL}...' data URL"
    try:
        data = base64.b64decode(url[len(JPEG_DATA_URL) :], validate=True)
        with Image.open(io.BytesIO(data)) as picture:
            if picture.format != "JPEG":
                return f"an image_url holds a {picture.format} image, not a JPEG"
            picture.load()
    except (binascii.Error, ValueError):
        return "an image_url is not valid base64"
    except OSError as error:
        return f"an image_url does not decode as an image: {error}"
    return None


def request_parts(request: dict[str, Any]) -> list[str | np.ndarray]:
    """The text and images of every message of a request, in order; images as RGB arrays."""
    parts: list[str | np.ndarray] = []
    for message in request["messages"]:
        content = message["content"]
        for part in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            if part["type"] == "text":
                parts.append(part["text"])
            else:
                data = base64.b64decode(part["image_url"]["url"][len(JPEG_DATA_URL) :])
                with Image.open(io.BytesIO(data)) as picture:
                    parts.append(np.asarray(picture.convert("RGB")))
    return parts


def request_images(request: dict[str, Any]) -> list[np.ndarray]:
    """The images of a request, in order, as RGB arrays."""
    return [part for part in request_parts(request) if isinstance(part, np.ndarray)]


def completion(request: dict[str, Any], content: str, finish_reason: str = "stop") -> dict[str, Any]:
    """An OpenAI chat completion answering `request` with `content`."""
    words = sum(len(part.split()) if isinstance(part, str) else 85 for part in request_parts(request))
    said = len(content.split())
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": words, "completion_tokens": said, "total_tokens": words + said},
    }


def _handler_for(server: ScriptedOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            if self.path.split("?")[0].rstrip("/") != "/v1/models" or server.vision is None:
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            modalities = ["text", "image"] if server.vision else ["text"]
            entry = {"id": server.model or "scripted", "object": "model", "architecture": {"input_modalities": modalities}}
            self._send(200, {"object": "list", "data": [entry]})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # even for a 404: the connection is reused
            if self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}; POST /v1/chat/completions"}})
                return
            try:
                request = json.loads(raw)
            except ValueError:
                self._send(400, {"error": {"message": server._refuse("the body is not JSON")}})
                return
            server._record(request, {k.lower(): v for k, v in self.headers.items()})
            if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                self._send(401, {"error": {"message": server._refuse("missing or wrong API key")}})
                return
            reason = check_chat_request(request)
            if reason:
                self._send(400, {"error": {"message": server._refuse(reason), "type": "invalid_request_error"}})
                return
            if server.model and request["model"] != server.model:
                self._send(404, {"error": {"message": server._refuse(f"model {request['model']!r} not found")}})
                return
            try:
                reply = server._next_reply(request)
            except Exception as error:  # a broken callable script is the test's bug: say so
                reply = {"status": 500, "message": server._refuse(f"the script raised {error!r}")}
            self._answer(request, {"content": reply} if isinstance(reply, str) else reply)

        def _answer(self, request: dict[str, Any], reply: dict[str, Any]) -> None:
            if server._stopping.wait(reply.get("delay", 0)):
                return
            if reply.get("trickle"):
                self._trickle()
                return
            status = reply.get("status", 200)
            if "raw" in reply:
                body: Any = reply["raw"]
            elif "body" in reply:
                body = reply["body"]
            elif status != 200:
                body = {"error": {"message": reply.get("message", HTTPStatus(status).phrase), "code": status}}
            else:
                body = completion(request, reply.get("content", ""), reply.get("finish_reason", "stop"))
                if "usage" in reply:
                    body["usage"] = reply["usage"]
                if body["usage"] is None:
                    del body["usage"]
            self._send(status, body, reply.get("headers", {}))

        def _trickle(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(1 << 30))
            self.end_headers()
            try:
                while not server._stopping.wait(0.05):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:  # the client gave up, as it should
                pass
            self.close_connection = True

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client timed out and closed the socket
                self.close_connection = True

    return Handler
