"""ERP and shop integration: orders upserted idempotently by the external id the other system
gives them, one at a time (``upsert_order``) or thousands per request (``upsert_orders``).

A batch is read with one query per kind of record (customers, products, the existing orders and
their lines), planned in memory, and written with Core bulk statements and one batch of audit
entries, so a request of 5,000 orders costs a handful of statements. Sending the same orders
twice writes nothing the second time: each item is compared with what is stored and counted as
unchanged when equal, keeping its version, row ids and audit log as they were.

Money comes from ``orders.money`` only, so an order totals the same whichever way it arrived.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from guanxi.auth.models import User
from guanxi.errors import N_, Conflict, FieldError, GuanxiError, InvalidInput, NotFound
from guanxi.errors import PermissionDenied as Forbidden
from guanxi.sales.models import Order
from guanxi.sales.orders import erp_writes
from guanxi.sales.orders.erp_lookup import Existing, Lookups, load_lookups
from guanxi.sales.orders.erp_schemas import (
    ONE_CUSTOMER,
    ONE_PRODUCT,
    ErpBulkOrderIn,
    ErpOrderIn,
    field_path,
)
from guanxi.sales.orders.money import ZERO, line_amounts, order_totals

MAX_ORDERS = 10_000
MAX_LINES = 50_000

NO_CUSTOMER = N_("No customer you can see has this id.")
NO_PRODUCT = N_("No product has this SKU or id.")
TOO_MUCH_DISCOUNT = N_("The discount is more than the line's quantity times its unit price.")
SAME_IN_REQUEST = N_("An earlier order of this request has the same external id.")
HIDDEN_ORDER = N_("An order with this external id exists and you may not change it.")
NO_UPDATES = N_("Your role may not change existing orders.")
GOODS_MOVED = N_("Goods of this order were shipped or returned; its lines can no longer change.")
RETURNED = N_("This order has returns recorded; change it in Guanxi instead.")
SHIPPED_NOT_CANCELLED = N_(
    "Goods of this order were shipped; it cannot be cancelled. Record a return instead."
)
BELOW_INVOICED = N_("The new total is less than what was already invoiced for this order.")

# the order columns an upsert sets from its input (totals included); compared to find changes
COMPARED = (
    "customer_id",
    "channel",
    "status",
    "ordered_at",
    "currency",
    "subtotal",
    "discount_total",
    "total",
    "cost_total",
    "refunded",
    "notes",
)


class PayloadTooLarge(GuanxiError):
    status = 413
    slug = "payload-too-large"
    title = N_("Request too large")


@dataclass(slots=True)
class Refusal:
    """An item that was not written, and why; ``kind`` picks the HTTP status of a single PUT."""

    index: int
    external_id: str | None
    field: str
    reason: str
    kind: str = "invalid"  # invalid | not_found | conflict | forbidden


@dataclass(slots=True)
class Planned:
    """An order to insert (``existing`` None) or update: its columns and lines as they will be."""

    index: int
    external_id: str
    values: dict[str, Any]
    lines: list[tuple[Any, ...]]
    existing: Existing | None = None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpsertOutcome:
    """What a request did, item by item: the order id written or matched, or the refusal."""

    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    order_ids: dict[int, int] = field(default_factory=dict)  # item index -> order id


def upsert_orders(*, session: Session, actor: User, items: list[Any]) -> UpsertOutcome:
    """Create or update many orders, each identified by its ``external_id``; refused items are
    reported and the rest written, each one whole or not at all."""
    if len(items) > MAX_ORDERS:
        raise PayloadTooLarge(N_("At most {limit} orders per request."), limit=MAX_ORDERS)
    line_count = sum(len(i.get("lines") or ()) for i in items if isinstance(i, dict))
    if line_count > MAX_LINES:
        raise PayloadTooLarge(N_("At most {limit} order lines per request."), limit=MAX_LINES)
    with _no_cycle_collection():
        return _upsert_many(session, actor, items)


def _upsert_many(session: Session, actor: User, items: list[Any]) -> UpsertOutcome:
    outcome = UpsertOutcome()
    valid = _validated(items, outcome)
    keyed: list[tuple[int, str, ErpOrderIn]] = []
    first_index: dict[str, int] = {}
    for index, order_in in valid:
        if order_in.external_id in first_index:
            outcome.refusals.append(
                Refusal(index, order_in.external_id, "external_id", SAME_IN_REQUEST, "conflict")
            )
            continue
        first_index[order_in.external_id] = index
        keyed.append((index, order_in.external_id, order_in))
    _run(session, actor, keyed, outcome)
    outcome.refusals.sort(key=lambda r: r.index)
    return outcome


def upsert_order(
    *, session: Session, actor: User, external_id: str, body: Any
) -> tuple[Order, bool]:
    """Create or replace the order ``external_id``; True when it was created. Refusals become
    the problem a client expects: 422 with field paths, 404 for a customer it cannot see."""
    if not 1 <= len(external_id) <= 100:
        raise InvalidInput(errors=[FieldError("external_id", N_("Use 1 to 100 characters."))])
    try:
        order_in = _ONE.validate_python(body)
    except ValidationError as invalid:
        raise InvalidInput(
            N_("The request has fields that are missing or wrong."),
            errors=[FieldError(field_path(e["loc"]), e["msg"]) for e in invalid.errors()],
        ) from None
    outcome = UpsertOutcome()
    _run(session, actor, [(0, external_id, order_in)], outcome)
    if outcome.refusals:
        refusal = outcome.refusals[0]
        errors = [FieldError(r.field, r.reason) for r in outcome.refusals]
        if refusal.kind == "not_found":
            raise NotFound(refusal.reason)
        if refusal.kind == "forbidden":
            raise Forbidden(refusal.reason)
        if refusal.kind == "conflict":
            raise Conflict(refusal.reason, errors=errors)
        raise InvalidInput(N_("The order cannot be stored as sent."), errors=errors)
    order = session.scalars(
        select(Order)
        .options(selectinload(Order.lines))
        .where(Order.id == outcome.order_ids[0])
        .execution_options(populate_existing=True)
    ).one()
    return order, bool(outcome.created)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a bulk request runs. The request makes a few hundred
    thousand short-lived objects (freed by reference counting, no cycles), which set off full
    collections that walk every object of the process each time: measured at 0.2-0.6 s apiece,
    several per request. Collection resumes (and catches up) when the request is done; another
    request finishing first may resume it early, which only costs speed."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_ONE: TypeAdapter[ErpOrderIn] = TypeAdapter(ErpOrderIn)
_MANY: TypeAdapter[list[ErpBulkOrderIn]] = TypeAdapter(list[ErpBulkOrderIn])
_ITEM: TypeAdapter[ErpBulkOrderIn] = TypeAdapter(ErpBulkOrderIn)


def _validated(items: list[Any], outcome: UpsertOutcome) -> list[tuple[int, ErpBulkOrderIn]]:
    """The items that pass validation, with their index; the others become refusals. The whole
    list is validated at once (the common case: all good), item by item only after a failure."""
    try:
        return list(enumerate(_MANY.validate_python(items)))
    except ValidationError:
        pass
    valid = []
    for index, item in enumerate(items):
        try:
            valid.append((index, _ITEM.validate_python(item)))
        except ValidationError as invalid:
            error = invalid.errors()[0]
            external_id = item.get("external_id") if isinstance(item, dict) else None
            outcome.refusals.append(
                Refusal(
                    index,
                    external_id if isinstance(external_id, str) else None,
                    field_path(error["loc"]),
                    error["msg"],
                )
            )
    return valid


def _run(
    session: Session,
    actor: User,
    keyed: list[tuple[int, str, ErpOrderIn]],
    outcome: UpsertOutcome,
) -> None:
    if not keyed:
        return
    if session.get_bind().dialect.name == "sqlite":
        # take SQLite's write lock before reading: ids are allocated as the highest plus one,
        # so no other writer may insert orders between the read and the insert
        session.execute(text("UPDATE orders SET version = version WHERE id < 0"))
    lookups = load_lookups(
        session, actor, [key for _, key, _ in keyed], [order_in for _, _, order_in in keyed]
    )
    may_update = actor.can("orders", "update")
    inserts: list[Planned] = []
    updates: list[Planned] = []
    for index, external_id, order_in in keyed:
        planned = _plan(index, external_id, order_in, lookups)
        if isinstance(planned, Refusal):
            outcome.refusals.append(planned)
            continue
        existing = lookups.existing.get(external_id)
        if existing is None:
            inserts.append(planned)
            continue
        refusal = _check_update(planned, existing, lookups, may_update)
        if refusal is not None:
            outcome.refusals.append(refusal)
        elif planned.changes:
            updates.append(planned)
        else:
            outcome.unchanged.append(existing.id)
            outcome.order_ids[index] = existing.id
    erp_writes.write(session, actor, inserts, updates)
    for planned in inserts:
        outcome.created.append(planned.values["id"])
        outcome.order_ids[planned.index] = planned.values["id"]
    for planned in updates:
        assert planned.existing is not None
        outcome.updated.append(planned.existing.id)
        outcome.order_ids[planned.index] = planned.existing.id


def _plan(
    index: int, external_id: str, order_in: ErpOrderIn, lookups: Lookups
) -> Planned | Refusal:
    """The order's columns and lines as they would be stored, or why it cannot be."""
    if (order_in.customer_id is None) == (order_in.customer_external_id is None):
        return Refusal(index, external_id, "customer_id", ONE_CUSTOMER)
    if order_in.customer_id is not None:
        customer = lookups.customers_by_id.get(order_in.customer_id)
        customer_field = "customer_id"
    else:
        customer = lookups.customers_by_external_id.get(order_in.customer_external_id or "")
        customer_field = "customer_external_id"
    if customer is None:
        return Refusal(index, external_id, customer_field, NO_CUSTOMER, "not_found")
    lines: list[tuple[Any, ...]] = []
    amounts = []
    for n, line in enumerate(order_in.lines):
        given = (line.sku is not None) + (line.product_external_id is not None)
        if given + (line.product_id is not None) != 1:
            return Refusal(index, external_id, f"lines[{n}]", ONE_PRODUCT)
        if line.product_id is not None:
            product, key = lookups.products_by_id.get(line.product_id), "product_id"
        elif line.product_external_id is not None:
            product = lookups.products_by_external_id.get(line.product_external_id)
            key = "product_external_id"
        else:
            product, key = lookups.products_by_sku.get(line.sku or ""), "sku"
        if product is None:
            return Refusal(index, external_id, f"lines[{n}].{key}", NO_PRODUCT)
        unit_cost = product.unit_cost if line.unit_cost is None else line.unit_cost
        money = line_amounts(line.quantity, line.unit_price, unit_cost, line.discount)
        if money.net < ZERO:
            return Refusal(index, external_id, f"lines[{n}].discount", TOO_MUCH_DISCOUNT)
        amounts.append(money)
        lines.append(
            (
                product.id,
                product.sku,
                line.description or product.name[:200],
                line.quantity,
                line.unit_price,
                unit_cost,
                money.discount,
            )
        )
    totals = order_totals(amounts)
    cancelled = order_in.status == "cancelled"
    values = {
        "customer_id": customer.id,
        "channel": order_in.channel,
        "status": order_in.status,
        "ordered_at": order_in.ordered_at.astimezone(UTC),
        "currency": order_in.currency,
        "subtotal": totals.subtotal,
        "discount_total": totals.discount_total,
        "total": totals.total,
        # a cancelled order gives its money back and keeps no goods sold
        "cost_total": ZERO if cancelled else totals.cost_total,
        "refunded": totals.total if cancelled else ZERO,
        "notes": order_in.notes,
        # shop orders land with the customer's account owner (the caller when it has none)
        "owner_id": customer.owner_id if customer.owner_id is not None else lookups.actor_id,
        "team_id": customer.team_id if customer.owner_id is not None else lookups.actor_team_id,
    }
    return Planned(index, external_id, values, lines)


