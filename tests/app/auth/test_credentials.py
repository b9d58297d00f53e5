"""Hashes, credentials, the exposure rule and the throttle, on their own."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.auth import Credentials, hash_password, is_loopback, may_delete, new_token, require_credentials
from app.auth.hashing import token_hash, verify_password, verify_token
from app.auth.throttle import Throttle
from perception.config import AuthConfig, load_config
from perception.errors import AuthRequiredError, ConfigError

ALICE = hash_password("correct horse")


def test_a_password_matches_its_own_hash_only():
    assert verify_password("correct horse", ALICE)
    assert not verify_password("correct horsE", ALICE)
    assert not verify_password("", ALICE)
    assert hash_password("correct horse") != ALICE  # a fresh salt each time


@settings(max_examples=50)
@given(st.text(max_size=200))
def test_a_malformed_stored_hash_never_matches_and_never_raises(stored):
    assert not verify_password("correct horse", stored)
    assert not verify_token("token", stored)


def test_a_token_matches_its_hash_and_the_token_is_not_in_it():
    token, stored = new_token()
    assert verify_token(token, stored) and not verify_token(token[:-1], stored)
    assert token not in stored and stored == token_hash(token)


def test_credentials_name_who_signed_in():
    token, stored = new_token()
    credentials = Credentials.from_config(AuthConfig(users=(("alice", ALICE),), tokens=(("ci", stored),)))
    assert credentials.user("alice", "correct horse") == "alice"
    assert credentials.user("alice", "wrong") is None
    assert credentials.user("mallory", "correct horse") is None
    assert credentials.token(token) == "token:ci" and credentials.token("guess") is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
     ("", False), ("::", False), ("192.168.1.20", False), ("example.com", False)],
)  # fmt: skip
def test_only_loopback_addresses_are_this_machine_only(host, loopback):
    assert is_loopback(host) is loopback


def test_beyond_loopback_a_server_without_credentials_refuses_and_says_how():
    with pytest.raises(AuthRequiredError, match=r"longshot auth user NAME.*longshot auth token NAME.*127\.0\.0\.1"):
        require_credentials("0.0.0.0", Credentials(), "longshot serve")
    require_credentials("127.0.0.1", Credentials(), "longshot serve")
    require_credentials("0.0.0.0", Credentials(users={"alice": ALICE}), "longshot serve")
    _, stored = new_token()
    require_credentials("0.0.0.0", Credentials(tokens={"ci": stored}), "longshot mcp")


def test_forget_needs_a_signed_in_user_where_there_are_credentials():
    credentials = Credentials(users={"alice": ALICE})
    assert may_delete("alice", credentials)
    assert not may_delete(None, credentials) and not may_delete("", credentials) and not may_delete("token:ci", credentials)
    assert may_delete(None, Credentials())  # an open loopback app: the person at the machine


def test_the_configuration_keeps_hashes_and_refuses_secrets_without_echoing_them():
    token, stored = new_token()
    config = load_config(env={"LONGSHOT_AUTH__USERS": f"alice={ALICE}", "LONGSHOT_AUTH__TOKENS": f"ci={stored}"})
    assert config.auth.users == (("alice", ALICE),) and config.auth.tokens == (("ci", stored),)
    hash(config)  # still a value that can be shared and hashed
    for env in ({"LONGSHOT_AUTH__USERS": "alice=hunter22"}, {"LONGSHOT_AUTH__TOKENS": f"ci={token}"}):
        with pytest.raises(ConfigError, match="needs a hash") as caught:
            load_config(env=env)
        assert "hunter22" not in str(caught.value) and token not in str(caught.value)
    with pytest.raises(ConfigError, match="user name"):
        load_config(env={"LONGSHOT_AUTH__USERS": f"token:ci={ALICE}"})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_makes_a_client_wait_after_its_failures_until_the_window_passes():
    clock = Clock()
    throttle = Throttle(per_client=3, window_s=60, overall=100, clock=clock)
    for _ in range(3):
        assert throttle.wait("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
    assert 59 < throttle.wait("10.0.0.1") <= 60
    assert throttle.wait("10.0.0.2") == 0  # another client is not held up
    clock.now += 61
    assert throttle.wait("10.0.0.1") == 0


def test_the_throttle_holds_everyone_when_failures_come_from_many_clients():
    clock = Clock()
    throttle = Throttle(per_client=3, window_s=60, overall=10, clock=clock)
    for i in range(10):
        throttle.failed(f"10.0.0.{i}")
    assert throttle.wait("10.9.9.9") > 0


def test_signing_in_clears_a_clients_own_failures():
    throttle = Throttle(per_client=2, window_s=60, overall=100, clock=Clock())
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.wait("a") == 0
