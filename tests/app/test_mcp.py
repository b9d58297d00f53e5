"""`longshot mcp` driven by the MCP SDK's own client over stdio, as an agent host drives it: list the tools,
ingest a small video with progress notifications, ask, get images back, search, read memory and resources,
and bad arguments answered with an MCP tool error while the server keeps serving."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ImageContent, TextContent
from PIL import Image, ImageDraw

from app.auth import new_token

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"list_videos", "ingest", "ask", "search", "memory", "ask_image"}


def server_for(home: Path) -> StdioServerParameters:
    """`longshot mcp --home HOME` as a host would start it, offline and with speech off (the video is silent)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LONGSHOT_MODELS__SPEECH": "none", "LONGSHOT_INGEST__SCALES": "30"}
    command = "from evals.cli import main; main()"
    return StdioServerParameters(command=sys.executable, args=["-c", command, "mcp", "--home", str(home)], env=env, cwd=str(ROOT))


def text(result) -> str:
    return next(part.text for part in result.content if isinstance(part, TextContent))


def data(result) -> Any:
    assert not result.is_error, text(result)
    return json.loads(text(result))


def images(result) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(p.data))) for p in result.content if isinstance(p, ImageContent)]


def sign_png() -> str:
    picture = Image.new("RGB", (420, 160), "white")
    ImageDraw.Draw(picture).text((40, 70), "PLATFORM 9 OPEN", fill="black")
    buffer = io.BytesIO()
    picture.resize((840, 320)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_an_agent_host_lists_ingests_asks_and_gets_images_back(tmp_path, notices_video):
    progress: list[tuple[float, float | None, str | None]] = []
    seen: dict[str, Any] = {}

    async def record(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async def session() -> None:
        async with Client(server_for(tmp_path / "home"), read_timeout_seconds=600) as client:
            seen["tools"] = {tool.name for tool in (await client.list_tools()).tools}
            seen["empty"] = data(await client.call_tool("list_videos", {}))
            seen["ingest"] = data(await client.call_tool("ingest", {"path": str(notices_video)}, progress_callback=record))
            seen["videos"] = data(await client.call_tool("list_videos", {}))
            asked = await client.call_tool("ask", {"video": notices_video.name, "question": "What code is shown on screen?"})
            seen["ask"], seen["frames"] = data(asked), images(asked)
            choice = {
                "video": notices_video.name,
                "question": "Which code is shown?",
                "options": ["VAULT CODE 4127", "VAULT CODE 4172"],
            }
            seen["choice"] = data(await client.call_tool("ask", choice))
            seen["search"] = data(await client.call_tool("search", {"query": "gate closed", "k": 3}))
            seen["memory"] = data(await client.call_tool("memory", {"video": notices_video.name, "start": 20, "end": 30}))
            pictured = await client.call_tool("ask_image", {"question": "What does the sign say?", "data": sign_png()})
            seen["image"], seen["sketches"] = data(pictured), images(pictured)
            seen["resources"] = {str(r.uri) for r in (await client.list_resources()).resources}
            video_id = seen["videos"][0]["id"]
            summary = await client.read_resource(f"longshot://videos/{video_id}")
            seen["summary"] = json.loads(summary.contents[0].text)

    anyio.run(session)
    video_id = seen["videos"][0]["id"]
    assert seen["tools"] == TOOLS and seen["empty"] == []
    assert seen["ingest"]["status"] == "ready" and seen["ingest"]["duration"] == pytest.approx(60, abs=1)
    assert progress and progress[-1][0] == pytest.approx(progress[-1][1]), "progress notifications up to the whole video"
    assert [v["name"] for v in seen["videos"]] == [notices_video.name]
    assert "4172" in seen["ask"]["answer"] and seen["ask"]["span"]["start"] <= 27 and seen["ask"]["span"]["end"] >= 21
    assert all({"kind", "start", "end", "at", "text"} <= set(e) for e in seen["ask"]["evidence"])
    assert seen["frames"][0].format == "JPEG" and seen["frames"][0].size == (448, 254), "an evidence frame"
    assert {image.format for image in seen["frames"][1:]} <= {"JPEG", "PNG"}, "more frames, then the sketches drawn"
    assert seen["choice"]["choice"] == "B"
    assert seen["search"][0]["video"] == video_id and "GATE B7 CLOSED" in seen["search"][0]["text"]
    assert seen["memory"]["segments"] and all(s["end"] > 20 and s["start"] <= 30 for s in seen["memory"]["segments"])
    assert any("VAULT CODE 4172" in s["text"] for s in seen["memory"]["segments"])
    (notice,) = [e for e in seen["memory"]["events"] if e["modality"] == "text" and "4172" in e["text"]]
    assert 20 <= notice["start"] < 22 and 26 <= notice["end"] <= 28, "the notice at its own times, not its segment's"
    assert "PLATFORM 9 OPEN" in seen["image"]["answer"].upper() and seen["sketches"][0].format == "PNG"
    assert "longshot://videos" in seen["resources"]
    assert seen["summary"]["id"] == video_id and seen["summary"]["timeline"]


BAD_CALLS = [
    ("ask", {"video": "notices.mp4"}, "question"),  # a required argument missing
    ("ask", {"video": "no-such-video", "question": "What?"}, "no-such-video"),  # our typed error
    ("ask", {"video": "x", "question": "What?", "options": "not a list"}, "options"),
    ("memory", {"video": "x", "start": -5}, "start"),
    ("ask_image", {"question": "What?"}, "exactly one"),
    ("ask_image", {"question": "What?", "data": "%%%"}, "base64"),
    ("ask_image", {"question": "What?", "data": base64.b64encode(b"not an image").decode()}, "not an image"),
    ("ingest", {"path": "/nowhere/video.mp4"}, "/nowhere/video.mp4"),
    ("teleport", {}, "teleport"),
]


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(tmp_path):
    outcomes: list[tuple[bool, str]] = []

    async def session() -> None:
        async with Client(server_for(tmp_path / "home"), read_timeout_seconds=300) as client:
            for name, arguments, _ in BAD_CALLS:
                result = await client.call_tool(name, arguments)
                outcomes.append((result.is_error, text(result)))
            outcomes.append((False, json.dumps(data(await client.call_tool("list_videos", {})))))

    anyio.run(session)
    for (name, _, words), (is_error, message) in zip(BAD_CALLS, outcomes):
        assert is_error and words in message, (name, message)
    assert outcomes[-1] == (False, "[]"), "still serving after every bad call"


def test_streamable_http_serves_the_same_tools(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = server_for(tmp_path / "home")
    process = subprocess.Popen([params.command, *params.args, "--port", str(port)], env=params.env, cwd=params.cwd)
    names: set[str] = set()
    listed: list[Any] = []

    async def session() -> None:
        for _ in range(120):  # the server imports its models' code first
            try:
                async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=120) as client:
                    names.update(tool.name for tool in (await client.list_tools()).tools)
                    listed.append(data(await client.call_tool("list_videos", {})))
                    return
            except Exception:  # not listening yet
                await anyio.sleep(1)

    try:
        anyio.run(session)
    finally:
        process.terminate()
        process.wait(30)
    assert names == TOOLS and listed == [[]]


def _http_server(home: Path, port: int, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    params = server_for(home)
    return subprocess.Popen(
        [params.command, *params.args, "--port", str(port), *args],
        env={**params.env, **(env or {})},
        cwd=params.cwd,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_beyond_loopback_http_refuses_to_start_without_credentials(tmp_path):
    process = _http_server(tmp_path / "home", 8765, "--host", "0.0.0.0")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0 and "longshot auth" in stderr and "0.0.0.0" in stderr


def test_with_tokens_configured_http_needs_one_on_every_request(tmp_path):
    token, stored = new_token()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "longshot.toml"
    config.write_text(f'[auth]\ntokens = [["host", "{stored}"]]\n')
    process = _http_server(tmp_path / "home", port, "--config", str(config))
    outcomes: dict[str, Any] = {}

    async def session() -> None:
        for _ in range(120):  # the server imports its models' code first
            try:
                refused = httpx.post(f"http://127.0.0.1:{port}/mcp", json={}, timeout=30)
            except httpx.TransportError:  # not listening yet
                await anyio.sleep(1)
                continue
            outcomes["without"] = refused.status_code
            outcomes["wrong"] = httpx.post(
                f"http://127.0.0.1:{port}/mcp", json={}, headers={"Authorization": "Bearer not-it"}, timeout=30
            ).status_code
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
                async with Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
                    outcomes["listed"] = data(await client.call_tool("list_videos", {}))
            return

    try:
        anyio.run(session)
    finally:
        process.terminate()
        process.wait(30)
    assert outcomes == {"without": 401, "wrong": 401, "listed": []}
