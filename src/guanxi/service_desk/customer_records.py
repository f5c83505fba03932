"""What the service desk adds to the customer record: a tickets panel on the 360 page, each
ticket on the customer's timeline, and the tickets moving to the survivor when two customers
are merged.

Listed in ``guanxi.customers.extensions.EXTENSION_MODULES``; the customer domain imports it on
first use, so it never has to import the service desk itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import extensions, merge, timeline
from guanxi.customers.models import Customer
from guanxi.customers.timeline import TimelineEntry
from guanxi.db import utcnow
from guanxi.errors import N_
from guanxi.service_desk import service
from guanxi.service_desk.labels import KIND_LABELS, PRIORITY_LABELS, STATUS_LABELS
from guanxi.service_desk.models import OPEN_STATUSES, Ticket

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


def _move_tickets(session: Session, from_id: int, to_id: int) -> int:
    result = session.execute(
        update(Ticket)
        .where(Ticket.customer_id == from_id)
        .values(customer_id=to_id, updated_at=utcnow(), version=Ticket.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


merge.register_mover("tickets", _move_tickets)
