"""What every command shares: the --home and --config options, opening the library from them, one
rule for errors (ours print one line on stderr and exit 1), and how much the log says."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from perception.config import load_config
from perception.errors import LongshotError

HomeOption = Annotated[Path | None, typer.Option("--home", help="Library home (default $LONGSHOT_HOME or ~/.longshot).")]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")]


def open_longshot(home: Path | None = None, config: Path | None = None, **flags: Any):
    """A Longshot built from defaults, the config file, the environment, then these flags."""
    from app.api import Longshot

    overrides = {"home": home, **{k.replace("__", "."): v for k, v in flags.items()}}
    return Longshot(config=load_config(config, overrides=overrides))


def configure_logging(verbose: bool) -> None:
    """Warnings and errors only, unless `verbose`: a normal run prints its results, and what falls back
    (a role without weights) is said once by `doctor`; --verbose also says it as it happens."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.INFO if verbose else logging.WARNING)


def fail(err: Exception) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def guarded(command: Callable) -> Callable:
    """Turn our typed errors into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except LongshotError as err:
            fail(err)

    return wrapper
