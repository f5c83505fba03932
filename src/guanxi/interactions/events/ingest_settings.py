"""Settings of web behaviour events, kept in the database (``app_settings`` key ``web_events``):
how many days events are kept, which shop origins may send them from a browser, and the public
ingest key the shop's snippet sends.

The ingest key is in every shop page's source, so it is not a secret from visitors; it only
keeps strangers' traffic out of the store and can be rotated at any time. It is kept as its
SHA-256 (shown once, when made) and compared in constant time.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from guanxi import settings_store
from guanxi.audit import tracking
from guanxi.db import utcnow
from guanxi.errors import N_, FieldError, InvalidInput, NotAuthenticated, PermissionDenied

SETTINGS_KEY = "web_events"
DEFAULT_RETENTION_DAYS = 365
MAX_RETENTION_DAYS = 3650
KEY_PREFIX = "gxk_"


@dataclass(frozen=True)
class WebEventSettings:
    retention_days: int = DEFAULT_RETENTION_DAYS
    # scheme://host[:port] of the shop pages that may send events; empty accepts any origin
    allowed_origins: tuple[str, ...] = ()
    key_hash: str | None = None
    key_hint: str = ""
    key_rotated_at: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def has_key(self) -> bool:
        return self.key_hash is not None

    def allows_origin(self, origin: str | None) -> bool:
        """Whether a browser on ``origin`` may send events (no Origin header: not a browser)."""
        if not origin or not self.allowed_origins:
            return True
        return origin.lower().rstrip("/") in self.allowed_origins


def load(session: Session) -> WebEventSettings:
    stored = settings_store.get(session, SETTINGS_KEY) or {}
    retention = stored.get("retention_days", DEFAULT_RETENTION_DAYS)
    return WebEventSettings(
        retention_days=retention if isinstance(retention, int) else DEFAULT_RETENTION_DAYS,
        allowed_origins=tuple(stored.get("allowed_origins") or ()),
        key_hash=stored.get("key_hash"),
        key_hint=str(stored.get("key_hint") or ""),
        key_rotated_at=stored.get("key_rotated_at"),
    )


def _store(session: Session, current: WebEventSettings, **changes: object) -> None:
    value: dict[str, object] = {
        "retention_days": current.retention_days,
        "allowed_origins": list(current.allowed_origins),
        "key_hash": current.key_hash,
        "key_hint": current.key_hint,
        "key_rotated_at": current.key_rotated_at,
    }
    value.update(changes)
    settings_store.put(session, SETTINGS_KEY, value)


def save(session: Session, *, retention_days: int, allowed_origins: list[str]) -> WebEventSettings:
    """Change the retention and the allowed origins; InvalidInput names a wrong field."""
    errors = []
    if not 1 <= retention_days <= MAX_RETENTION_DAYS:
        errors.append(FieldError("retention_days", N_("Keep events between 1 and 3650 days.")))
    origins: list[str] = []
    for raw in allowed_origins:
        if not raw.strip():
            continue
        origin = normalise_origin(raw)
        if origin is None:
            errors.append(
                FieldError(
                    "allowed_origins",
                    N_("Give each origin as https://shop.example.com, without a path."),
                )
            )
        elif origin not in origins:
            origins.append(origin)
    if errors:
        raise InvalidInput(N_("The web event settings could not be saved."), errors=errors)
    _store(session, load(session), retention_days=retention_days, allowed_origins=origins)
    return load(session)


def normalise_origin(raw: str) -> str | None:
    """``https://Shop.example.com/`` as ``https://shop.example.com``; None for anything that is
    not a bare http(s) origin (a path, a query or a missing host)."""
    text = raw.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def rotate_key(session: Session) -> str:
    """Make a new ingest key, replacing the old one at once; the key is returned this once."""
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    _store(
        session,
        load(session),
        key_hash=_digest(key),
        key_hint=key[: len(KEY_PREFIX) + 4],
        key_rotated_at=utcnow().isoformat(),
    )
    tracking.record(session, "web_events.key_rotated", "app_setting", SETTINGS_KEY)
    return key


def check_key(settings: WebEventSettings, *, key: str | None, origin: str | None) -> None:
    """Accept a browser's batch only with the current ingest key, from an allowed origin."""
    if not key:
        raise NotAuthenticated(
            N_("Send the ingest key in the X-Guanxi-Ingest-Key header, or an API token.")
        )
    if settings.key_hash is None or not secrets.compare_digest(_digest(key), settings.key_hash):
        raise NotAuthenticated(N_("The ingest key is not the current one."))
    if not settings.allows_origin(origin):
        raise PermissionDenied(N_("Events from this origin are not accepted."))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def rotated_at(settings: WebEventSettings) -> datetime | None:
    return datetime.fromisoformat(settings.key_rotated_at) if settings.key_rotated_at else None
