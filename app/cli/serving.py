"""The serving commands: the web app, the MCP server for agent hosts, and the demo tour that ends by pointing at it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import ConfigOption, HomeOption, VLMOption, guarded, open_longshot


@guarded
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default web.host, 127.0.0.1: this machine only).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default web.port, 7860).")] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the app in a browser.")] = False,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the web app: upload and ingest videos, ask with streamed steps, browse the memory."""
    from app.web.server import serve as serve_web

    serve_web(open_longshot(home, config, web__host=host, web__port=port), open_browser=open_browser)


@guarded
def mcp(
    port: Annotated[int | None, typer.Option(help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")] = None,
    host: Annotated[
        str, typer.Option(help="Address to bind with --port; beyond 127.0.0.1 it needs credentials (longshot auth).")
    ] = "127.0.0.1",
    vlm: VLMOption = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the library to agent hosts (Claude Desktop, Cursor, any MCP client) over stdio, or HTTP with --port."""
    from app.mcp.server import serve as serve_mcp

    serve_mcp(open_longshot(home, config, models__vlm=vlm), port=port, host=host)


@guarded
def demo(
    video: Annotated[Path | None, typer.Option(help="Real footage to use instead of the generated sample.")] = None,
    open_app: Annotated[bool, typer.Option("--serve", help="Open the web app on the library afterwards.")] = False,
    port: Annotated[int | None, typer.Option(help="Port of the web app with --serve.")] = None,
    home: HomeOption = None,
    config: ConfigOption = None,
) -> None:
    """Offline tour: make a sample video, ingest it, ask three questions, print answers with evidence."""
    from app.cli.demo import run_demo

    run_demo(open_longshot(home, config, web__port=port), video=video, serve=open_app)
