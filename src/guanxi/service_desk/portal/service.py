"""What a signed-in customer can see and do in the portal, always and only for themselves.

Every function takes the portal session's ``customer_id`` and filters by it; a record of another
customer is "not found", exactly like one that does not exist. The audit actor is set by the
portal's request dependency, so changes made here are logged as made by the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.config import Settings
from guanxi.customers import consent
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer, CustomerEmail, CustomerPhone
from guanxi.customers.schemas import CONSENT_PURPOSES, ConsentIn, ConsentState, CustomerUpdate
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.sales.models import Contract, Order
from guanxi.service_desk import service as desk
from guanxi.service_desk import surveys
from guanxi.service_desk.models import Survey, Ticket, TicketMessage
from guanxi.service_desk.portal import settings as portal_settings
from guanxi.service_desk.schemas import TicketCreate

CONSENT_SOURCE = "portal"
LIST_LIMIT = 50
MESSAGE_LIMIT = 20000
PUBLIC_MESSAGE_KINDS = frozenset({"reply", "customer"})


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


# ---------------------------------------------------------------- tickets


class PortalTicketIn(BaseModel):
    """A request a customer opens in the portal; the rest (queue, agent, SLA) is the desk's."""

    kind: Literal["complaint", "inquiry", "suggestion", "service_request"]
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20000)

    @field_validator("subject")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(N_("This field is required."))
        return value


def tickets(session: Session, *, customer_id: int) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.customer_id == customer_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(LIST_LIMIT)
        )
    )


def ticket(session: Session, *, customer_id: int, ticket_id: int) -> Ticket:
    """One of the customer's tickets; another customer's is not found, like a missing one."""
    found = session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, Ticket.customer_id == customer_id)
    )
    if found is None:
        raise NotFound(N_("Record {id} was not found."), id=ticket_id)
    return found


def conversation(session: Session, *, ticket: Ticket) -> list[TicketMessage]:
    """The replies and the customer's own messages; internal notes never leave the desk."""
    return [m for m in desk.messages(session, ticket) if m.kind in PUBLIC_MESSAGE_KINDS]


def open_ticket(
    session: Session,
    *,
    customer_id: int,
    ticket_in: PortalTicketIn,
    language: str,
    settings: Settings | None = None,
) -> Ticket:
    customer(session, customer_id=customer_id)
    return desk.create_ticket(
        session,
        actor=None,
        ticket_in=TicketCreate(
            customer_id=customer_id,
            kind=ticket_in.kind,
            subject=ticket_in.subject,
            description=ticket_in.description.strip(),
            channel="portal",
            language=language,
        ),
        settings=settings,
    )


def reply(session: Session, *, customer_id: int, ticket_id: int, body: str) -> TicketMessage:
    """The customer's message on their ticket. A ticket waiting on them, or resolved, goes back
    to the desk (in progress), which restarts its SLA clock; a closed one takes no messages."""
    found = ticket(session, customer_id=customer_id, ticket_id=ticket_id)
    text = body.strip()
    if not text:
        raise InvalidInput(
            N_("Write a message first."),
            errors=[FieldError("body", N_("This field is required."))],
        )
    if len(text) > MESSAGE_LIMIT:
        raise InvalidInput(
            N_("The message is too long."),
            errors=[FieldError("body", N_("The message is too long."))],
        )
    if found.merged_into_id is not None or found.status == "closed":
        raise Conflict(N_("This request is closed; open a new one if you need more help."))
    message = TicketMessage(
        ticket_id=found.id, kind="customer", body=text, author_id=None, created_at=utcnow()
    )
    session.add(message)
    session.flush()
    desk.record_change(session, found, "message", "", f"#{message.id}", None, "customer")
    if found.status in ("waiting", "resolved"):
        desk.change_status(
            session, actor=None, ticket=found, status="in_progress", label="customer"
        )
    found.updated_at = utcnow()
    session.flush()
    return message


# ---------------------------------------------------------------- surveys


@dataclass(frozen=True)
class PendingSurvey:
    survey: Survey
    ticket: Ticket
    token: str


def pending_surveys(
    session: Session, *, customer_id: int, settings: Settings
) -> list[PendingSurvey]:
    """Surveys sent to the customer that are still open to an answer, newest first."""
    rows = session.execute(
        select(Survey, Ticket)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(
            Survey.customer_id == customer_id,
            Survey.answered_at.is_(None),
            Survey.expires_at > utcnow(),
        )
        .order_by(Survey.sent_at.desc(), Survey.id.desc())
        .limit(LIST_LIMIT)
    ).all()
    return [PendingSurvey(s, t, surveys.token_for(settings, s)) for s, t in rows]
