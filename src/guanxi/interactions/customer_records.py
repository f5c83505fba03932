"""What the touch centre adds to the customer record: the interactions panel on the 360 page
(the latest touchpoints and a quick-log form), its section of the personal-data export
(interactions, follow-ups, web events), and moving it all to the survivor when two customers
are merged.

Listed in ``guanxi.customers.extensions.EXTENSION_MODULES``; the customer domain imports it on
first use, so it never has to import the touch centre itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from guanxi.audit import personal as personal_log
from guanxi.auth.models import User
from guanxi.customers import extensions, merge, privacy
from guanxi.customers.models import Contact, Customer
from guanxi.db import utcnow
from guanxi.interactions import service
from guanxi.interactions.labels import (
    CHANNEL_LABELS,
    DIRECTION_LABELS,
    OUTCOME_LABELS,
    SOURCE_LABELS,
)
from guanxi.interactions.models import FollowUp, Interaction, VisitorLink, WebEvent
from guanxi.sales.orders import service as order_service
from guanxi.sales.pipeline import service as pipeline_service

PANEL_ROWS = 10
# opportunities and orders offered as links on an interaction form, latest first
LINK_CHOICES = 20
# the web events of one customer in the personal-data export; older ones are summarised by
# count (the store keeps them only for the retention period anyway)
EXPORT_EVENT_ROWS = 10_000


# ---------------------------------------------------------------- 360 panel


def customer_contacts(session: Session, customer: Customer) -> list[Contact]:
    """The organisation's live contacts, for the quick-log form's contact choice."""
    if not customer.is_organisation:
        return []
    return list(
        session.scalars(
            select(Contact)
            .where(Contact.organisation_id == customer.id, Contact.deleted_at.is_(None))
            .order_by(Contact.name, Contact.id)
        )
    )


def link_choices(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    """What an interaction form may link to: the organisation's contacts, and the customer's
    opportunities and latest orders the actor may see."""
    return {
        "contacts": customer_contacts(session, customer),
        "opportunities": pipeline_service.list_for_customer(
            session=session, actor=actor, customer_id=customer.id, limit=LINK_CHOICES
        )
        if actor.can("opportunities", "read")
        else [],
        "orders": order_service.list_for_customer(
            session=session, actor=actor, customer_id=customer.id, limit=LINK_CHOICES
        )
        if actor.can("orders", "read")
        else [],
    }


def _interactions_panel(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    rows = service.list_for_customer(
        session=session, actor=actor, customer_id=customer.id, limit=PANEL_ROWS
    )
    user_ids = {i.user_id for i in rows if i.user_id is not None}
    users = (
        {u.id: u.label for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    return {
        "customer": customer,
        "interactions": rows,
        "user_names": users,
        **link_choices(session, actor, customer),
        "now": utcnow(),
        "channel_labels": CHANNEL_LABELS,
        "direction_labels": DIRECTION_LABELS,
        "outcome_labels": OUTCOME_LABELS,
    }


extensions.register_panel(
    extensions.Panel(
        "interactions",
        "interactions/_customer_interactions.html",
        "interactions",
        _interactions_panel,
        5,
    )
)


# ---------------------------------------------------------------- personal-data export


def _interactions_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer.id)
        .order_by(Interaction.occurred_at, Interaction.id)
    )
    return [
        {
            "occurred_at": i.occurred_at.isoformat(),
            "channel": i.channel,
            "direction": i.direction,
            "subject": i.subject,
            "notes": i.notes,
            "outcome": i.outcome,
            "duration_seconds": i.duration_seconds,
            "contact_id": i.contact_id,
            "how_logged": SOURCE_LABELS.get(i.source, i.source),
            "email_address": i.email_address,
            "message_id": i.message_id,
        }
        for i in rows
    ]


def _follow_ups_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(FollowUp)
        .where(FollowUp.customer_id == customer.id)
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    return [
        {
            "due_at": f.due_at.isoformat(),
            "channel": f.channel,
            "subject": f.subject,
            "note": f.note,
            "status": f.status,
            "recurrence": f.recurrence,
            "completed_at": f.completed_at.isoformat() if f.completed_at else None,
            "outcome": f.outcome,
        }
        for f in rows
    ]


def _web_events_section(session: Session, customer: Customer) -> dict[str, Any]:
    visitors = list(
        session.scalars(
            select(VisitorLink.visitor_id)
            .where(VisitorLink.customer_id == customer.id)
            .order_by(VisitorLink.visitor_id)
        )
    )
    rows = list(
        session.scalars(
            select(WebEvent)
            .where(WebEvent.customer_id == customer.id)
            .order_by(WebEvent.occurred_at, WebEvent.id)
            .limit(EXPORT_EVENT_ROWS + 1)
        )
    )
    return {
        "visitor_ids": visitors,
        "events": [
            {
                "kind": e.kind,
                "occurred_at": e.occurred_at.isoformat(),
                "session_id": e.session_id,
                "visitor_id": e.visitor_id,
                "url": e.url,
                "title": e.title,
                "referrer": e.referrer,
                "product_id": e.product_id,
                "product_sku": e.product_sku,
                "dwell_seconds": e.dwell_seconds,
            }
            for e in rows[:EXPORT_EVENT_ROWS]
        ],
        "more_events_not_listed": len(rows) > EXPORT_EVENT_ROWS,
    }


privacy.register_section("interactions", _interactions_section)
privacy.register_section("follow_ups", _follow_ups_section)
privacy.register_section("web_events", _web_events_section)


def erase_touchpoints(session: Session, customer: Customer) -> int:
    """Blank what people wrote about an erased customer (notes, subjects, addresses) while the
    touchpoints themselves stay, as orders and tickets do, so counts by channel do not change.

    Registered with ``customers.privacy``, so it runs inside the erasure. The audit log holds
    the earlier subjects and notes sealed per record (``__audit_personal__``); their keys are
    shredded here. Returns how many interactions and follow-ups were blanked.
    """
    for model, entity in ((Interaction, "interaction"), (FollowUp, "follow_up")):
        ids = session.scalars(select(model.id).where(model.customer_id == customer.id))
        personal_log.shred_many(session, entity, ids)
    interactions = session.execute(
        update(Interaction)
        .where(Interaction.customer_id == customer.id)
        .values(subject="", notes="", email_address="", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    follow_ups = session.execute(
        update(FollowUp)
        .where(FollowUp.customer_id == customer.id)
        .values(subject="", note="", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    blanked = (interactions.rowcount or 0) + (follow_ups.rowcount or 0)  # type: ignore[attr-defined]
    session.execute(delete(VisitorLink).where(VisitorLink.customer_id == customer.id))
    session.execute(delete(WebEvent).where(WebEvent.customer_id == customer.id))
    return int(blanked)


privacy.register_eraser("touchpoints", erase_touchpoints)


# ---------------------------------------------------------------- merge


def _move_interactions(session: Session, from_id: int, to_id: int) -> int:
    # the same mail logged on both customers (one address, two records) would be there twice
    # under the survivor; the unique (customer, message id) keeps the survivor's copy
    duplicates = select(Interaction.message_id).where(
        Interaction.customer_id == to_id, Interaction.message_id.is_not(None)
    )
    for copy in session.scalars(
        select(Interaction).where(
            Interaction.customer_id == from_id, Interaction.message_id.in_(duplicates)
        )
    ):
        session.delete(copy)  # audited like any deletion
    session.flush()
    return _move_versioned(session, Interaction, from_id, to_id)


def _move_versioned(session: Session, model: Any, from_id: int, to_id: int) -> int:
    result = session.execute(
        update(model)
        .where(model.customer_id == from_id)
        .values(customer_id=to_id, updated_at=utcnow(), version=model.version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _move_plain(model: Any) -> merge.Mover:
    def move(session: Session, from_id: int, to_id: int) -> int:
        result = session.execute(
            update(model)
            .where(model.customer_id == from_id)
            .values(customer_id=to_id)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return move


merge.register_mover("interactions", _move_interactions)
merge.register_mover(
    "follow_ups", lambda session, from_id, to_id: _move_versioned(session, FollowUp, from_id, to_id)
)
merge.register_mover("web_events", _move_plain(WebEvent))
merge.register_mover("visitor_links", _move_plain(VisitorLink))
