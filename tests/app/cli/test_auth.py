"""`longshot auth` makes lines the configuration takes and that prove what they should, and `longshot serve`
beyond loopback without them refuses in one line that says how to add them."""

from __future__ import annotations

import tomllib

from typer.testing import CliRunner

from app.auth import Credentials
from app.cli import cli
from perception.config import load_config


def _config(tmp_path, printed: str):
    path = tmp_path / "longshot.toml"
    path.write_text(printed)
    return load_config(path, env={})


def test_auth_user_prints_a_hash_the_configuration_takes_and_that_proves_the_password(tmp_path):
    result = CliRunner().invoke(cli, ["auth", "user", "alice", "--password-stdin"], input="correct horse\n")
    assert result.exit_code == 0, result.output
    assert "correct horse" not in result.stdout
    assert tomllib.loads(result.stdout)["auth"]["users"]["alice"].startswith("scrypt$")
    credentials = Credentials.from_config(_config(tmp_path, result.stdout).auth)
    assert credentials.user("alice", "correct horse") == "alice" and credentials.user("alice", "correct hors") is None


def test_auth_user_refuses_a_short_password():
    result = CliRunner().invoke(cli, ["auth", "user", "alice", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "at least 8 characters" in result.stderr


def test_auth_token_shows_the_token_once_and_configures_only_its_hash(tmp_path):
    result = CliRunner().invoke(cli, ["auth", "token", "ci"])
    assert result.exit_code == 0, result.output
    token = result.stderr.split("Bearer <token>`): ")[1].split()[0]
    assert token not in result.stdout
    assert Credentials.from_config(_config(tmp_path, result.stdout).auth).token(token) == "token:ci"


def test_serve_beyond_loopback_without_credentials_refuses_in_one_line(home):
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0", "--home", str(home)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: longshot serve would listen on 0.0.0.0")
    assert "longshot auth user NAME" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
