"""The full `longshot` command: the app's commands plus `eval` and `bench`.

They are mounted here, not in `app.cli`, because evaluation sits above the app in the
direction of imports.
"""

from __future__ import annotations

import logging

import typer

from app.cli import cli

bench = typer.Typer(no_args_is_help=True, help="Measure speed and memory; prints figures (--json for one object).")
cli.add_typer(bench, name="bench")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cli()
