"""Merging two records of one customer: the user picks each field, everything that pointed at the
other record moves to the survivor, and the audit log says what came from where.

Domains whose records belong to customers (contacts here; interactions, orders, tickets later)
register a mover with ``register_mover``, so a merge never leaves records behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.auth.models import RecordShare, User
from guanxi.concurrency import ensure_version
from guanxi.customers import extensions
from guanxi.customers import service as customer_service
from guanxi.customers import tags as tag_service
from guanxi.customers.models import (
    PROFILE_FIELDS,
    ConsentEvent,
    Contact,
    Customer,
    CustomerEmail,
    CustomerPhone,
    FamilyMember,
)
from guanxi.db import utcnow
from guanxi.errors import N_, InvalidInput

Side = Literal["survivor", "other"]
# (session, from customer id, to customer id) -> how many records moved
Mover = Callable[[Session, int, int], int]

# fields the user chooses between; lists (phones, e-mails, family, tags) are combined instead
CHOOSABLE = (*PROFILE_FIELDS, "owner_id", "id_number_encrypted")

_movers: dict[str, Mover] = {}


def register_mover(name: str, mover: Mover) -> None:
    """Let a domain move its customer's records from the merged record to the survivor."""
    _movers[name] = mover


def _move_contacts(session: Session, from_id: int, to_id: int) -> int:
    result = session.execute(
        update(Contact)
        .where(Contact.organisation_id == from_id)
        .values(organisation_id=to_id, updated_at=utcnow(), version=Contact.version + 1)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _move_consents(session: Session, from_id: int, to_id: int) -> int:
    # the ledger is append-only: entries move with their original times and sources, so the
    # survivor's current state is whichever decision was made last, on either record
    result = session.execute(
        update(ConsentEvent).where(ConsentEvent.customer_id == from_id).values(customer_id=to_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _move_shares(session: Session, from_id: int, to_id: int) -> int:
    result = session.execute(
        update(RecordShare)
        .where(RecordShare.resource == "customers", RecordShare.record_id == from_id)
        .values(record_id=to_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


register_mover("contacts", _move_contacts)
register_mover("consents", _move_consents)
register_mover("shares", _move_shares)


def default_choices(survivor: Customer, other: Customer) -> dict[str, Side]:
    """Keep the survivor's value unless it is empty and the other record has one."""
    return {
        name: "other"
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, "")
        else "survivor"
        for name in CHOOSABLE
    }


def merge(
    *,
    session: Session,
    actor: User,
    survivor_id: int,
    other_id: int,
    choices: dict[str, Side],
    survivor_version: int | None = None,
    other_version: int | None = None,
) -> Customer:
    """Fold ``other`` into ``survivor``; ``other`` stays, marked as merged into the survivor."""
    if survivor_id == other_id:
        raise InvalidInput(N_("Choose two different customers to merge."))
    survivor = customer_service.get(session=session, actor=actor, customer_id=survivor_id)
    other = customer_service.get(session=session, actor=actor, customer_id=other_id)
    ensure_version(survivor.version, survivor_version)
    ensure_version(other.version, other_version)
    unknown = set(choices) - set(CHOOSABLE)
    if unknown:
        raise InvalidInput(
            N_("Unknown fields to merge: {fields}."), fields=", ".join(sorted(unknown))
        )

    picked = {**default_choices(survivor, other), **choices}
    taken_from_other = {
        name: getattr(other, name)
        for name, side in picked.items()
        if side == "other" and getattr(other, name) != getattr(survivor, name)
    }
    if "external_id" in taken_from_other:
        # the other record gives up its external id first: it is unique
        other.external_id = None
        session.flush()
    for name, value in taken_from_other.items():
        setattr(survivor, name, value)
    if "id_number_encrypted" in taken_from_other:
        survivor.id_number_index = other.id_number_index
    if "owner_id" in taken_from_other and other.owner_id is not None:
        survivor.team_id = other.team_id
    _combine_lists(survivor, other)
    survivor.custom_fields = {**(other.custom_fields or {}), **(survivor.custom_fields or {})}
    customer_service.refresh_search_fields(survivor)
    survivor.updated_at = utcnow()

    other.merged_into_id = survivor.id
    other.updated_at = utcnow()
    session.flush()
    extensions.load()
    moved = {name: mover(session, other.id, survivor.id) for name, mover in _movers.items()}
    audit.record(
        session,
        "merge",
        "customer",
        survivor.id,
        {
            "merged": other.id,
            "fields_from_merged": sorted(taken_from_other),
            "moved": moved,
        },
    )
    session.flush()
    session.refresh(survivor)
    return survivor


def _combine_lists(survivor: Customer, other: Customer) -> None:
    numbers = {p.number for p in survivor.phones}
    for phone in other.phones:
        if phone.number not in numbers:
            survivor.phones.append(
                CustomerPhone(number=phone.number, label=phone.label, position=len(survivor.phones))
            )
    addresses = {e.address for e in survivor.emails}
    for email in other.emails:
        if email.address not in addresses:
            survivor.emails.append(
                CustomerEmail(
                    address=email.address, label=email.label, position=len(survivor.emails)
                )
            )
    names = {f.name for f in survivor.family}
    for member in other.family:
        if member.name not in names:
            survivor.family.append(
                FamilyMember(name=member.name, relation=member.relation, birthday=member.birthday)
            )
    survivor.tags = tag_service.merged(list(survivor.tags), list(other.tags))


def comparison(survivor: Customer, other: Customer) -> list[dict[str, Any]]:
    """The rows of the side-by-side merge page: field, both values, and the default choice."""
    defaults = default_choices(survivor, other)
    return [
        {
            "field": name,
            "survivor": getattr(survivor, name),
            "other": getattr(other, name),
            "same": getattr(survivor, name) == getattr(other, name),
            "default": defaults[name],
        }
        for name in CHOOSABLE
    ]