def _check_update(
    planned: Planned, existing: Existing, lookups: Lookups, may_update: bool
) -> Refusal | None:
    """Fill ``planned.changes`` against the stored order, or refuse to touch it."""
    planned.existing = existing
    index, external_id = planned.index, planned.external_id
    if existing.id not in lookups.visible_orders:
        return Refusal(index, external_id, "external_id", HIDDEN_ORDER, "conflict")
    changes = {
        name: {"before": existing.values[name], "after": planned.values[name]}
        for name in COMPARED
        if existing.values[name] != planned.values[name]
    }
    if existing.lines != planned.lines:
        if existing.goods_moved:
            return Refusal(index, external_id, "lines", GOODS_MOVED, "conflict")
        changes["lines"] = {
            "before": [erp_writes.line_summary(line) for line in existing.lines],
            "after": [erp_writes.line_summary(line) for line in planned.lines],
        }
    if not changes:
        return None
    status = changes.get("status")
    if status and status["after"] == "cancelled" and existing.goods_moved:
        return Refusal(index, external_id, "status", SHIPPED_NOT_CANCELLED, "conflict")
    if planned.values["total"] < existing.values["invoiced_total"]:
        return Refusal(index, external_id, "lines", BELOW_INVOICED, "conflict")
    if existing.returned:
        return Refusal(index, external_id, "external_id", RETURNED, "conflict")
    if not may_update:
        return Refusal(index, external_id, "external_id", NO_UPDATES, "forbidden")
    planned.changes = changes
    return None
