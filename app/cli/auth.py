"""`longshot auth`: make the credentials a server needs to listen beyond this machine. Only hashes go
into the configuration; a token itself is printed once, for the program that will send it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.cli.common import guarded

auth = typer.Typer(no_args_is_help=True, help="Make credentials for `serve` and `mcp` beyond 127.0.0.1.")

MIN_PASSWORD = 8


@auth.command("user")
@guarded
def user(
    name: Annotated[str, typer.Argument(help="The user name (letters, digits, _.@-).")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Ask for a password and print the user's line for the configuration's [auth.users] table."""
    from app.auth import hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        typer.secho(f"error: use a password of at least {MIN_PASSWORD} characters", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    _print_entry("users", name, hash_password(password))


@auth.command("token")
@guarded
def token(name: Annotated[str, typer.Argument(help="What the token is for (letters, digits, _.@-).")]) -> None:
    """Make a bearer token for a program; print it once, and its line for the [auth.tokens] table."""
    from app.auth import new_token

    secret, stored = new_token()
    typer.echo(f"token (shown once; the program sends `Authorization: Bearer <token>`): {secret}", err=True)
    _print_entry("tokens", name, stored)


def _print_entry(table: str, name: str, stored: str) -> None:
    from perception.config import load_config

    load_config(env={f"LONGSHOT_AUTH__{table.upper()}": f"{name}={stored}"})  # the name and hash are checked as the config will
    typer.echo(f'[auth.{table}]\n{name} = "{stored}"')
    typer.echo(
        f"add these lines to the configuration file (--config or $LONGSHOT_CONFIG), or set "
        f"LONGSHOT_AUTH__{table.upper()}='{name}=...'",
        err=True,
    )
