"""Finding the customers an import batch's rows mean: by external id, e-mail and phone, one
query per key per batch, with what the importer may see. A customer the importer may not see is
found too (so it is not imported twice) but is never changed or revealed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, Text, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers.models import (
    PROFILE_FIELDS,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
)
from guanxi.customers.transfer.import_batch import chunked, one_of
from guanxi.customers.transfer.import_rows import CustomerRow

# the columns an import writes
IMPORTED = PROFILE_FIELDS
_TABLE: Table = Customer.__table__  # type: ignore[assignment]


@dataclass
class Existing:
    """A matched customer as stored, loaded once per batch."""

    id: int
    values: dict[str, Any]
    owner_id: int | None
    team_id: int | None
    version: int
    id_number_encrypted: str | None
    id_number_index: str | None
    custom_fields: dict[str, Any]
    active: bool
    phones: list[tuple[str, str]] = field(default_factory=list)
    emails: list[tuple[str, str]] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)


@dataclass
class Matches:
    """What a batch's rows run into: customers by key, as stored, and which the importer sees."""

    by_external: dict[str, int]
    by_email: dict[str, int]
    by_phone: dict[str, int]
    existing: dict[int, Existing]
    visible: set[int]


def lookup(session: Session, actor: User, rows: Sequence[CustomerRow]) -> Matches:
    """The customers a batch's rows may mean, by external id, e-mail and phone, as stored."""
    externals = {r.values["external_id"] for r in rows if r.values.get("external_id")}
    by_external: dict[str, int] = {}
    for chunk in chunked(externals):
        found = select(Customer.external_id, Customer.id).where(
            one_of(session, Customer.external_id, chunk)
        )
        by_external.update({str(ext): cid for ext, cid in session.execute(found)})
    emails = _holders(session, CustomerEmail, "address", {e for r in rows for e in r.emails})
    phones = _holders(session, CustomerPhone, "number", {p for r in rows for p in r.phones})
    ids = set(by_external.values()).union(*emails.values(), *phones.values())
    existing = load(session, ids)
    visible: set[int] = set()
    for chunk in chunked(ids):
        stmt = restrict(
            select(Customer.id).where(one_of(session, Customer.id, chunk)), Customer, actor
        )
        visible.update(session.scalars(stmt))
    by_email, by_phone = _oldest_active(emails, existing), _oldest_active(phones, existing)
    return Matches(by_external, by_email, by_phone, existing, visible)


def _holders(
    session: Session,
    table: type[CustomerEmail] | type[CustomerPhone],
    column: str,
    values: set[str],
) -> dict[str, list[int]]:
    """The customers holding each phone or e-mail. Read from the values' own index alone:
    joined to customers to drop deleted ones, SQLite walks every customer instead."""
    found: dict[str, list[int]] = {}
    value_column = getattr(table, column)
    for chunk in chunked(values):
        stmt = select(value_column, table.customer_id).where(one_of(session, value_column, chunk))
        for value, customer_id in session.execute(stmt):
            found.setdefault(value, []).append(customer_id)
    return found


def _oldest_active(holders: dict[str, list[int]], existing: dict[int, Existing]) -> dict[str, int]:
    """Per value, the customer it matches: where several active ones share it, the oldest."""
    matched: dict[str, int] = {}
    for value, ids in holders.items():
        active = [i for i in ids if existing[i].active]
        if active:
            matched[value] = min(active)
    return matched


def load(session: Session, ids: set[int]) -> dict[int, Existing]:
    """Matched customers with their phones, e-mails and tags."""
    existing: dict[int, Existing] = {}
    columns = [_TABLE.c[name] for name in IMPORTED]
    for chunk in chunked(ids):
        stmt = select(
            *columns,
            Customer.id,
            Customer.owner_id,
            Customer.team_id,
            Customer.version,
            Customer.id_number_encrypted,
            Customer.id_number_index,
            Customer.custom_fields,
            Customer.deleted_at,
            Customer.merged_into_id,
        ).where(one_of(session, Customer.id, chunk))
        for row in session.execute(stmt).mappings():
            existing[row["id"]] = Existing(
                id=row["id"],
                values={name: row[name] for name in IMPORTED},
                owner_id=row["owner_id"],
                team_id=row["team_id"],
                version=row["version"],
                id_number_encrypted=row["id_number_encrypted"],
                id_number_index=row["id_number_index"],
                custom_fields=dict(row["custom_fields"] or {}),
                active=row["deleted_at"] is None and row["merged_into_id"] is None,
            )
        for cid, number, label in session.execute(
            select(CustomerPhone.customer_id, CustomerPhone.number, CustomerPhone.label)
            .where(one_of(session, CustomerPhone.customer_id, chunk))
            .order_by(CustomerPhone.customer_id, CustomerPhone.position)
        ):
            existing[cid].phones.append((number, label))
        for cid, address, label in session.execute(
            select(CustomerEmail.customer_id, CustomerEmail.address, CustomerEmail.label)
            .where(one_of(session, CustomerEmail.customer_id, chunk))
            .order_by(CustomerEmail.customer_id, CustomerEmail.position)
        ):
            existing[cid].emails.append((address, label))
        for cid, tag_id in session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag_id).where(
                one_of(session, CustomerTag.customer_id, chunk)
            )
        ):
            existing[cid].tag_ids.append(tag_id)
    return existing


def same_name_and_city(
    session: Session, actor: User, names_by_city: dict[str, set[str]]
) -> dict[tuple[str, str], int]:
    """The oldest active customer the importer may see per (city, name key) asked for.

    One query for a batch's pairs: the pairs come in as one or two parameters (on PostgreSQL
    two unnested arrays, on SQLite a JSON array read by ``json_each``; a VALUES list of bound
    pairs costs SQLAlchemy ~40 us a pair to build), and each pair's oldest customer is a
    correlated subquery, so it is always an index lookup on (city, name key): joined instead,
    PostgreSQL hashes the whole table when its statistics still say it is small."""
    pairs = [(city, key) for city, names in names_by_city.items() for key in sorted(names)]
    found: dict[tuple[str, str], int] = {}
    for chunk in chunked(pairs, 2000):
        wanted = _pairs(session, chunk)
        oldest = restrict(
            select(func.min(Customer.id)).where(
                Customer.city == wanted.c.city,
                Customer.name_key == wanted.c.name_key,
                Customer.deleted_at.is_(None),
                Customer.merged_into_id.is_(None),
            ),
            Customer,
            actor,
        ).scalar_subquery()
        stmt = select(wanted.c.city, wanted.c.name_key, oldest).select_from(wanted)
        for city, key, cid in session.execute(stmt):
            if cid is not None:
                found[(city, key)] = cid
    return found


def _pairs(session: Session, chunk: list[tuple[str, str]]) -> Any:
    """(city, name_key) pairs as a table to select from."""
    if session.get_bind().dialect.name == "postgresql":
        return (
            func.unnest(
                bindparam(None, [c for c, _ in chunk], type_=ARRAY(Text())),
                bindparam(None, [k for _, k in chunk], type_=ARRAY(Text())),
            )
            .table_valued("city", "name_key")
            .render_derived()
            .alias("wanted")
        )
    each = (
        func.json_each(bindparam(None, json.dumps(chunk, ensure_ascii=False)))
        .table_valued("value")
        .alias("pairs")
    )
    return (
        select(
            func.json_extract(each.c.value, literal_column("'$[0]'")).label("city"),
            func.json_extract(each.c.value, literal_column("'$[1]'")).label("name_key"),
        )
        .select_from(each)
        .subquery("wanted")
    )
