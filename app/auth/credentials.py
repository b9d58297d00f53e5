"""The configured users and tokens, what each proves, and the rule for exposing a server."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.auth.hashing import hash_password, verify_password, verify_token
from perception.config import AuthConfig
from perception.errors import AuthRequiredError

TOKEN_PREFIX = "token:"  # a program's identity, as the app sees it: "token:<name>"; a user's is the bare name
_DECOY = hash_password("a password nobody has")  # checked for unknown users, so a miss takes as long as a hit

HOW_TO = (
    "add a user to the configuration's [auth] section (`longshot auth user NAME` asks for a password and prints "
    "the line), or a bearer token for programs (`longshot auth token NAME`), or bind to 127.0.0.1"
)


@dataclass(frozen=True)
class Credentials:
    """Users (name -> scrypt hash) and tokens (name -> sha256 hash)."""

    users: Mapping[str, str] = field(default_factory=dict)
    tokens: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, auth: AuthConfig) -> Credentials:
        return cls(MappingProxyType(dict(auth.users)), MappingProxyType(dict(auth.tokens)))

    @property
    def configured(self) -> bool:
        return bool(self.users or self.tokens)

    def user(self, name: str, password: str) -> str | None:
        """The user's identity when the password is theirs, else None."""
        stored = self.users.get(name)
        matches = verify_password(password, stored or _DECOY)
        return name if matches and stored is not None else None

    def token(self, token: str) -> str | None:
        """ "token:<name>" of the configured token this is, else None."""
        found = None
        for name, stored in self.tokens.items():  # every hash compared, whichever matches
            if verify_token(token, stored):
                found = TOKEN_PREFIX + name
        return found


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only ("0.0.0.0", "" and names are not)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def require_credentials(host: str, credentials: Credentials, face: str) -> None:
    """Refuse to start `face` on a non-loopback `host` without credentials (AuthRequiredError says how to add them)."""
    if not is_loopback(host) and not credentials.configured:
        raise AuthRequiredError(
            f"{face} would listen on {host or 'every address'}, where other machines can reach it, and no "
            f"credentials are configured; {HOW_TO}"
        )


def may_delete(identity: str | None, credentials: Credentials) -> bool:
    """Forget and delete: anyone on an open loopback server; with credentials, a signed-in user only
    (a program's token may read and ask, not destroy)."""
    if not credentials.configured:
        return True
    return bool(identity) and not str(identity).startswith(TOKEN_PREFIX)
