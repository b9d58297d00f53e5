"""Who may use a Longshot server that other machines can reach.

The rule, for every face that listens on a network port (the web app, `longshot mcp --port`):
bound to loopback it may run open; bound to anything else it needs credentials from the
configuration's `[auth]` section, or it refuses to start and says how to make them
(`require_credentials`). With credentials every request passes `AuthGate` first: a signed-in
user (password, session cookie) or a bearer token; failed attempts are rate-limited per client
and overall. Forgetting and deleting need a signed-in user, not a program's token (`may_delete`).

- `hashing`: scrypt password hashes and sha256 token hashes, as stored in the configuration;
- `throttle`: failed attempts per client and overall within a window;
- `credentials`: the configured users and tokens, and the exposure rule;
- `gate`: the ASGI middleware (login form, sessions, bearer tokens) any HTTP face wraps its app in.
"""

from app.auth.credentials import Credentials, is_loopback, may_delete, require_credentials
from app.auth.gate import AuthGate, gate_options, identity_of
from app.auth.hashing import hash_password, new_token

__all__ = [
    "AuthGate",
    "Credentials",
    "gate_options",
    "hash_password",
    "identity_of",
    "is_loopback",
    "may_delete",
    "new_token",
    "require_credentials",
]
