"""The consent ledger (自愿加入、自由退出): every grant and withdrawal per customer and purpose,
who recorded it, when and from where. The current state is the newest entry; nothing is updated
in place, so the history always shows how a state came about.

Later features (campaigns, automation, the portal) ask ``granted_ids`` at the moment they act, so
a withdrawal is honoured by everything that happens after it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.auth.models import User
from guanxi.customers.models import ConsentEvent, Customer
from guanxi.customers.schemas import CONSENT_PURPOSES, ConsentIn, ConsentState
from guanxi.db import utcnow


def record(
    *, session: Session, actor: User | None, customer: Customer, consent_in: ConsentIn
) -> ConsentEvent:
    event = ConsentEvent(
        customer_id=customer.id,
        purpose=consent_in.purpose,
        granted=consent_in.granted,
        source=consent_in.source,
        note=consent_in.note,
        recorded_by_id=actor.id if actor else None,
        recorded_by_name=actor.username if actor else consent_in.source,
        recorded_at=utcnow(),
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        "consent.granted" if consent_in.granted else "consent.withdrawn",
        "customer",
        customer.id,
        {"purpose": consent_in.purpose, "source": consent_in.source},
    )
    return event


def state(*, session: Session, customer_id: int) -> dict[str, ConsentState]:
    """The current state of each purpose the customer has ever been asked about."""
    newest = (
        select(func.max(ConsentEvent.id))
        .where(ConsentEvent.customer_id == customer_id)
        .group_by(ConsentEvent.purpose)
    )
    events = session.scalars(select(ConsentEvent).where(ConsentEvent.id.in_(newest)))
    return {
        e.purpose: ConsentState(
            granted=e.granted,
            source=e.source,
            recorded_at=e.recorded_at,
            recorded_by=e.recorded_by_name,
        )
        for e in events
    }


def history(*, session: Session, customer_id: int) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer_id)
            .order_by(ConsentEvent.id.desc())
        )
    )


def granted_ids(
    *, session: Session, purpose: str, customer_ids: list[int] | None = None
) -> set[int]:
    """Customers whose newest entry for ``purpose`` grants it (no entry means no consent)."""
    if purpose not in CONSENT_PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    newest = select(func.max(ConsentEvent.id)).where(ConsentEvent.purpose == purpose)
    if customer_ids is not None:
        newest = newest.where(ConsentEvent.customer_id.in_(customer_ids))
    newest = newest.group_by(ConsentEvent.customer_id)
    stmt = select(ConsentEvent.customer_id).where(
        ConsentEvent.id.in_(newest), ConsentEvent.granted.is_(True)
    )
    return set(session.scalars(stmt))
