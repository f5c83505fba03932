"""Signing outgoing webhooks as the Standard Webhooks convention does (www.standardwebhooks.com),
so that receivers can verify them with its libraries in any language.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``, under HMAC-SHA256 keyed with
the base64-decoded part of the secret after ``whsec_``; the signature travels as
``webhook-signature: v1,<base64>``. It is a few lines of the standard library, so the server does
not depend on a package for it; the tests prove it against the official ``standardwebhooks``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Final

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's marker, not a secret
# the convention asks for 24 to 64 random bytes; 32 matches SHA-256's output size
SECRET_BYTES: Final = 32


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` followed by 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(secret: str, *, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value for one attempt: ``v1,<base64 HMAC-SHA256>``."""
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, *, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt of a message."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id=message_id, timestamp=timestamp, body=body),
    }


def hint(secret: str) -> str:
    """Enough of a secret to tell two apart on a page, never enough to use it."""
    return secret[: len(SECRET_PREFIX) + 4] + "…"
