"""Writing a planned batch of customers: new ones with a multi-row insert, changed ones with one
executemany that also checks their versions, their phones, e-mails and tags in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, delete
from sqlalchemy.orm import Session

from guanxi.audit import personal
from guanxi.customers.models import Customer, CustomerEmail, CustomerPhone, CustomerTag, Tag
from guanxi.customers.transfer.customer_lookup import IMPORTED, Existing
from guanxi.customers.transfer.import_batch import (
    RunContext,
    allocate_ids,
    insert_rows,
    update_versioned,
)
from guanxi.customers.transfer.import_rows import CustomerRow
from guanxi.db import utcnow
from guanxi.errors import N_

DERIVED = ("name_key", "search_text", "search_grams")
_OWNED = ("owner_id", "team_id", "custom_fields", "id_number_encrypted", "id_number_index")
_UPDATED = IMPORTED + DERIVED + _OWNED
_TABLE: Table = Customer.__table__  # type: ignore[assignment]
_PHONES: Table = CustomerPhone.__table__  # type: ignore[assignment]
_EMAILS: Table = CustomerEmail.__table__  # type: ignore[assignment]
_TAGS: Table = CustomerTag.__table__  # type: ignore[assignment]


@dataclass
class PlannedWrite:
    """A planned insert (``existing`` None) or update: the full row to store and what changed."""

    row: CustomerRow
    values: dict[str, Any]
    phones: list[str]
    emails: list[str]
    tags: list[Tag]
    changes: dict[str, Any]
    existing: Existing | None = None


def insert_new(session: Session, inserts: list[PlannedWrite], context: RunContext) -> None:
    """Store new customers with their phones, e-mails, tags and audit keys."""
    if not inserts:
        return
    now = utcnow()
    for write in inserts:
        write.values.update(created_at=now, updated_at=now, version=1)
    ids = allocate_ids(session, _TABLE, len(inserts))
    for write, customer_id in zip(inserts, ids, strict=True):
        write.values["id"] = customer_id
        context.seen.add(customer_id)
    insert_rows(session, _TABLE, [w.values for w in inserts])
    _insert_children(session, inserts)
    _link_new_tags(session, inserts)
    personal.create_keys(session, "customer", ids)


def _insert_children(session: Session, writes: list[PlannedWrite]) -> None:
    """The phones and e-mails a batch adds, after those a customer already has."""
    phones, emails = [], []
    for w in writes:
        held_phones = len(w.existing.phones) if w.existing else 0
        held_emails = len(w.existing.emails) if w.existing else 0
        phones += [
            {"customer_id": w.values["id"], "number": p, "label": "mobile", "position": i}
            for i, p in enumerate(w.phones, start=held_phones)
        ]
        emails += [
            {"customer_id": w.values["id"], "address": e, "label": "work", "position": i}
            for i, e in enumerate(w.emails, start=held_emails)
        ]
    if phones:
        insert_rows(session, _PHONES, phones)
    if emails:
        insert_rows(session, _EMAILS, emails)


def update_changed(session: Session, updates: list[PlannedWrite]) -> None:
    """Store changed customers, refusing the batch if one changed since it was read."""
    if not updates:
        return
    update_versioned(
        session,
        _TABLE,
        _UPDATED,
        [w.values for w in updates],
        N_("A customer changed while the import ran; run the import again."),
    )
    _insert_children(session, updates)
    _relink_tags(session, updates)


def _relink_tags(session: Session, updates: list[PlannedWrite]) -> None:
    added, removed = [], []
    for write in updates:
        assert write.existing is not None
        before = set(write.existing.tag_ids)
        after = {t.id for t in write.tags}
        added += [{"customer_id": write.existing.id, "tag_id": t} for t in after - before]
        removed += [{"c": write.existing.id, "t": t} for t in before - after]
    connection = session.connection()
    if added:
        insert_rows(session, _TAGS, added)
    if removed:
        connection.execute(
            delete(CustomerTag).where(
                CustomerTag.customer_id == bindparam("c"), CustomerTag.tag_id == bindparam("t")
            ),
            removed,
        )


def _link_new_tags(session: Session, inserts: list[PlannedWrite]) -> None:
    links = [{"customer_id": w.values["id"], "tag_id": t.id} for w in inserts for t in w.tags]
    if links:
        insert_rows(session, _TAGS, links)
