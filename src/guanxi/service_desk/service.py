"""Use cases for tickets (工单): open, read and list, change, move through the status flow,
notes and replies, and merging duplicates (attachments are in ``attachments``).

Every read goes through ``visibility``: a ticket the actor may not see is "not found". Every
change of a field people act on (status, assignee, queue, priority, category, root cause,
station, merge) is kept as a ``TicketChange`` with who and when; the audit log records the rest
of the row as for every audited model. Routing, the SLA clock and the satisfaction survey are
their own modules; this one calls them at the moments the flow defines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from guanxi.analytics.models import CustomerScore
from guanxi.analytics.runs import latest_run
from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.concurrency import ensure_version
from guanxi.config import Settings
from guanxi.customers.models import Contact, Customer
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.interactions.mail import service as mail_service
from guanxi.pagination import DEFAULT_LIMIT, Page, paginate
from guanxi.sales.models import Order, OwnedItem, Product
from guanxi.service_desk import routing, sla, surveys, ticket_search
from guanxi.service_desk import visibility as rules
from guanxi.service_desk.models import (
    ServiceQueue,
    ServiceStation,
    Ticket,
    TicketAttachment,
    TicketChange,
    TicketMessage,
)
from guanxi.service_desk.schemas import (
    ChangeRead,
    Location,
    StationRef,
    TicketCreate,
    TicketRead,
    TicketUpdate,
)

# the flow: new -> assigned -> in progress -> waiting on the customer -> resolved -> closed;
# work may start before anyone is assigned, and a resolved or closed ticket can be reopened
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "new": frozenset({"assigned", "in_progress", "waiting", "resolved"}),
    "assigned": frozenset({"in_progress", "waiting", "resolved"}),
    "in_progress": frozenset({"waiting", "resolved"}),
    "waiting": frozenset({"in_progress", "resolved"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset({"in_progress"}),
}

# statuses whose SLA clock is running
RUNNING: Final = frozenset({"new", "assigned", "in_progress"})
# PATCH fields whose every change goes into the ticket's history
TRACKED: Final = ("priority", "category", "root_cause", "queue_id", "assignee_id", "station_id")
_PLAIN: Final = ("subject", "description", "priority", "channel", "category", "root_cause")


# ---------------------------------------------------------------- reading


def visible_tickets(actor: User, session: Session | None = None) -> Select[Ticket]:
    """A select of the tickets ``actor`` may see; with ``session`` the actor's queues are read
    first, so the condition holds their ids."""
    return rules.visible_tickets(actor, session)


def get_visible_ticket(session: Session, actor: User, ticket_id: int) -> Ticket:
    """A ticket the actor may see; NotFound (404) when it does not exist or is hidden."""
    ticket = session.scalars(visible_tickets(actor).where(Ticket.id == ticket_id)).one_or_none()
    if ticket is None:
        raise NotFound(N_("Record {id} was not found."), id=ticket_id)
    return ticket


def list_tickets(
    *,
    session: Session,
    actor: User,
    status: str | None = None,
    queue_id: int | None = None,
    assignee_id: int | None = None,
    customer_id: int | None = None,
    kind: str | None = None,
    priority: str | None = None,
    q: str = "",
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Ticket]:
    """Tickets the actor may see, newest first, narrowed by the filters given."""
    stmt = visible_tickets(actor)
    for column, value in (
        (Ticket.status, status),
        (Ticket.queue_id, queue_id),
        (Ticket.assignee_id, assignee_id),
        (Ticket.customer_id, customer_id),
        (Ticket.kind, kind),
        (Ticket.priority, priority),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    fragment = q.strip()
    if fragment:
        stmt = stmt.where(ticket_search.subject_matches(session, fragment))
    return paginate(session, stmt, Ticket.id, limit=limit, cursor=cursor, descending=True)


def list_for_customer(
    *, session: Session, actor: User, customer_id: int, limit: int = 10
) -> list[Ticket]:
    """The customer's tickets the actor may see, newest first (customer 360 page)."""
    stmt = (
        visible_tickets(actor)
        .where(Ticket.customer_id == customer_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def messages(session: Session, ticket: Ticket) -> list[TicketMessage]:
    return list(
        session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
    )


def history(session: Session, ticket: Ticket) -> list[ChangeRead]:
    """The ticket's changes, oldest first, each with who made it."""
    rows = session.execute(
        select(TicketChange, User)
        .outerjoin(User, User.id == TicketChange.actor_id)
        .where(TicketChange.ticket_id == ticket.id)
        .order_by(TicketChange.at, TicketChange.id)
    ).all()
    return [
        ChangeRead(
            id=change.id,
            at=change.at,
            actor_id=change.actor_id,
            actor=user.label if user is not None else change.actor_label,
            field=change.field,
            old_value=change.old_value,
            new_value=change.new_value,
        )
        for change, user in rows
    ]


def to_read(session: Session, ticket: Ticket) -> TicketRead:
    customer = session.get(Customer, ticket.customer_id)
    station = session.get(ServiceStation, ticket.station_id) if ticket.station_id else None
    location = (
        Location(latitude=ticket.latitude, longitude=ticket.longitude)
        if ticket.latitude is not None and ticket.longitude is not None
        else None
    )
    return TicketRead(
        id=ticket.id,
        kind=ticket.kind,
        status=ticket.status,
        priority=ticket.priority,
        channel=ticket.channel,
        category=ticket.category,
        root_cause=ticket.root_cause,
        subject=ticket.subject,
        description=ticket.description,
        language=ticket.language,
        customer_id=ticket.customer_id,
        customer_name=customer.name if customer is not None else "",
        contact_id=ticket.contact_id,
        product_id=ticket.product_id,
        order_id=ticket.order_id,
        owned_item_id=ticket.owned_item_id,
        queue_id=ticket.queue_id,
        assignee_id=ticket.assignee_id,
        created_by_id=ticket.created_by_id,
        station=StationRef(id=station.id, name=station.name) if station is not None else None,
        location=location,
        tier=ticket.tier,
        sla_policy_id=ticket.sla_policy_id,
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
        first_responded_at=ticket.first_responded_at,
        paused_at=ticket.paused_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        reopened_count=ticket.reopened_count,
        merged_into_id=ticket.merged_into_id,
        version=ticket.version,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def customer_tier(session: Session, customer_id: int) -> str | None:
    """The customer's value tier in the latest succeeded scoring run; None before any run
    or for a customer the run did not score."""
    run = latest_run(session)
    if run is None:
        return None
    tier = session.scalar(
        select(CustomerScore.tier).where(
            CustomerScore.run_id == run.id, CustomerScore.customer_id == customer_id
        )
    )
    return tier or None


# ---------------------------------------------------------------- history


def record_change(
    session: Session,
    ticket: Ticket,
    field: str,
    old: Any,
    new: Any,
    actor: User | None = None,
    label: str = "",
) -> TicketChange | None:
    """Keep one change in the ticket's history; ``label`` names who acted when no user did
    ("customer", "system"). Nothing is kept when the value did not change."""
    before, after = _text(old), _text(new)
    if before == after:
        return None
    change = TicketChange(
        ticket_id=ticket.id,
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_label=label or ("" if actor is not None else "system"),
        field=field,
        old_value=before[:200],
        new_value=after[:200],
    )
    session.add(change)
    return change


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------- opening


def create_ticket(
    session: Session,
    *,
    actor: User | None,
    ticket_in: TicketCreate,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Open a ticket for a customer the actor may see: routed to a queue, an agent and (for a
    service request) the nearest station, with its SLA due times set. 422 naming the field for
    an unknown or foreign contact, product, order, owned item, queue or assignee; 404 for a
    customer the actor may not see. ``actor`` None is the customer themselves in the portal,
    which has already limited them to their own record; the history names them "customer"."""
    now = now or utcnow()
    customer = _customer(session, actor, ticket_in.customer_id)
    ticket = Ticket(
        kind=ticket_in.kind,
        status="new",
        priority=ticket_in.priority,
        channel=ticket_in.channel,
        category=ticket_in.category.strip(),
        subject=ticket_in.subject.strip(),
        description=ticket_in.description.strip(),
        language=ticket_in.language,
        customer_id=customer.id,
        created_by_id=actor.id if actor is not None else None,
        tier=customer_tier(session, customer.id),
        reopened_count=0,
    )
    if ticket_in.location is not None:
        ticket.latitude = ticket_in.location.latitude
        ticket.longitude = ticket_in.location.longitude
    _link_records(
        session,
        ticket,
        customer,
        contact_id=ticket_in.contact_id,
        product_id=ticket_in.product_id,
        order_id=ticket_in.order_id,
        owned_item_id=ticket_in.owned_item_id,
    )
    if ticket_in.queue_id is not None:
        ticket.queue_id = _queue(session, ticket_in.queue_id).id
    if ticket_in.assignee_id is not None:
        ticket.assignee_id = _assignee(session, ticket_in.assignee_id).id
    session.add(ticket)
    session.flush()
    record_change(session, ticket, "status", None, "new", actor, "" if actor else "customer")
    given = (ticket.queue_id, ticket.assignee_id, ticket.station_id)
    routing.route(session, ticket)
    for field, before in zip(("queue_id", "assignee_id", "station_id"), given, strict=True):
        # what routing chose, not what the actor typed, is the system's doing
        record_change(session, ticket, field, before, getattr(ticket, field), None, "system")
    if ticket.assignee_id is not None:
        ticket.status = "assigned"
        record_change(session, ticket, "status", "new", "assigned", None, "system")
    sla.start(session, ticket, now)
    session.flush()
    return ticket


def _customer(session: Session, actor: User | None, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise InvalidInput(
            N_("Choose a customer you can see."),
            errors=[FieldError("customer_id", N_("Unknown customer."))],
        )
    if actor is None:
        return customer
    visible = session.scalar(
        restrict(select(Customer.id).where(Customer.id == customer_id), Customer, actor)
    )
    if visible is None:
        raise NotFound(N_("Record {id} was not found."), id=customer_id)
    return customer


def _unknown(field: str, message: str) -> InvalidInput:
    return InvalidInput(N_("The ticket was not saved."), errors=[FieldError(field, message)])


def _link_records(
    session: Session,
    ticket: Ticket,
    customer: Customer,
    *,
    contact_id: int | None,
    product_id: int | None,
    order_id: int | None,
    owned_item_id: int | None,
) -> None:
    """Point the ticket at the customer's contact, order, owned item and a product; each must
    exist and (but the product) belong to the customer. An owned item fills in its product and
    order when those are not given."""
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.organisation_id != customer.id or contact.deleted_at:
            raise _unknown("contact_id", N_("Not a contact of this customer."))
        ticket.contact_id = contact.id
    if owned_item_id is not None:
        item = session.get(OwnedItem, owned_item_id)
        if item is None or item.customer_id != customer.id:
            raise _unknown("owned_item_id", N_("Not a product this customer owns."))
        ticket.owned_item_id = item.id
        product_id = product_id if product_id is not None else item.product_id
        order_id = order_id if order_id is not None else item.order_id
    if product_id is not None:
        if session.get(Product, product_id) is None:
            raise _unknown("product_id", N_("Unknown product."))
        ticket.product_id = product_id
    if order_id is not None:
        order = session.get(Order, order_id)
        if order is None or order.customer_id != customer.id:
            raise _unknown("order_id", N_("Not an order of this customer."))
        ticket.order_id = order.id


def _queue(session: Session, queue_id: int) -> ServiceQueue:
    queue = session.get(ServiceQueue, queue_id)
    if queue is None or not queue.is_active:
        raise _unknown("queue_id", N_("Unknown or inactive queue."))
    return queue


def _assignee(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active or not user.can("tickets", "update"):
        raise _unknown("assignee_id", N_("Not an active user who may work on tickets."))
    return user


def _station(session: Session, station_id: int) -> ServiceStation:
    station = session.get(ServiceStation, station_id)
    if station is None or not station.is_active:
        raise _unknown("station_id", N_("Unknown or inactive service station."))
    return station


# ---------------------------------------------------------------- changing


def update_ticket(
    session: Session,
    *,
    actor: User,
    ticket: Ticket,
    ticket_in: TicketUpdate,
    expected_version: int | None = None,
) -> Ticket:
    """Change the fields sent; each tracked change goes into the history. A new ticket given an
    assignee becomes "assigned"."""
    ensure_version(ticket.version, expected_version)
    given = ticket_in.model_fields_set
    before = {name: getattr(ticket, name) for name in TRACKED}
    for name in _PLAIN:
        value = getattr(ticket_in, name)
        if name in given and value is not None:
            setattr(ticket, name, value.strip() if isinstance(value, str) else value)
    if "language" in given and ticket_in.language:
        ticket.language = ticket_in.language
    customer = session.get(Customer, ticket.customer_id)
    assert customer is not None  # the foreign key cascades
    links = ("contact_id", "product_id", "order_id", "owned_item_id")
    for name in links:
        if name in given and getattr(ticket_in, name) is None:
            setattr(ticket, name, None)
    _link_records(
        session,
        ticket,
        customer,
        **{name: getattr(ticket_in, name) if name in given else None for name in links},
    )
    if "queue_id" in given:
        ticket.queue_id = _queue(session, ticket_in.queue_id).id if ticket_in.queue_id else None
    if "assignee_id" in given:
        assignee = ticket_in.assignee_id
        ticket.assignee_id = _assignee(session, assignee).id if assignee else None
    if "station_id" in given:
        station = ticket_in.station_id
        ticket.station_id = _station(session, station).id if station else None
    for name in TRACKED:
        record_change(session, ticket, name, before[name], getattr(ticket, name), actor)
    if ticket.priority != before["priority"] and ticket.status in RUNNING:
        # the targets are the new priority's, counted from when the ticket was opened; a
        # paused or finished ticket keeps its clock as it stands
        sla.start(session, ticket, utcnow())
    if ticket.status == "new" and ticket.assignee_id is not None:
        change_status(session, actor=actor, ticket=ticket, status="assigned")
    session.flush()
    return ticket


def change_status(
    session: Session,
    *,
    actor: User | None,
    ticket: Ticket,
    status: str,
    now: datetime | None = None,
    label: str = "",
    expected_version: int | None = None,
) -> Ticket:
    """Move the ticket along the flow (``TRANSITIONS``); 409 for a move the flow does not
    allow, 422 for "assigned" without an assignee. Reopening a resolved or closed ticket counts
    in ``reopened_count``; the SLA clock hears of every move and the survey of a resolution."""
    ensure_version(ticket.version, expected_version)
    old = ticket.status
    if ticket.merged_into_id is not None:
        raise Conflict(
            N_("Ticket {id} was merged into ticket {into}; work on that one."),
            id=ticket.id,
            into=ticket.merged_into_id,
        )
    if status not in TRANSITIONS.get(old, frozenset()):
        raise Conflict(
            N_("A ticket cannot move from {old} to {new}."),
            errors=[FieldError("status", N_("Not allowed from the ticket's current status."))],
            old=old,
            new=status,
        )
    if status == "assigned" and ticket.assignee_id is None:
        raise InvalidInput(
            N_("Choose an assignee before marking the ticket assigned."),
            errors=[FieldError("assignee_id", N_("This field is required."))],
        )
    # the SLA module counts a reopening (resolved or closed -> in progress) in reopened_count
    _move(session, ticket, old, status, now or utcnow(), actor, label)
    if status == "resolved":
        surveys.on_resolved(session, ticket)
    session.flush()
    return ticket


def _move(
    session: Session,
    ticket: Ticket,
    old: str,
    new: str,
    now: datetime,
    actor: User | None,
    label: str,
) -> None:
    ticket.status = new
    record_change(session, ticket, "status", old, new, actor, label)
    sla.on_status_change(session, ticket, old, new, now)


# ---------------------------------------------------------------- messages


def add_note(session: Session, *, actor: User, ticket: Ticket, body: str) -> TicketMessage:
    """An internal note on the ticket; the customer never sees it."""
    note = TicketMessage(
        ticket_id=ticket.id, kind="note", body=body.strip(), author_id=actor.id, created_at=utcnow()
    )
    _touch(ticket)
    session.add(note)
    session.flush()
    return note


def reply(
    session: Session,
    *,
    actor: User,
    settings: Settings,
    ticket: Ticket,
    body: str,
    to: str | None = None,
    subject: str | None = None,
    now: datetime | None = None,
) -> TicketMessage:
    """E-mail a reply to the customer through the touch centre (logged there as an outbound
    interaction) and keep it on the ticket; the first reply is the first response the SLA
    measures. It goes also to a customer who withdrew consent to e-mail: it answers what they
    asked. The touch centre's refusals (an address not theirs, mail off, the server failing)
    reach the caller unchanged, and then nothing is kept."""
    if ticket.merged_into_id is not None:
        raise Conflict(
            N_("Ticket {id} was merged into ticket {into}; work on that one."),
            id=ticket.id,
            into=ticket.merged_into_id,
        )
    interaction = mail_service.send_to_customer(
        session,
        actor=actor,
        settings=settings,
        customer_id=ticket.customer_id,
        to=to,
        subject=subject or f"[#{ticket.id}] {ticket.subject}",
        body=body,
        contact_id=ticket.contact_id if not to else None,
        answers_their_request=True,
    )
    message = TicketMessage(
        ticket_id=ticket.id,
        kind="reply",
        body=body.strip(),
        author_id=actor.id,
        interaction_id=interaction.id,
        created_at=utcnow(),
    )
    session.add(message)
    if ticket.first_responded_at is None:
        sla.record_first_response(ticket, now or utcnow())
    _touch(ticket)
    session.flush()
    return message


def _touch(ticket: Ticket) -> None:
    # a new message is a change of the ticket: its version moves, so a stale form notices
    ticket.updated_at = utcnow()


# ---------------------------------------------------------------- merging


def merge(
    session: Session,
    *,
    actor: User,
    duplicate: Ticket,
    into: Ticket,
    now: datetime | None = None,
) -> Ticket:
    """Merge ``duplicate`` into ``into`` (same customer): its messages and attachments move,
    it is closed with ``merged_into_id`` set, and both histories say so. Answers ``into``."""
    if duplicate.id == into.id:
        raise InvalidInput(
            N_("A ticket cannot be merged into itself."),
            errors=[FieldError("into_id", N_("Choose another ticket."))],
        )
    if duplicate.customer_id != into.customer_id:
        raise InvalidInput(
            N_("Only tickets of the same customer can be merged."),
            errors=[FieldError("into_id", N_("A ticket of another customer."))],
        )
    for ticket in (duplicate, into):
        if ticket.merged_into_id is not None:
            raise Conflict(
                N_("Ticket {id} was already merged into ticket {into}."),
                id=ticket.id,
                into=ticket.merged_into_id,
            )
    now = now or utcnow()
    for model in (TicketMessage, TicketAttachment):
        session.execute(
            update(model)
            .where(model.ticket_id == duplicate.id)
            .values(ticket_id=into.id)
            .execution_options(synchronize_session="fetch")
        )
    old = duplicate.status
    duplicate.merged_into_id = into.id
    if old != "closed":
        _move(session, duplicate, old, "closed", now, actor, "")
    record_change(session, duplicate, "merged_into", None, f"#{into.id}", actor)
    record_change(session, into, "merged_from", None, f"#{duplicate.id}", actor)
    _touch(into)
    session.flush()
    return into
