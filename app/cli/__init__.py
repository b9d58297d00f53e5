"""The `longshot` command line, assembled from one module per command group. Errors print one line
and exit non-zero.

common: the shared options and error rule. output: answers and progress bars. doctor;
library (ingest, videos, forget, memory); questions (ask, search, ask-image); serving (serve, demo,
whose tour is in demo); auth (the credentials a server beyond loopback needs). `evals.cli`
mounts `eval` and `bench` on this app, so imports keep flowing one way.
"""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.auth import auth
from app.cli.common import ConfigOption, HomeOption, configure_logging, guarded, open_longshot
from app.cli.doctor import doctor
from app.cli.library import forget, ingest, memory, videos
from app.cli.questions import ask, ask_image, search
from app.cli.serving import demo, serve

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Answer questions about long videos and images.")


@cli.callback()
def options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also log what happens inside, such as a model role falling back.")
    ] = False,
) -> None:
    configure_logging(verbose)


for command in (doctor, ingest, videos, forget, memory, ask, search):
    cli.command()(command)
cli.command("ask-image")(ask_image)
cli.command()(serve)
cli.command()(demo)
cli.add_typer(auth, name="auth")

__all__ = ["ConfigOption", "HomeOption", "cli", "guarded", "open_longshot"]
