"""What a signed-in customer can see and do in the portal, always and only for themselves.

Every function takes the portal session's ``customer_id`` and filters by it; a record of another
customer is "not found", exactly like one that does not exist. The audit actor is set by the
portal's request dependency, so changes made here are logged as made by the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.customers import consent
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer, CustomerEmail, CustomerPhone
from guanxi.customers.schemas import CONSENT_PURPOSES, ConsentIn, ConsentState, CustomerUpdate
from guanxi.db import utcnow
from guanxi.errors import N_, NotFound
from guanxi.sales.models import Contract, Order
from guanxi.service_desk.portal import settings as portal_settings

CONSENT_SOURCE = "portal"
LIST_LIMIT = 50


def customer(session: Session, *, customer_id: int) -> Customer:
    found = session.get(Customer, customer_id)
    if (
        found is None
        or found.deleted_at is not None
        or found.erased_at is not None
        or found.merged_into_id is not None
    ):
        raise NotFound(N_("Record {id} was not found."), id=customer_id)
    return found


# ---------------------------------------------------------------- profile


def editable_fields(session: Session) -> list[str]:
    return portal_settings.load(session).editable_fields


def update_profile(
    session: Session, *, customer_id: int, customer_in: CustomerUpdate
) -> tuple[Customer, list[str]]:
    """Apply the fields the administrator lets customers change; anything else sent is ignored.
    Returns the customer and the names of the fields that were applied."""
    record = customer(session, customer_id=customer_id)
    allowed = set(editable_fields(session))
    applied = [name for name in portal_settings.EDITABLE_CHOICES if name in allowed]
    applied = [name for name in applied if name in customer_in.model_fields_set]
    for name in applied:
        if name == "phones":
            labels = {p.number: p.label for p in record.phones}
            numbers = _unique(p.number for p in customer_in.phones)
            record.phones = [
                CustomerPhone(number=n, label=labels.get(n, "mobile"), position=i)
                for i, n in enumerate(numbers)
            ]
        elif name == "emails":
            labels = {e.address: e.label for e in record.emails}
            addresses = _unique(e.address for e in customer_in.emails)
            record.emails = [
                CustomerEmail(address=a, label=labels.get(a, "personal"), position=i)
                for i, a in enumerate(addresses)
            ]
        else:
            setattr(record, name, getattr(customer_in, name))
    customer_service.refresh_search_fields(record)
    if session.is_modified(record):
        # a change of phones alone must still move the version, as in the staff's edit
        record.updated_at = utcnow()
    session.flush()
    return record, applied


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


# ---------------------------------------------------------------- consents


@dataclass(frozen=True)
class ConsentRow:
    purpose: str
    state: ConsentState | None

    @property
    def granted(self) -> bool:
        return self.state is not None and self.state.granted


def consents(session: Session, *, customer_id: int) -> list[ConsentRow]:
    current = consent.state(session=session, customer_id=customer_id)
    return [ConsentRow(purpose, current.get(purpose)) for purpose in CONSENT_PURPOSES]


def set_consent(session: Session, *, customer_id: int, purpose: str, granted: bool) -> bool:
    """Grant or withdraw one purpose in the consent ledger (source "portal"), in effect at once:
    everything that asks the ledger afterwards sees it. False when nothing changed."""
    if purpose not in CONSENT_PURPOSES:
        raise NotFound(N_("Record {id} was not found."), id=purpose)
    record = customer(session, customer_id=customer_id)
    current = consent.state(session=session, customer_id=customer_id).get(purpose)
    if current is not None and current.granted == granted:
        return False
    consent.record(
        session=session,
        actor=None,
        customer=record,
        consent_in=ConsentIn.model_validate(
            {"purpose": purpose, "granted": granted, "source": CONSENT_SOURCE}
        ),
    )
    return True


# ---------------------------------------------------------------- orders and contracts


def orders(session: Session, *, customer_id: int) -> list[Order]:
    """The customer's orders, newest first; drafts are the staff's work in progress."""
    return list(
        session.scalars(
            select(Order)
            .where(Order.customer_id == customer_id, Order.status != "draft")
            .order_by(Order.ordered_at.desc(), Order.id.desc())
            .limit(LIST_LIMIT)
        )
    )


def contracts(session: Session, *, customer_id: int) -> list[Contract]:
    return list(
        session.scalars(
            select(Contract)
            .where(
                Contract.customer_id == customer_id,
                Contract.deleted_at.is_(None),
                Contract.status != "draft",
            )
            .order_by(Contract.end_date.desc(), Contract.id.desc())
            .limit(LIST_LIMIT)
        )
    )
