"""Optimistic locking at the API edge: ETag out, If-Match in, 412 on a stale write."""

from __future__ import annotations

import re

from guanxi.errors import N_, InvalidInput, PreconditionFailed

_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def etag(version: int) -> str:
    return f'W/"{version}"'


def parse_if_match(header: str | None) -> int | None:
    """The version a client says it last saw; None if it sent no If-Match (or ``*``)."""
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if not match:
        raise InvalidInput(N_('If-Match must be an ETag this server issued, such as W/"3".'))
    return int(match.group(1))


def ensure_version(current: int, expected: int | None) -> None:
    """Refuse a write based on an outdated copy instead of silently overwriting newer data."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            N_(
                "The record changed since you loaded it (you had version {expected}, it is now "
                "{current}). Reload it and apply your change again."
            ),
            expected=expected,
            current=current,
        )
