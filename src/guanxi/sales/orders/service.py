"""Use cases for orders (订单): create, read, list, change a draft, and move an order through its
statuses. Invoices, shipments and returns are in ``documents``; the money rules in ``money``.

Status machine: draft -> confirmed -> invoiced (everything owed is invoiced) -> shipped (every
line fully shipped) -> completed (explicitly, or as soon as it is both invoiced and shipped).
A draft, confirmed or invoiced order with nothing shipped may be cancelled; goods that were
shipped come back as returns, and an order whose every unit came back is "returned".

Every read goes through record visibility (an order out of sight is "not found"); every change
is audited by the ORM (``Audited``) and announced to webhooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import ensure_may_hand_to, get_visible, restrict
from guanxi.concurrency import ensure_version
from guanxi.customers import service as customer_service
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import Page, paginate_sorted
from guanxi.sales import numbering
from guanxi.sales.models import ORDER_CHANNELS, ORDER_STATUSES, Opportunity, Order, OrderLine
from guanxi.sales.orders import lines as order_lines
from guanxi.sales.orders.money import ZERO
from guanxi.sales.orders.schemas import (
    OrderCreate,
    OrderLineRead,
    OrderRead,
    OrderSummary,
    OrderUpdate,
)
from guanxi.webhooks import events

SORTABLE = ("ordered_at", "number", "total", "created_at")
# statuses whose progress follows the invoices and shipments recorded against the order
OPEN_STATUSES = ("confirmed", "invoiced", "shipped")
CANCELLABLE = ("draft", "confirmed", "invoiced")
COUNTED = ("confirmed", "invoiced", "shipped", "completed", "returned")  # real sales


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a list shows; every field narrows it, None means any."""

    customer_id: int | None = None
    status: str | None = None
    channel: str | None = None
    owner_id: int | None = None
    ordered_from: date | None = None
    ordered_to: date | None = None  # inclusive
    q: str = ""  # fragment of the order number or external id


def get(*, session: Session, actor: User, order_id: int) -> Order:
    """An order the actor may see."""
    return get_visible(session, Order, order_id, actor)


def create(*, session: Session, actor: User, order_in: OrderCreate) -> Order:
    """A new order for a customer the actor may see; confirmed at once if asked."""
    customer = _customer(session, actor, order_in.customer_id)
    if order_in.external_id:
        _ensure_external_id_free(session, order_in.external_id)
    if order_in.opportunity_id is not None:
        _ensure_opportunity(session, actor, order_in.opportunity_id, customer.id)
    order = Order(
        # a placeholder until the id is known: the number is built from it, so it is unique
        # under any concurrency without a counter table
        number=f"tmp-{uuid.uuid4().hex}",
        customer_id=customer.id,
        opportunity_id=order_in.opportunity_id,
        external_id=order_in.external_id or None,
        channel=order_in.channel,
        status="draft",
        ordered_at=order_in.ordered_at or utcnow(),
        notes=order_in.notes,
        owner_id=actor.id,
        team_id=actor.team_id,
    )
    if order_in.currency:
        order.currency = order_in.currency
    if order_in.owner_id is not None:
        _hand_to(session, actor, order, order_in.owner_id)
    order.lines = order_lines.build(session, order_in.lines)
    order_lines.apply_totals(order)
    session.add(order)
    session.flush()
    order.number = order_number(order)
    if order_in.status == "confirmed":
        _confirm(order)
    session.flush()
    events.emit(session, "order.created", to_read(order).model_dump(mode="json"))
    return order


def order_number(order: Order) -> str:
    """``SO-20261123-000123``: the order date and its id, readable on the phone and unique."""
    return numbering.document_number(numbering.ORDER, order.ordered_at, order.id)


def update(
    *,
    session: Session,
    actor: User,
    order: Order,
    order_in: OrderUpdate,
    expected_version: int | None,
) -> Order:
    """Change a draft: its lines, channel, notes, date or owner."""
    ensure_version(order.version, expected_version)
    _ensure_status(order, ("draft",), N_("Only a draft order can be changed."))
    given = order_in.model_fields_set
    if "channel" in given and order_in.channel is not None:
        order.channel = order_in.channel
    if "notes" in given and order_in.notes is not None:
        order.notes = order_in.notes
    if "ordered_at" in given and order_in.ordered_at is not None:
        order.ordered_at = order_in.ordered_at
    if "owner_id" in given and order_in.owner_id is not None:
        _hand_to(session, actor, order, order_in.owner_id)
    if "lines" in given and order_in.lines is not None:
        new_lines = order_lines.build(session, order_in.lines)
        order.lines.clear()
        session.flush()  # the old lines go before the new ones take their line numbers
        order.lines = new_lines
        order_lines.apply_totals(order)
    if session.is_modified(order):
        order.updated_at = utcnow()  # a change to the lines alone still bumps the version
    session.flush()
    events.emit(session, "order.updated", to_read(order).model_dump(mode="json"))
    return order


