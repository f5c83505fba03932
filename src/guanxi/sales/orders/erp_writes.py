"""Writing a planned ERP batch: new orders and their lines with bulk inserts (multi-row VALUES on
SQLite, COPY on PostgreSQL), changed orders with one version-checked executemany and their lines
replaced, one batch of audit entries, and the webhook events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers.transfer.import_batch import (
    allocate_ids,
    audit_batch,
    chunked,
    insert_rows,
    one_of,
    update_versioned,
)
from guanxi.db import utcnow
from guanxi.errors import N_
from guanxi.sales import numbering
from guanxi.sales.models import Order, OrderLine
from guanxi.webhooks import events
from guanxi.webhooks.models import WebhookEndpoint

if TYPE_CHECKING:
    from guanxi.sales.orders.erp import Planned

ORDERS: Table = Order.__table__  # type: ignore[assignment]
LINES: Table = OrderLine.__table__  # type: ignore[assignment]
LINE_FIELDS = (
    "product_id",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "unit_cost",
    "discount",
)
UPDATED = (
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
    "confirmed_at",
    "completed_at",
    "cancelled_at",
)
CHANGED_MEANWHILE = N_("An order changed while the request ran; send it again.")
_CONFIRMED = frozenset({"confirmed", "invoiced", "shipped", "completed"})
_NO_REDACTION: frozenset[str] = frozenset()


def line_summary(line: tuple[Any, ...]) -> str:
    """A line as the audit log shows it: ``SKU x quantity @ unit price - discount``."""
    _product_id, sku, _description, quantity, unit_price, _unit_cost, discount = line
    shown = f"{sku} x {quantity.normalize():f} @ {unit_price}"
    return f"{shown} - {discount}" if discount else shown


def write(
    session: Session, actor: User, inserts: Sequence[Planned], updates: Sequence[Planned]
) -> None:
    """Store a planned batch in the session's transaction (the caller commits)."""
    if not inserts and not updates:
        return
    now = utcnow()
    _insert(session, inserts, now)
    _update(session, updates, now)
    entries: list[tuple[str, int, dict[str, Any]]] = [
        ("create", p.values["id"], _created(p.values)) for p in inserts
    ]
    entries += [("update", p.values["id"], p.changes) for p in updates]
    audit_batch(session, "order", _NO_REDACTION, entries)
    _announce(session, inserts, updates)


_TEXTS = ("number", "external_id", "channel", "status", "currency", "notes")
_MONEY = ("subtotal", "discount_total", "total", "cost_total", "refunded")
_TIMES = ("ordered_at", "confirmed_at", "completed_at", "cancelled_at")
_IDS = ("customer_id", "owner_id", "team_id")


def _created(values: dict[str, Any]) -> dict[str, Any]:
    """A create entry's changes, as the automatic audit shows them (set values only, no
    bookkeeping columns). Decimals and times become the text the log stores for them here,
    where their types are known, which costs less than the generic encoder's checks."""
    changes = {name: {"after": values[name]} for name in _TEXTS if values[name]}
    changes.update({name: {"after": str(values[name])} for name in _MONEY})
    for name in _TIMES:
        if values[name] is not None:
            changes[name] = {"after": values[name].isoformat()}
    for name in _IDS:
        if values[name] is not None:
            changes[name] = {"after": values[name]}
    return changes


def _stamp(values: dict[str, Any], before: dict[str, Any] | None, now: Any) -> None:
    """When the order was confirmed, completed or cancelled: kept from before when it already
    was, the time Guanxi learned of it otherwise."""
    status = values["status"]
    earlier = before or {}
    values["confirmed_at"] = earlier.get("confirmed_at") or (now if status in _CONFIRMED else None)
    completed = status == "completed"
    values["completed_at"] = (earlier.get("completed_at") or now) if completed else None
    cancelled = status == "cancelled"
    values["cancelled_at"] = (earlier.get("cancelled_at") or now) if cancelled else None


def _insert(session: Session, inserts: Sequence[Planned], now: Any) -> None:
    if not inserts:
        return
    ids = allocate_ids(session, ORDERS, len(inserts))
    lines: list[dict[str, Any]] = []
    for planned, order_id in zip(inserts, ids, strict=True):
        values = planned.values
        _stamp(values, None, now)
        # created_at, updated_at and version are left to their column defaults, which the
        # bulk insert computes and converts once per batch instead of once per row
        values.update(
            id=order_id,
            number=numbering.document_number(numbering.ORDER, values["ordered_at"], order_id),
            external_id=planned.external_id,
        )
        lines += _line_rows(order_id, planned.lines)
    insert_rows(session, ORDERS, [p.values for p in inserts])
    insert_rows(session, LINES, lines)


def _update(session: Session, updates: Sequence[Planned], now: Any) -> None:
    if not updates:
        return
    rows = []
    relined: list[Planned] = []
    for planned in updates:
        existing = planned.existing
        assert existing is not None
        values = planned.values
        _stamp(values, existing.values, now)
        for kept in ("owner_id", "team_id"):  # an update leaves the order where it is
            values[kept] = existing.values[kept]
        values.update(id=existing.id, version=existing.version, external_id=planned.external_id)
        rows.append(values)
        if "lines" in planned.changes:
            relined.append(planned)
    update_versioned(session, ORDERS, UPDATED, rows, CHANGED_MEANWHILE)
    for planned in updates:
        planned.values["version"] += 1
    if relined:
        ids = [p.values["id"] for p in relined]
        connection = session.connection()
        for chunk in chunked(ids):
            connection.execute(delete(LINES).where(one_of(session, LINES.c.order_id, chunk)))
        lines: list[dict[str, Any]] = []
        for planned in relined:
            lines += _line_rows(planned.values["id"], planned.lines)
        insert_rows(session, LINES, lines)


def _line_rows(order_id: int, lines: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order_id,
            "line_no": line_no,
            "product_id": line[0],
            "sku": line[1],
            "description": line[2],
            "quantity": line[3],
            "unit_price": line[4],
            "unit_cost": line[5],
            "discount": line[6],
        }
        for line_no, line in enumerate(lines, start=1)
    ]


_EVENT_FIELDS = (
    "id",
    "number",
    "external_id",
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
    "version",
)


def _announce(session: Session, inserts: Sequence[Planned], updates: Sequence[Planned]) -> None:
    """``order.created`` / ``order.updated`` per written order, when any endpoint listens."""
    # one cheap query per batch decides; ``emit`` reads the endpoints per event
    listening = session.scalar(
        select(WebhookEndpoint.id).where(WebhookEndpoint.is_active.is_(True)).limit(1)
    )
    if listening is None:
        return
    for planned in inserts:
        created = {n: planned.values.get(n) for n in _EVENT_FIELDS}
        events.emit(session, "order.created", {**created, "version": 1})
    for planned in updates:
        assert planned.existing is not None
        data = {n: planned.values.get(n) for n in _EVENT_FIELDS}
        data["number"] = planned.existing.number
        before = planned.existing.values["status"]
        # as the order service does: a status move is announced as such
        if before != planned.values["status"]:
            events.emit(session, "order.status_changed", {**data, "previous_status": before})
        else:
            events.emit(session, "order.updated", data)
