"""Rotating the field-encryption key: a new key becomes current, then every stored value sealed
with an older key is re-encrypted, a batch per transaction, so the old key can be retired.

The blind index key does not change, so lookups by identity number keep working throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, func, select, update
from sqlalchemy.orm import Session

from guanxi import crypto
from guanxi.audit import tracking as audit
from guanxi.audit.models import SubjectKey
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database

BATCH = 1000


@dataclass(frozen=True)
class SealedColumn:
    """A column holding field-cipher tokens, and how to address its rows."""

    name: str
    value: Any
    keys: tuple[Any, ...]


SEALED_COLUMNS = (
    SealedColumn("customers.id_number", Customer.id_number_encrypted, (Customer.id,)),
    SealedColumn(
        "subject_keys.wrapped_key",
        SubjectKey.wrapped_key,
        (SubjectKey.entity_type, SubjectKey.entity_id),
    ),
)


def add_key(settings: Settings) -> crypto.FieldKeys:
    """Make a new key current; old keys stay in the file to decrypt what they sealed."""
    keys = crypto.load_keys(settings).with_new_key()
    crypto.save_keys(crypto.key_file(settings), keys)
    crypto.configure(settings)
    return keys


def count_stale(session: Session) -> dict[str, int]:
    """Values per column still sealed with a key other than the current one."""
    prefix = f"{crypto.FORMAT_VERSION}:{crypto.cipher().keys.current}:"
    return {
        column.name: int(
            session.scalar(
                select(func.count()).where(
                    column.value.is_not(None), ~column.value.startswith(prefix)
                )
            )
            or 0
        )
        for column in SEALED_COLUMNS
    }


def _stale_batches(db: Database, column: SealedColumn) -> Iterator[list[Any]]:
    prefix = f"{crypto.FORMAT_VERSION}:{crypto.cipher().keys.current}:"
    while True:
        with db.unit_of_work() as session:
            rows = session.execute(
                select(*column.keys, column.value)
                .where(column.value.is_not(None), ~column.value.startswith(prefix))
                .limit(BATCH)
            ).all()
        if not rows:
            return
        yield list(rows)


def reencrypt(db: Database, *, progress: Callable[[str, int], None] | None = None) -> int:
    """Re-seal every stale value with the current key; safe to interrupt and run again."""
    cipher = crypto.cipher()
    done = 0
    for column in SEALED_COLUMNS:
        for rows in _stale_batches(db, column):
            with db.unit_of_work() as session:
                for *key_values, token in rows:
                    fresh = cipher.encrypt(cipher.decrypt(token))
                    condition = [c == v for c, v in zip(column.keys, key_values, strict=True)]
                    table: Column[Any] = column.value
                    session.execute(
                        update(table.table).where(*condition).values({table.key: fresh})
                    )
            done += len(rows)
            if progress:
                progress(column.name, len(rows))
    with db.unit_of_work() as session:
        audit.record(
            session, "keys.rotated", "field_keys", cipher.keys.current, {"values_reencrypted": done}
        )
    return done