def delete(*, session: Session, actor: User, order: Order, expected_version: int | None) -> None:
    """Remove a draft for good (a confirmed order is cancelled instead, so its history stays)."""
    ensure_version(order.version, expected_version)
    _ensure_status(
        order, ("draft",), N_("Only a draft order can be deleted; cancel a confirmed one.")
    )
    session.delete(order)
    session.flush()


def confirm(*, session: Session, actor: User, order: Order, expected_version: int | None) -> Order:
    ensure_version(order.version, expected_version)
    _ensure_status(order, ("draft",), N_("Only a draft order can be confirmed."))
    _confirm(order)
    return changed_status(session, order, "draft")


def complete(*, session: Session, actor: User, order: Order, expected_version: int | None) -> Order:
    """Close an order whose goods have all been shipped (invoiced in full or not)."""
    ensure_version(order.version, expected_version)
    _ensure_status(
        order, OPEN_STATUSES, N_("An order {status} cannot be completed."), status=order.status
    )
    if not fully_shipped(order):
        raise Conflict(N_("Ship every line before completing the order."))
    before = order.status
    order.status = "completed"
    order.completed_at = utcnow()
    return changed_status(session, order, before)


def cancel(
    *, session: Session, actor: User, order: Order, reason: str, expected_version: int | None
) -> Order:
    """Cancel an order before anything was shipped: the customer owes nothing (all of the
    total is refunded), no goods were sold (no cost), and an invoice already issued is cancelled
    by a credit note for the invoiced amount."""
    from guanxi.sales.orders import documents  # documents build on this module

    ensure_version(order.version, expected_version)
    _ensure_status(
        order, CANCELLABLE, N_("An order {status} cannot be cancelled."), status=order.status
    )
    if any(line.shipped_quantity > 0 for line in order.lines):
        raise Conflict(N_("Goods of this order were shipped: record a return instead."))
    before = order.status
    order.refunded = order.total
    order.cost_total = ZERO
    if order.invoiced_total != ZERO:
        documents.credit_note(session, actor, order, order.invoiced_total, notes=reason)
    order.status = "cancelled"
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    return changed_status(session, order, before)


def _confirm(order: Order) -> None:
    order.status = "confirmed"
    order.confirmed_at = utcnow()


def changed_status(session: Session, order: Order, before: str) -> Order:
    """Save an order after a change and announce it: ``order.status_changed`` when the status
    moved, else ``order.updated`` (an invoice or shipment that left the status as it was)."""
    session.flush()
    data = to_read(order).model_dump(mode="json")
    if order.status != before:
        events.emit(session, "order.status_changed", {**data, "previous_status": before})
    else:
        events.emit(session, "order.updated", data)
    return order


def fully_shipped(order: Order) -> bool:
    return all(line.shipped_quantity >= line.quantity for line in order.lines)


def left_to_invoice(order: Order) -> Decimal:
    """What the customer still owes that no invoice covers yet."""
    return max(order.total - order.refunded - order.invoiced_total, ZERO)


def progress_status(*, invoiced: bool, shipped: bool) -> str:
    """The status an open order has reached when it is (or is not) invoiced and shipped in full;
    the demo's orders follow the same rule."""
    if shipped and invoiced:
        return "completed"
    if shipped:
        return "shipped"
    return "invoiced" if invoiced else "confirmed"


def follow_progress(order: Order) -> None:
    """Move an open order to the status its invoices and shipments have reached."""
    if order.status not in OPEN_STATUSES:
        return
    shipped = fully_shipped(order)
    invoiced = order.total - order.refunded > ZERO and left_to_invoice(order) == ZERO
    order.status = progress_status(invoiced=invoiced, shipped=shipped)
    if order.status == "completed":
        order.completed_at = utcnow()


def _ensure_status(order: Order, allowed: Sequence[str], message: str, **params: Any) -> None:
    if order.status not in allowed:
        raise Conflict(message, **params)


def _customer(session: Session, actor: User, customer_id: int) -> Any:
    try:
        return customer_service.get(session=session, actor=actor, customer_id=customer_id)
    except NotFound as exc:
        raise InvalidInput(
            N_("Customer {id} was not found."),
            errors=[FieldError("customer_id", N_("Choose a customer you can see."))],
            id=customer_id,
        ) from exc


def _ensure_opportunity(session: Session, actor: User, opportunity_id: int, customer: int) -> None:
    try:
        opportunity = get_visible(session, Opportunity, opportunity_id, actor)
    except NotFound as exc:
        raise InvalidInput(
            N_("Opportunity {id} was not found."),
            errors=[FieldError("opportunity_id", N_("Choose an opportunity you can see."))],
            id=opportunity_id,
        ) from exc
    if opportunity.customer_id != customer:
        raise InvalidInput(
            N_("The opportunity belongs to another customer."),
            errors=[FieldError("opportunity_id", N_("Choose one of this customer's."))],
        )


