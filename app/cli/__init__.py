"""The `longshot` command line, assembled from one module per command group. Errors print one line
and exit non-zero.

common: the shared options and error rule. output: answers and progress bars. doctor;
library (ingest, videos, forget, memory); questions (ask, ask-image); serving (serve, mcp,
demo, whose tour is in demo). `evals.cli` mounts `eval` and `bench` on this app, so imports keep
flowing one way.
"""

from __future__ import annotations

import typer

from app.cli.common import ConfigOption, HomeOption, guarded, open_longshot
from app.cli.doctor import doctor
from app.cli.library import forget, ingest, memory, videos
from app.cli.questions import ask, ask_image
from app.cli.serving import demo, mcp, serve

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Answer questions about long videos and images.")
for command in (doctor, ingest, videos, forget, memory, ask):
    cli.command()(command)
cli.command("ask-image")(ask_image)
cli.command()(serve)
cli.command()(mcp)
cli.command()(demo)

__all__ = ["ConfigOption", "HomeOption", "cli", "guarded", "open_longshot"]
