"""What the service desk adds to the customer record: a tickets panel on the 360 page, each
ticket on the customer's timeline, the tickets, their messages to and from the customer and the
surveys in the personal-data export, and the tickets, surveys and owned products moving to the
survivor when two customers are merged.

Listed in ``guanxi.customers.extensions.EXTENSION_MODULES``; the customer domain imports it on
first use, so it never has to import the service desk itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from guanxi.audit import personal as personal_log
from guanxi.auth.models import User
from guanxi.customers import extensions, merge, privacy, timeline
from guanxi.customers.models import Customer
from guanxi.customers.timeline import TimelineEntry
from guanxi.db import utcnow
from guanxi.errors import N_
from guanxi.sales.models import OwnedItem
from guanxi.service_desk import service
from guanxi.service_desk.labels import KIND_LABELS, PRIORITY_LABELS, STATUS_LABELS
from guanxi.service_desk.models import OPEN_STATUSES, Survey, Ticket, TicketMessage

PANEL_ROWS = 10
TICKET_PAGE = "/service/tickets/{id}"


def _tickets_panel(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    rows = service.list_for_customer(
        session=session, actor=actor, customer_id=customer.id, limit=PANEL_ROWS
    )
    open_count = session.scalar(
        service.visible_tickets(actor)
        .where(Ticket.customer_id == customer.id, Ticket.status.in_(OPEN_STATUSES))
        .with_only_columns(func.count(Ticket.id))
    )
    assignees = {
        user.id: user.label
        for user in session.scalars(
            select(User).where(User.id.in_({t.assignee_id for t in rows if t.assignee_id}))
        )
    }
    return {
        "customer": customer,
        "tickets": rows,
        "open_count": int(open_count or 0),
        "assignees": assignees,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "priority_labels": PRIORITY_LABELS,
        "ticket_page": TICKET_PAGE,
    }


extensions.register_panel(
    extensions.Panel(
        "tickets", "service_desk/_customer_tickets.html", "tickets", _tickets_panel, 40
    )
)


def _tickets_source(
    session: Session,
    customer: Customer,
    actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    if actor is None:  # registered for readers of tickets only; a script sees none
        return []
    stmt = service.visible_tickets(actor).where(Ticket.customer_id == customer.id)
    if before is not None:
        stmt = stmt.where(Ticket.created_at <= before)
    rows = session.scalars(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))
    return [
        TimelineEntry(
            at=ticket.created_at,
            kind="tickets",
            title=N_("{kind} #{number}: {subject}"),
            detail=N_("Status: {status}; priority: {priority}"),
            key=f"ticket:{ticket.id:012d}",
            link=TICKET_PAGE.format(id=ticket.id),
            params={
                "kind": KIND_LABELS.get(ticket.kind, ticket.kind),
                "number": ticket.id,
                "subject": ticket.subject,
                "status": STATUS_LABELS.get(ticket.status, ticket.status),
                "priority": PRIORITY_LABELS.get(ticket.priority, ticket.priority),
            },
            labels=frozenset({"kind", "status", "priority"}),
        )
        for ticket in rows
    ]


timeline.register("tickets", N_("Tickets"), _tickets_source, resource="tickets")


# ---------------------------------------------------------------- personal-data export


def _tickets_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    tickets = list(
        session.scalars(select(Ticket).where(Ticket.customer_id == customer.id).order_by(Ticket.id))
    )
    # what was written to or by the customer; the staff's internal notes are not about them
    messages: dict[int, list[dict[str, Any]]] = {}
    for message in session.scalars(
        select(TicketMessage)
        .where(
            TicketMessage.ticket_id.in_([t.id for t in tickets]),
            TicketMessage.kind != "note",
        )
        .order_by(TicketMessage.created_at, TicketMessage.id)
    ):
        messages.setdefault(message.ticket_id, []).append(
            {
                "kind": message.kind,
                "body": message.body,
                "created_at": message.created_at.isoformat(),
            }
        )
    return [
        {
            "id": t.id,
            "kind": t.kind,
            "status": t.status,
            "channel": t.channel,
            "subject": t.subject,
            "description": t.description,
            "created_at": t.created_at.isoformat(),
            "messages": messages.get(t.id, []),
        }
        for t in tickets
    ]


def _surveys_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Survey).where(Survey.customer_id == customer.id).order_by(Survey.id)
    )
    return [
        {
            "ticket_id": s.ticket_id,
            "email_address": s.email_address,
            "sent_at": s.sent_at.isoformat(),
            "answered_at": s.answered_at.isoformat() if s.answered_at else None,
            "csat": s.csat,
            "nps": s.nps,
            "comment": s.comment,
        }
        for s in rows
    ]


privacy.register_section("tickets", _tickets_section)
privacy.register_section("surveys", _surveys_section)


def erase_tickets(session: Session, customer: Customer) -> int:
    """Blank what an erased customer's tickets say (subject, description, replies and notes,
    survey comments) while the tickets stay with their kind, category, root cause, times and
    scores, so the service reports do not change. The subject's search terms go with it. The
    audit log's earlier subjects and descriptions are sealed per ticket; their keys are
    shredded here. Returns how many tickets were blanked."""
    tickets = list(session.scalars(select(Ticket).where(Ticket.customer_id == customer.id)))
    if not tickets:
        return 0
    ids = [ticket.id for ticket in tickets]
    for ticket in tickets:
        # through the model, so the subject's index terms are cleared with it
        ticket.subject = f"#{ticket.id}"
        ticket.description = ""
    session.execute(
        update(TicketMessage)
        .where(TicketMessage.ticket_id.in_(ids))
        .values(body="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Survey)
        .where(Survey.customer_id == customer.id)
        .values(comment="", email_address="")
        .execution_options(synchronize_session=False)
    )
    session.flush()
    # after the flush: the change just logged holds the old subject, sealed with the same key
    personal_log.shred_many(session, "ticket", ids)
    return len(ids)


privacy.register_eraser("tickets", erase_tickets)


# ---------------------------------------------------------------- merge


def _move_tickets(session: Session, from_id: int, to_id: int) -> int:
    result = session.execute(
        update(Ticket)
        .where(Ticket.customer_id == from_id)
        .values(customer_id=to_id, updated_at=utcnow(), version=Ticket.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _move_surveys(session: Session, from_id: int, to_id: int) -> int:
    result = session.execute(
        update(Survey)
        .where(Survey.customer_id == from_id)
        .values(customer_id=to_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _move_owned_items(session: Session, from_id: int, to_id: int) -> int:
    # the installed base is what an agent sees when the customer calls: it goes with them
    result = session.execute(
        update(OwnedItem)
        .where(OwnedItem.customer_id == from_id)
        .values(customer_id=to_id, updated_at=utcnow(), version=OwnedItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


merge.register_mover("tickets", _move_tickets)
merge.register_mover("surveys", _move_surveys)
merge.register_mover("owned_items", _move_owned_items)