def _ensure_external_id_free(session: Session, external_id: str) -> None:
    if session.scalar(select(Order.id).where(Order.external_id == external_id)) is not None:
        raise Conflict(
            N_("Another order already has the external id {external_id}."),
            errors=[FieldError("external_id", N_("This value is taken."))],
            external_id=external_id,
        )


def _hand_to(session: Session, actor: User, order: Order, owner_id: int) -> None:
    owner = session.get(User, owner_id)
    if owner is None or not owner.is_active:
        raise InvalidInput(
            N_("The owner must be an active user."),
            errors=[FieldError("owner_id", N_("Unknown or disabled user."))],
        )
    ensure_may_hand_to(session, actor, owner)
    order.owner_id, order.team_id = owner.id, owner.team_id


# ---------------------------------------------------------------- lists


def _filter_clauses(spec: OrderFilter) -> list[Any]:
    clauses: list[Any] = []
    if spec.customer_id is not None:
        clauses.append(Order.customer_id == spec.customer_id)
    if spec.status:
        _ensure_choice("status", spec.status, ORDER_STATUSES)
        clauses.append(Order.status == spec.status)
    if spec.channel:
        _ensure_choice("channel", spec.channel, ORDER_CHANNELS)
        clauses.append(Order.channel == spec.channel)
    if spec.owner_id is not None:
        clauses.append(Order.owner_id == spec.owner_id)
    if spec.ordered_from is not None:
        clauses.append(Order.ordered_at >= datetime.combine(spec.ordered_from, time(), UTC))
    if spec.ordered_to is not None:
        end = datetime.combine(spec.ordered_to + timedelta(days=1), time(), UTC)
        clauses.append(Order.ordered_at < end)
    q = spec.q.strip()
    if q:
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        clauses.append(Order.number.ilike(pattern) | Order.external_id.ilike(pattern))
    return clauses


def _ensure_choice(field: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidInput(
            N_("Orders cannot be filtered by {field} {value}."),
            errors=[FieldError(field, N_("Choose one of the offered values."))],
            field=field,
            value=value,
        )


def list_orders(
    *,
    session: Session,
    actor: User,
    spec: OrderFilter,
    sort: str = "ordered_at",
    descending: bool = True,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Order]:
    """A page of the orders ``actor`` may see, newest first unless told otherwise."""
    if sort not in SORTABLE:
        raise InvalidInput(
            N_("Orders cannot be sorted by {field}."),
            errors=[FieldError("sort", N_("Choose one of the offered values."))],
            field=sort,
        )
    stmt = restrict(select(Order).where(*_filter_clauses(spec)), Order, actor)
    return paginate_sorted(
        session,
        stmt,
        getattr(Order, sort),
        Order.id,
        limit=limit,
        cursor=cursor,
        descending=descending,
    )


def list_for_customer(
    *, session: Session, actor: User, customer_id: int, limit: int = 10
) -> list[Order]:
    """The customer's latest orders that ``actor`` may see, for the customer 360 page."""
    stmt = restrict(select(Order).where(Order.customer_id == customer_id), Order, actor)
    stmt = stmt.order_by(Order.ordered_at.desc(), Order.id.desc()).limit(limit)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- shapes


def to_read(order: Order) -> OrderRead:
    net = order.total - order.refunded
    return OrderRead(
        id=order.id,
        number=order.number,
        external_id=order.external_id,
        customer_id=order.customer_id,
        opportunity_id=order.opportunity_id,
        channel=order.channel,
        status=order.status,
        ordered_at=order.ordered_at,
        currency=order.currency,
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        total=order.total,
        invoiced_total=order.invoiced_total,
        refunded=order.refunded,
        net_revenue=net,
        cost_total=order.cost_total,
        margin=net - order.cost_total,
        left_to_invoice=left_to_invoice(order),
        fully_shipped=fully_shipped(order),
        notes=order.notes,
        cancel_reason=order.cancel_reason,
        owner_id=order.owner_id,
        team_id=order.team_id,
        confirmed_at=order.confirmed_at,
        completed_at=order.completed_at,
        cancelled_at=order.cancelled_at,
        version=order.version,
        created_at=order.created_at,
        updated_at=order.updated_at,
        lines=[line_read(line) for line in order.lines],
    )


def line_read(line: OrderLine) -> OrderLineRead:
    return OrderLineRead(
        id=line.id,
        line_no=line.line_no,
        product_id=line.product_id,
        sku=line.sku,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        unit_cost=line.unit_cost,
        discount=line.discount,
        amount=order_lines.amounts(line).net,
        shipped_quantity=line.shipped_quantity,
        returned_quantity=line.returned_quantity,
    )


def to_summary(order: Order) -> OrderSummary:
    return OrderSummary(
        id=order.id,
        number=order.number,
        customer_id=order.customer_id,
        channel=order.channel,
        status=order.status,
        ordered_at=order.ordered_at,
        currency=order.currency,
        total=order.total,
        invoiced_total=order.invoiced_total,
        refunded=order.refunded,
        owner_id=order.owner_id,
    )
