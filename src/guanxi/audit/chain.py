"""Appending to the hash chain and checking it.

Each row's hash is SHA-256 over its own fields and the previous row's hash, so editing a row breaks
its hash, deleting or reordering rows breaks the link to the next one, and the head row (last id and
hash) catches a truncated tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from guanxi.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from guanxi.bulk import insert_many
from guanxi.db import utcnow

HEAD_ID = 1
# the same text as json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
# without building an encoder per entry
_DIGEST_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class AuditActor:
    """Who is acting: a user, or the system itself (jobs, migrations, the CLI's own work)."""

    user_id: int | None
    username: str
    ip_address: str = ""


SYSTEM_ACTOR = AuditActor(None, "system")


@dataclass(frozen=True)
class PendingEntry:
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]


_PLAIN = frozenset({str, int, float, bool, type(None)})


def json_safe(value: Any) -> Any:
    """A JSON value for an audited field; the same value always gives the same text."""
    # exact types first: a bulk import passes a few million values through here, and a type
    # lookup costs a fraction of an isinstance chain (``int | str`` builds a union every call)
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _PLAIN else json_safe(v))
            for k, v in value.items()
        }
    if kind is list:
        return [v if type(v) in _PLAIN else json_safe(v) for v in value]
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [json_safe(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    return str(value)


def row_digest(row: dict[str, Any]) -> str:
    payload = {
        "id": row["id"],
        "occurred_at": _timestamp(row["occurred_at"]),
        "actor_id": row["actor_id"],
        "actor_username": row["actor_username"],
        "action": row["action"],
        "entity_type": row["entity_type"],
        "entity_id": row["entity_id"],
        "changes": row["changes"],
        "ip_address": row["ip_address"],
        "prev_hash": row["prev_hash"],
    }
    text = _DIGEST_ENCODER.encode(payload)
    return hashlib.sha256(text.encode()).hexdigest()


def _timestamp(value: datetime) -> str:
    # microseconds as stored by both SQLite and PostgreSQL; no time zone suffix, always UTC
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def append(connection: Connection, actor: AuditActor, entries: Sequence[PendingEntry]) -> None:
    """Write entries at the end of the chain, in the caller's transaction."""
    if not entries:
        return
    # Bumping the head first takes the write lock before reading, so two transactions can never
    # both extend the chain from the same hash (PostgreSQL row lock; SQLite's single writer).
    head = connection.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(last_id=AuditChainHead.last_id + len(entries))
        .returning(AuditChainHead.last_id, AuditChainHead.last_hash)
    ).one()
    next_id = head.last_id - len(entries) + 1
    prev_hash = head.last_hash
    now = utcnow()
    encode = _DIGEST_ENCODER.encode
    # The digest's text is row_digest's, written out in its sorted key order, so that each
    # entry's changes are serialised once: that same text is what the changes column stores.
    actor_part = (
        f',"actor_id":{encode(actor.user_id)},"actor_username":{encode(actor.username)},"changes":'
    )
    tail_part = f',"ip_address":{encode(actor.ip_address)},"occurred_at":{encode(_timestamp(now))}'
    rows = []
    for offset, entry in enumerate(entries):
        entry_id = next_id + offset
        changes = encode(json_safe(entry.changes))
        text = (
            f'{{"action":{encode(entry.action)}{actor_part}{changes}'
            f',"entity_id":{encode(entry.entity_id)},"entity_type":{encode(entry.entity_type)}'
            f',"id":{entry_id}{tail_part},"prev_hash":{encode(prev_hash)}}}'
        )
        row_hash = hashlib.sha256(text.encode()).hexdigest()
        rows.append(
            {
                "id": entry_id,
                "occurred_at": now,
                "actor_id": actor.user_id,
                "actor_username": actor.username,
                "action": entry.action,
                "entity_type": entry.entity_type,
                "entity_id": entry.entity_id,
                "changes": changes,
                "ip_address": actor.ip_address,
                "prev_hash": prev_hash,
                "row_hash": row_hash,
            }
        )
        prev_hash = row_hash
    insert_many(connection, AuditEntry.__table__, rows, serialized={"changes"})  # type: ignore[arg-type]
    connection.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(last_hash=prev_hash)
    )


@dataclass(frozen=True)
class ChainProblem:
    """The first place the chain does not hold, in words an auditor can act on."""

    entry_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    problem: ChainProblem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify(connection: Connection, *, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in id order and report the first row that was edited, deleted or moved."""
    expected_id = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for row in _rows_in_order(connection, batch_size):
        if row["id"] != expected_id:
            return ChainReport(
                checked, ChainProblem(expected_id, f"entry {expected_id} is missing (deleted)")
            )
        if row["prev_hash"] != prev_hash:
            return ChainReport(
                checked,
                ChainProblem(
                    row["id"],
                    f"entry {row['id']} does not follow the entry before it (deleted or reordered)",
                ),
            )
        if row_digest(row) != row["row_hash"]:
            return ChainReport(
                checked,
                ChainProblem(row["id"], f"entry {row['id']} was edited after it was written"),
            )
        prev_hash = row["row_hash"]
        expected_id += 1
        checked += 1
    head = connection.execute(
        select(AuditChainHead.last_id, AuditChainHead.last_hash).where(AuditChainHead.id == HEAD_ID)
    ).one()
    if head.last_id != checked or head.last_hash != prev_hash:
        return ChainReport(
            checked,
            ChainProblem(
                checked + 1,
                f"the chain ends at entry {checked} but its head records entry {head.last_id} "
                "(entries at the end were deleted)",
            ),
        )
    return ChainReport(checked, None)


def _rows_in_order(connection: Connection, batch_size: int) -> Iterator[dict[str, Any]]:
    last_id = 0
    columns = AuditEntry.__table__.c
    while True:
        batch = (
            connection.execute(
                select(AuditEntry.__table__)
                .where(columns.id > last_id)
                .order_by(columns.id)
                .limit(batch_size)
            )
            .mappings()
            .all()
        )
        if not batch:
            return
        for row in batch:
            yield dict(row)
        last_id = batch[-1]["id"]
