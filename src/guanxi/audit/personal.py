"""Personal values in the audit log, sealed per data subject so that erasure can shred them.

An audited change to a customer's name or phone would otherwise keep the old value readable in an
append-only log forever. Each subject (a customer, a contact) gets a random AES-256-GCM data key,
stored wrapped by the field cipher (``guanxi.crypto``); their personal values enter the log as
``{"sealed": "<base64>"}``. Reading unseals them; ``shred`` deletes the key, after which those
values read as "[erased]" while every hash in the chain still verifies.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session

from guanxi import crypto
from guanxi.audit.models import SubjectKey
from guanxi.bulk import insert_many
from guanxi.db import utcnow

ERASED = "[erased]"
_CACHE_KEY = "audit_subject_keys"
# json.dumps with options builds a new encoder per call; an import seals a few values a row
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _cache(session: Session) -> dict[tuple[str, str], bytes | None]:
    cache: dict[tuple[str, str], bytes | None] = session.info.setdefault(_CACHE_KEY, {})
    return cache


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
@event.listens_for(Session, "after_commit")
def _forget_keys(session: Session, *_: object) -> None:
    # a key created in a transaction that rolled back never existed; never reuse it
    session.info.pop(_CACHE_KEY, None)


def _key(session: Session, entity_type: str, entity_id: str, *, create: bool) -> bytes | None:
    cache = _cache(session)
    slot = (entity_type, entity_id)
    if slot in cache and (cache[slot] is not None or not create):
        return cache[slot]
    connection = session.connection()
    wrapped = connection.execute(
        select(SubjectKey.wrapped_key).where(
            SubjectKey.entity_type == entity_type, SubjectKey.entity_id == entity_id
        )
    ).scalar()
    if wrapped is not None:
        key: bytes | None = base64.b64decode(crypto.cipher().decrypt(wrapped))
    elif create:
        key = AESGCM.generate_key(bit_length=256)
        connection.execute(
            insert(SubjectKey).values(
                entity_type=entity_type,
                entity_id=entity_id,
                wrapped_key=crypto.cipher().encrypt(base64.b64encode(key).decode()),
                created_at=utcnow(),
            )
        )
    else:
        key = None
    cache[slot] = key
    return key


def create_keys(session: Session, entity_type: str, entity_ids: Iterable[object]) -> None:
    """Keys for many new subjects in one statement (a bulk import's new customers), so sealing
    their values costs no query per subject. They are cached like the keys ``seal`` makes."""
    cache = _cache(session)
    now = utcnow()
    cipher = crypto.cipher()
    rows = []
    for entity_id in entity_ids:
        key = AESGCM.generate_key(bit_length=256)
        rows.append(
            {
                "entity_type": entity_type,
                "entity_id": str(entity_id),
                "wrapped_key": cipher.encrypt(base64.b64encode(key).decode()),
                "created_at": now,
            }
        )
        cache[(entity_type, str(entity_id))] = key
    insert_many(session.connection(), SubjectKey.__table__, rows)  # type: ignore[arg-type]


def load_keys(session: Session, entity_type: str, entity_ids: Iterable[object]) -> None:
    """Read the keys of many existing subjects in one query per thousand (a bulk update), and
    create those that have none, so that sealing their values costs no query per subject."""
    cache = _cache(session)
    wanted = sorted({str(i) for i in entity_ids} - {i for t, i in cache if t == entity_type})
    cipher = crypto.cipher()
    connection = session.connection()
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        for entity_id, wrapped in connection.execute(
            select(SubjectKey.entity_id, SubjectKey.wrapped_key).where(
                SubjectKey.entity_type == entity_type, SubjectKey.entity_id.in_(chunk)
            )
        ):
            cache[(entity_type, entity_id)] = base64.b64decode(cipher.decrypt(wrapped))
    create_keys(session, entity_type, [i for i in wanted if cache.get((entity_type, i)) is None])


def seal(session: Session, entity_type: str, entity_id: str, value: Any) -> dict[str, str]:
    return sealer(session, entity_type, entity_id)(value)


def sealer(session: Session, entity_type: str, entity_id: str) -> Callable[[Any], dict[str, str]]:
    """Seals values of one subject: their key is looked up (or created) once, not per value."""
    key = _key(session, entity_type, entity_id, create=True)
    assert key is not None
    aead = AESGCM(key)
    subject = f"{entity_type}:{entity_id}".encode()

    def seal_value(value: Any) -> dict[str, str]:
        nonce = os.urandom(12)
        sealed = aead.encrypt(nonce, _ENCODER.encode(value).encode(), subject)
        return {"sealed": base64.b64encode(nonce + sealed).decode()}

    return seal_value


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"sealed"}


def unseal(session: Session, entity_type: str, entity_id: str, value: Any) -> Any:
    if not is_sealed(value):
        return value
    key = _key(session, entity_type, entity_id, create=False)
    if key is None:
        return ERASED
    raw = base64.b64decode(value["sealed"])
    try:
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], f"{entity_type}:{entity_id}".encode())
    except InvalidTag:
        return ERASED
    return json.loads(plain)


def unseal_changes(
    session: Session, entity_type: str, entity_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """A log entry's changes with sealed values opened (or shown as erased)."""
    readable: dict[str, Any] = {}
    for field, change in changes.items():
        if isinstance(change, dict) and not is_sealed(change):
            readable[field] = {
                side: unseal(session, entity_type, entity_id, value)
                for side, value in change.items()
            }
        else:
            readable[field] = unseal(session, entity_type, entity_id, change)
    return readable


def shred(session: Session, entity_type: str, entity_id: str) -> None:
    """Destroy the subject's key: their sealed values in the log become unreadable for good."""
    session.connection().execute(
        delete(SubjectKey).where(
            SubjectKey.entity_type == entity_type, SubjectKey.entity_id == entity_id
        )
    )
    _cache(session)[(entity_type, entity_id)] = None


def shred_many(session: Session, entity_type: str, entity_ids: Iterable[object]) -> None:
    """``shred`` for many subjects of one type (an erased customer's interactions, say)."""
    ids = [str(i) for i in entity_ids]
    cache = _cache(session)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.connection().execute(
            delete(SubjectKey).where(
                SubjectKey.entity_type == entity_type, SubjectKey.entity_id.in_(chunk)
            )
        )
        cache.update(dict.fromkeys(((entity_type, i) for i in chunk), None))
