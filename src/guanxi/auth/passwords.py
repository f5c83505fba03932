"""Password hashing with argon2id (RFC 9106 parameters as chosen by argon2-cffi)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so a failed login costs the same either way."""
    return _hasher.hash("guanxi-no-such-user")


MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if the password matches; an unknown user (no hash) costs one full verification too."""
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
        return matches and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
