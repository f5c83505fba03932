"""Use cases for interactions (跟进记录): log a touchpoint, read, list, change and delete.

An interaction belongs to a customer and is seen by whoever may see that customer (the
material's point: whoever picks up the phone sees everything); every read and list goes through
``visible_interactions``. Logging checks that the linked contact, opportunity and order belong
to the same customer, so a touchpoint never points at somebody else's records. The follow-up,
e-mail and API paths all log through ``log``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.concurrency import ensure_version
from guanxi.customers import service as customer_service
from guanxi.customers.models import Contact, Customer
from guanxi.db import as_utc, utcnow
from guanxi.errors import N_, FieldError, InvalidInput, NotFound
from guanxi.interactions.models import CHANNELS, DIRECTIONS, Interaction
from guanxi.interactions.schemas import InteractionCreate, InteractionRead, InteractionUpdate
from guanxi.pagination import DEFAULT_LIMIT, Page, paginate_sorted
from guanxi.sales.models import Opportunity, Order

SOURCES = ("manual", "follow_up", "email_out", "email_in", "api")
# fields that cannot be emptied: a null for them in a change means "leave as it is"
_REQUIRED = ("channel", "direction", "subject", "notes", "outcome", "occurred_at")


def visible_interactions(actor: User) -> Select[Any]:
    """A select of the interactions of live customers the actor may see."""
    stmt = (
        select(Interaction)
        .join(Customer, Customer.id == Interaction.customer_id)
        .where(Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
    )
    return restrict(stmt, Customer, actor)


def get(*, session: Session, actor: User, interaction_id: int) -> Interaction:
    """An interaction the actor may see (through its customer), or NotFound."""
    interaction = session.scalars(
        visible_interactions(actor).where(Interaction.id == interaction_id)
    ).one_or_none()
    if interaction is None:
        raise NotFound(N_("Record {id} was not found."), id=interaction_id)
    return interaction


def log(
    session: Session,
    *,
    actor: User | None,
    customer_id: int,
    channel: str,
    direction: str,
    subject: str = "",
    notes: str = "",
    outcome: str = "",
    occurred_at: datetime | None = None,
    duration_seconds: int | None = None,
    contact_id: int | None = None,
    opportunity_id: int | None = None,
    order_id: int | None = None,
    source: str = "manual",
    message_id: str | None = None,
    email_address: str = "",
    user_id: int | None = None,
) -> Interaction:
    """Record one touchpoint with a customer the actor may see.

    ``actor`` None is the system (an inbound mailbox read by a job): the customer is then taken
    as it is, and ``user_id`` says whose touchpoint it was, if anybody's. Raises InvalidInput
    naming the field for an unknown channel, direction or a link to another customer's record.
    """
    if actor is not None:
        customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    else:
        found = session.get(Customer, customer_id)
        if found is None or found.deleted_at is not None or found.merged_into_id is not None:
            raise NotFound(N_("Record {id} was not found."), id=customer_id)
        customer = found
    errors = _check_choices(channel=channel, direction=direction, source=source)
    errors += _check_links(
        session,
        customer_id=customer.id,
        contact_id=contact_id,
        opportunity_id=opportunity_id,
        order_id=order_id,
    )
    if duration_seconds is not None and duration_seconds < 0:
        errors.append(FieldError("duration_seconds", N_("Must not be negative.")))
    if errors:
        raise InvalidInput(N_("The interaction could not be saved."), errors=errors)
    interaction = Interaction(
        customer_id=customer.id,
        contact_id=contact_id,
        channel=channel,
        direction=direction,
        occurred_at=as_utc(occurred_at) if occurred_at else utcnow(),
        user_id=user_id if user_id is not None else (actor.id if actor else None),
        subject=subject.strip(),
        notes=notes,
        outcome=outcome.strip(),
        duration_seconds=duration_seconds,
        opportunity_id=opportunity_id,
        order_id=order_id,
        source=source,
        message_id=message_id,
        email_address=email_address,
    )
    session.add(interaction)
    session.flush()
    return interaction


def create(*, session: Session, actor: User, interaction_in: InteractionCreate) -> Interaction:
    """Log a touchpoint sent through the API (``source`` "api"), as the actor."""
    return log(session, actor=actor, source="api", **interaction_in.model_dump())


def list_interactions(
    *,
    session: Session,
    actor: User,
    customer_id: int | None = None,
    channel: str | None = None,
    direction: str | None = None,
    user_id: int | None = None,
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Interaction]:
    """Interactions the actor may see, latest first; ``occurred_from`` is inclusive,
    ``occurred_to`` exclusive. Asking for one customer the actor may not see is "not found",
    not an empty list, as reading that customer would be."""
    stmt = visible_interactions(actor)
    if customer_id is not None:
        customer_service.get(session=session, actor=actor, customer_id=customer_id)
        stmt = stmt.where(Interaction.customer_id == customer_id)
    if channel:
        stmt = stmt.where(Interaction.channel == channel)
    if direction:
        stmt = stmt.where(Interaction.direction == direction)
    if user_id is not None:
        stmt = stmt.where(Interaction.user_id == user_id)
    if occurred_from is not None:
        stmt = stmt.where(Interaction.occurred_at >= as_utc(occurred_from))
    if occurred_to is not None:
        stmt = stmt.where(Interaction.occurred_at < as_utc(occurred_to))
    return paginate_sorted(
        session,
        stmt,
        Interaction.occurred_at,
        Interaction.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )


def list_for_customer(
    *, session: Session, actor: User, customer_id: int, limit: int = 10
) -> list[Interaction]:
    """The customer's latest interactions the actor may see (the 360 page's panel)."""
    stmt = (
        visible_interactions(actor)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def to_reads(session: Session, interactions: Sequence[Interaction]) -> list[InteractionRead]:
    """A page of interactions for the API: the names of their customers, contacts and people
    come from one query each, not from loading each record."""
    customer_ids = {i.customer_id for i in interactions}
    contact_ids = {i.contact_id for i in interactions if i.contact_id is not None}
    user_ids = {i.user_id for i in interactions if i.user_id is not None}
    customers = _names(session, select(Customer.id, Customer.name), Customer.id, customer_ids)
    contacts = _names(session, select(Contact.id, Contact.name), Contact.id, contact_ids)
    users = _names(
        session,
        select(User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)),
        User.id,
        user_ids,
    )
    return [
        _as_read(
            i,
            customer_name=customers.get(i.customer_id, ""),
            contact_name=contacts.get(i.contact_id or 0, ""),
            user_name=users.get(i.user_id or 0, ""),
        )
        for i in interactions
    ]


def _names(
    session: Session, stmt: Select[int, Any], id_column: Any, ids: set[int]
) -> dict[int, str]:
    if not ids:
        return {}
    return {row[0]: row[1] for row in session.execute(stmt.where(id_column.in_(ids)))}


def to_read(session: Session, interaction: Interaction) -> InteractionRead:
    customer = session.get(Customer, interaction.customer_id)
    contact = session.get(Contact, interaction.contact_id) if interaction.contact_id else None
    user = session.get(User, interaction.user_id) if interaction.user_id else None
    return _as_read(
        interaction,
        customer_name=customer.name if customer is not None else "",
        contact_name=contact.name if contact is not None else "",
        user_name=user.label if user is not None else "",
    )


def _as_read(
    interaction: Interaction, *, customer_name: str, contact_name: str, user_name: str
) -> InteractionRead:
    return InteractionRead(
        id=interaction.id,
        customer_id=interaction.customer_id,
        customer_name=customer_name,
        channel=interaction.channel,
        direction=interaction.direction,
        occurred_at=interaction.occurred_at,
        user_id=interaction.user_id,
        user_name=user_name,
        subject=interaction.subject,
        notes=interaction.notes,
        outcome=interaction.outcome,
        duration_seconds=interaction.duration_seconds,
        contact_id=interaction.contact_id,
        contact_name=contact_name,
        opportunity_id=interaction.opportunity_id,
        order_id=interaction.order_id,
        source=interaction.source,
        message_id=interaction.message_id,
        email_address=interaction.email_address,
        version=interaction.version,
        created_at=interaction.created_at,
        updated_at=interaction.updated_at,
    )


def apply_update(
    *,
    session: Session,
    actor: User,
    interaction: Interaction,
    interaction_in: InteractionUpdate,
    expected_version: int | None = None,
) -> Interaction:
    """Apply the fields a client sent (``exclude_unset``): a null clears a link or the
    duration; for the fields that cannot be empty it changes nothing."""
    changes = {
        name: value
        for name, value in interaction_in.model_dump(exclude_unset=True).items()
        if not (value is None and name in _REQUIRED)
    }
    return update(
        session=session,
        actor=actor,
        interaction=interaction,
        changes=changes,
        expected_version=expected_version,
    )


def update(
    *,
    session: Session,
    actor: User,
    interaction: Interaction,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> Interaction:
    """Change the given fields of an interaction; the same checks as ``log``. With
    ``expected_version`` a change based on an outdated copy is refused (412)."""
    ensure_version(interaction.version, expected_version)
    channel = changes.get("channel", interaction.channel)
    direction = changes.get("direction", interaction.direction)
    errors = _check_choices(channel=channel, direction=direction, source=interaction.source)
    errors += _check_links(
        session,
        customer_id=interaction.customer_id,
        contact_id=changes.get("contact_id", interaction.contact_id),
        opportunity_id=changes.get("opportunity_id", interaction.opportunity_id),
        order_id=changes.get("order_id", interaction.order_id),
    )
    if (changes.get("duration_seconds") or 0) < 0:
        errors.append(FieldError("duration_seconds", N_("Must not be negative.")))
    if errors:
        raise InvalidInput(N_("The interaction could not be saved."), errors=errors)
    for name, value in changes.items():
        if name == "occurred_at" and value is not None:
            value = as_utc(value)
        elif name in ("subject", "outcome") and isinstance(value, str):
            value = value.strip()
        setattr(interaction, name, value)
    session.flush()
    return interaction


def delete(
    *, session: Session, interaction: Interaction, expected_version: int | None = None
) -> None:
    """Remove an interaction for good (a follow-up completed by it keeps its outcome)."""
    ensure_version(interaction.version, expected_version)
    session.delete(interaction)
    session.flush()


def _check_choices(*, channel: str, direction: str, source: str) -> list[FieldError]:
    errors = []
    if channel not in CHANNELS:
        errors.append(FieldError("channel", N_("Not one of the known channels.")))
    if direction not in DIRECTIONS:
        errors.append(FieldError("direction", N_("Must be inbound or outbound.")))
    if source not in SOURCES:
        errors.append(FieldError("source", N_("Not one of the known sources.")))
    return errors


def _check_links(
    session: Session,
    *,
    customer_id: int,
    contact_id: int | None,
    opportunity_id: int | None,
    order_id: int | None,
) -> list[FieldError]:
    """The linked contact, opportunity and order must exist and belong to the customer."""
    errors = []
    # a contact belongs to its organisation; opportunities and orders to their customer
    links: tuple[tuple[str, Any, Any, int | None], ...] = (
        ("contact_id", Contact, Contact.organisation_id, contact_id),
        ("opportunity_id", Opportunity, Opportunity.customer_id, opportunity_id),
        ("order_id", Order, Order.customer_id, order_id),
    )
    for field, model, owner_column, record_id in links:
        if record_id is None:
            continue
        owner = session.scalar(select(owner_column).where(model.id == record_id))
        if owner != customer_id:
            errors.append(FieldError(field, N_("Not a record of this customer.")))
    return errors
