"""Secrets as the configuration stores them: never in plain text.

Passwords are scrypt hashes (`scrypt$n$r$p$salt$hash`, hex): slow on purpose, so a stolen
configuration file does not give the passwords away cheaply. Tokens are 32 random bytes, so a
plain sha256 (`sha256$hash`) is enough: nobody can guess one from its hash. Comparisons take
the same time whatever matches.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SCRYPT_MAXMEM = 64 * 2**20
MAX_SECRET = 1024  # characters: longer passwords or tokens are refused before hashing


def hash_password(password: str) -> str:
    """A new scrypt hash of `password`, with a fresh salt."""
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from; False for anything malformed."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt" or not 0 < len(password) <= MAX_SECRET:
            return False
        given = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
        return hmac.compare_digest(given, bytes.fromhex(digest))
    except ValueError:
        return False


def new_token() -> tuple[str, str]:
    """A new bearer token and the hash to put in the configuration (the token itself is shown once)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return "sha256$" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def verify_token(token: str, stored: str) -> bool:
    if not 0 < len(token) <= MAX_SECRET:
        return False
    return hmac.compare_digest(token_hash(token).encode(), stored.encode("utf-8", "surrogatepass"))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)
