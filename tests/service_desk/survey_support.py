"""Customers, tickets and surveys for the survey and satisfaction tests, written through the
customer service and the ticket table as the ticket service leaves them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate, EmailIn
from guanxi.db import utcnow
from guanxi.service_desk.models import Survey, Ticket


def customer(
    session: Session, owner: User, name: str, *, email: str | None = None, **fields: Any
) -> int:
    emails = [EmailIn(address=email)] if email else []
    made = customer_service.create(
        session=session,
        actor=owner,
        customer_in=CustomerCreate(name=name, emails=emails),
    )
    for field, value in fields.items():  # value_tier, lifecycle_stage: written by analytics
        setattr(made, field, value)
    session.flush()
    return made.id


def ticket(session: Session, customer_id: int, **fields: Any) -> Ticket:
    values: dict[str, Any] = {
        "kind": "inquiry",
        "subject": "热水器不出热水",
        "status": "resolved",
        "customer_id": customer_id,
        "resolved_at": utcnow(),
    }
    values.update(fields)
    made = Ticket(**values)
    session.add(made)
    session.flush()
    return made


def survey(
    session: Session,
    ticket_row: Ticket,
    *,
    csat: int | None = None,
    nps: int | None = None,
    answered_at: datetime | None = None,
    sent_at: datetime | None = None,
) -> Survey:
    sent = sent_at or utcnow() - timedelta(days=1)
    made = Survey(
        ticket_id=ticket_row.id,
        customer_id=ticket_row.customer_id,
        email_address="someone@example.com",
        sent_at=sent,
        expires_at=sent + timedelta(days=14),
        csat=csat,
        nps=nps,
        answered_at=answered_at or (sent if csat is not None or nps is not None else None),
    )
    session.add(made)
    session.flush()
    return made
