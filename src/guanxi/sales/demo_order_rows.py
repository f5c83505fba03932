"""One demo order as rows: its lines priced by the order money rules, and what happened to it
since (confirmed, invoiced, shipped, completed; or cancelled; or partly or wholly returned),
with the invoices, shipments and returns that go with it.

Rows refer to each other by their position in the batch (``_line``, ``_shipment``, ``_return``);
``demo_orders`` swaps those for real ids once the batch's ids are known.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from guanxi.sales import numbering
from guanxi.sales.demo_buyers import SHANGHAI, Buyer
from guanxi.sales.demo_catalog import (
    PARTS,
    SERVICE,
    WARRANTY_CATEGORIES,
    WARRANTY_SKUS,
    CatalogItem,
)
from guanxi.sales.orders import money
from guanxi.sales.orders import service as order_service

ONE = Decimal(1)
_CARRIERS = (("顺丰速运", "SF", 12), ("京东物流", "JDV", 12), ("德邦快递", "DPK", 12))
_CANCEL_REASONS = ("客户改变主意", "重复下单", "价格有误，重新下单", "缺货，客户不愿等待")
_RETURN_REASONS = (
    "七天无理由退货",
    "商品有质量问题",
    "型号买错",
    "收到时外包装破损",
    "客户取消部分采购",
)


@dataclass
class Batch:
    """The rows of a batch of demo orders, by table."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    shipment_lines: list[dict[str, Any]] = field(default_factory=list)
    returns: list[dict[str, Any]] = field(default_factory=list)
    return_lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Priced:
    item: CatalogItem
    product_id: int
    quantity: Decimal
    discount: Decimal
    amounts: money.LineAmounts


def price_line(item: CatalogItem, product_id: int, quantity: int, share_off: float) -> Priced:
    """A line at list price less ``share_off`` of its gross, the discount in whole yuan."""
    qty = Decimal(quantity)
    gross = money.money(qty * item.list_price)
    discount = min(gross, (gross * Decimal(str(round(share_off, 3)))).quantize(ONE))
    amounts = money.line_amounts(qty, item.list_price, item.unit_cost, discount)
    return Priced(item, product_id, qty, amounts.discount, amounts)


@dataclass(frozen=True)
class Shelf:
    """What is on sale to a kind of buyer at some time: products by category, the warranties
    sold with appliances and the thin-margin goods bargain hunters go for."""

    by_category: dict[str, list[tuple[int, CatalogItem]]]
    warranties: list[tuple[int, CatalogItem]]
    thin: list[tuple[int, CatalogItem]]


def make_shelf(products: list[tuple[int, CatalogItem]]) -> Shelf:
    by_category: dict[str, list[tuple[int, CatalogItem]]] = {}
    for product in products:
        by_category.setdefault(product[1].category, []).append(product)
    return Shelf(
        by_category,
        [p for p in products if p[1].sku in WARRANTY_SKUS],
        [p for p in products if p[1].margin < 0.15],
    )


def choose_lines(rng: random.Random, buyer: Buyer, shelf: Shelf) -> list[Priced]:
    """1-5 lines the buyer would put on one order."""
    if buyer.segment in {"person", "bargain"}:
        count = rng.choices((1, 2, 3, 4, 5), (60, 25, 10, 3, 2))[0]
    else:
        count = rng.randint(1, 5) if buyer.segment == "business" else rng.randint(2, 5)
    lines: list[Priced] = []
    seen: set[int] = set()
    for _ in range(count * 2):  # a few tries, as a repeated product is skipped
        if len(lines) >= count:
            break
        if buyer.segment == "bargain" and rng.random() < 0.85:
            product_id, item = rng.choice(shelf.thin)
        else:
            choices = shelf.by_category.get(buyer.category(rng))
            if not choices:
                continue
            product_id, item = rng.choice(choices)
        if product_id in seen:
            continue
        seen.add(product_id)
        share = rng.uniform(*buyer.discount_range) if rng.random() < buyer.discount_chance else 0.0
        lines.append(price_line(item, product_id, _quantity(rng, buyer, item), share))
        if (
            buyer.segment == "person"
            and item.category in WARRANTY_CATEGORIES
            and rng.random() < 0.25
            and len(lines) < 5
        ):
            warranty_id, warranty = rng.choice(shelf.warranties)
            if warranty_id not in seen:
                seen.add(warranty_id)
                lines.append(price_line(warranty, warranty_id, 1, 0.0))
    return lines


def _quantity(rng: random.Random, buyer: Buyer, item: CatalogItem) -> int:
    if buyer.segment in {"person", "bargain"}:
        if item.category in {PARTS, SERVICE}:
            return rng.choice((1, 1, 2))
        return 2 if rng.random() < 0.08 else 1
    if item.category == SERVICE and item.list_price > 10_000:
        return 1
    typical = {"business": 2.0, "distributor": 3.0, "big": 7.0}[buyer.segment] * buyer.level
    return max(1, round(rng.lognormvariate(0.0, 0.6) * typical))


def _after(rng: random.Random, moment: datetime, low_hours: float, high_hours: float) -> datetime:
    return moment + timedelta(hours=rng.uniform(low_hours, high_hours))


def _day(moment: datetime) -> Any:
    """The Shanghai calendar day of a UTC moment."""
    return (moment + SHANGHAI).date()


def add_order(
    batch: Batch,
    rng: random.Random,
    *,
    order_id: int,
    buyer: Buyer,
    ordered_at: datetime,
    channel: str,
    lines: list[Priced],
    now: datetime,
    opportunity_id: int | None = None,
) -> None:
    """Append one order and everything that happened to it up to ``now`` to ``batch``."""
    totals = money.order_totals(p.amounts for p in lines)
    first_line = len(batch.lines)
    for number, priced in enumerate(lines, start=1):
        batch.lines.append(
            {
                "order_id": order_id,
                "line_no": number,
                "product_id": priced.product_id,
                "sku": priced.item.sku,
                "description": priced.item.name,
                "quantity": priced.quantity,
                "unit_price": priced.item.list_price,
                "unit_cost": priced.item.unit_cost,
                "discount": priced.discount,
                "shipped_quantity": Decimal(0),
                "returned_quantity": Decimal(0),
            }
        )
    my_lines = batch.lines[first_line:]
    order: dict[str, Any] = {
        "id": order_id,
        # the order service's numbering (SO-<UTC order date>-<id>), so numbers never collide
        "number": numbering.document_number(numbering.ORDER, ordered_at, order_id),
        "external_id": f"EC{_day(ordered_at):%Y%m%d}{order_id:08d}"
        if channel == "marketplace"
        else None,
        "customer_id": buyer.customer_id,
        "opportunity_id": opportunity_id,
        "channel": channel,
        "status": "draft",
        "ordered_at": ordered_at,
        "currency": "CNY",
        "subtotal": totals.subtotal,
        "discount_total": totals.discount_total,
        "total": totals.total,
        "cost_total": totals.cost_total,
        "invoiced_total": money.ZERO,
        "refunded": money.ZERO,
        "notes": "",
        "confirmed_at": None,
        "completed_at": None,
        "cancelled_at": None,
        "cancel_reason": "",
        "owner_id": buyer.owner_id,
        "team_id": buyer.team_id,
        "created_at": ordered_at,
        "updated_at": ordered_at,
        "version": 1,
    }
    batch.orders.append(order)
    b2b = buyer.organisation
    confirmed = _after(rng, ordered_at, 0.1, 24 if b2b else 3)
    if rng.random() < 0.02:  # cancelled before anything was invoiced or shipped
        cancelled = _after(rng, ordered_at, 0.2, 48)
        if cancelled <= now:
            if confirmed < cancelled and rng.random() < 0.5:
                order["confirmed_at"] = confirmed
            order.update(
                status="cancelled",
                cancelled_at=cancelled,
                cancel_reason=rng.choice(_CANCEL_REASONS),
                refunded=totals.total,
                cost_total=money.ZERO,
                updated_at=cancelled,
            )
            return
    if confirmed > now or (now - ordered_at < timedelta(days=30) and rng.random() < 0.02):
        return  # still a draft (now and then one is left so for weeks)
    order.update(status="confirmed", confirmed_at=confirmed, updated_at=confirmed)
    done = _documents(batch, rng, order, buyer, lines, my_lines, first_line, confirmed, now)
    if done is not None and rng.random() < buyer.return_chance:
        _return(batch, rng, order, my_lines, first_line, buyer, _after(rng, done, 48, 300), now)


def _documents(
    batch: Batch,
    rng: random.Random,
    order: dict[str, Any],
    buyer: Buyer,
    lines: list[Priced],
    rows: list[dict[str, Any]],
    first_line: int,
    confirmed: datetime,
    now: datetime,
) -> datetime | None:
    """Invoice and ship a confirmed order as far as ``now`` allows, moving its status as the
    order service does (invoiced in full, shipped in full, both: completed). Returns when it was
    completed, if it was."""
    b2b = buyer.organisation
    several = len(lines) > 1
    if b2b and rng.random() < 0.3:  # goods first, the invoice with the month's statement
        ship_at = _after(rng, confirmed, 12, 96)
        invoice_at = _after(rng, ship_at, 24, 240)
    else:
        invoice_at = _after(rng, confirmed, 0.1, 96 if b2b else 6)
        ship_at = _after(rng, invoice_at, 12, 96)
    total = order["total"]
    invoices = [(invoice_at, total)]
    if b2b and several and rng.random() < 0.3:  # the first line's goods invoiced ahead
        first = lines[0].amounts.net
        invoices = [(invoice_at, first), (_after(rng, invoice_at, 24, 240), total - first)]
    half = len(rows) // 2 if several and rng.random() < (0.3 if b2b else 0.05) else len(rows)
    shipments = [(ship_at, 0, half)]
    if half < len(rows):  # the rest follows when it is back in stock
        shipments.append((_after(rng, ship_at, 24, 168), half, len(rows)))
    # (when, amount invoiced or None for a shipment, first and end row shipped)
    events: list[tuple[datetime, Decimal | None, int, int]] = sorted(
        [(at, amount, 0, 0) for at, amount in invoices]
        + [(at, None, lo, hi) for at, lo, hi in shipments],
        key=lambda event: event[0],
    )
    shipped_lines = 0
    for at, amount, lo, hi in events:
        if at > now:
            return None
        if amount is not None:
            _invoice(batch, rng, order, buyer, amount, at)
        else:
            _ship(batch, rng, order, rows[lo:hi], first_line + lo, at)
            shipped_lines += hi - lo
        status = order_service.progress_status(
            invoiced=order["invoiced_total"] >= total, shipped=shipped_lines == len(rows)
        )
        order.update(status=status, updated_at=at)
        if status == "completed":
            order["completed_at"] = at
            return at
    return None


def _invoice(
    batch: Batch,
    rng: random.Random,
    order: dict[str, Any],
    buyer: Buyer,
    amount: Decimal,
    at: datetime,
) -> None:
    if amount > 0:
        batch.invoices.append(_invoice_row(order, amount, at, buyer.tax_number, rng))
        order["invoiced_total"] += amount


def _invoice_row(
    order: dict[str, Any], amount: Decimal, at: datetime, tax: str, rng: random.Random
) -> dict[str, Any]:
    return {
        "order_id": order["id"],
        "kind": "invoice" if amount > 0 else "credit_note",
        "amount": amount,
        "issued_on": _day(at),
        "tax_number": tax,
        "notes": "" if rng.random() < 0.9 else "增值税专用发票" if tax else "电子普通发票",
        "created_by_id": order["owner_id"],
        "created_at": at,
        "updated_at": at,
    }


def _ship(
    batch: Batch,
    rng: random.Random,
    order: dict[str, Any],
    rows: list[dict[str, Any]],
    first_index: int,
    at: datetime,
) -> None:
    order_id, owner_id = order["id"], order["owner_id"]
    carrier, prefix, digits = rng.choice(_CARRIERS)
    shipment_index = len(batch.shipments)
    batch.shipments.append(
        {
            "order_id": order_id,
            "shipped_on": _day(at),
            "carrier": carrier,
            "tracking_number": f"{prefix}{rng.randrange(10**digits):0{digits}d}",
            "notes": "",
            "created_by_id": owner_id,
            "created_at": at,
            "updated_at": at,
        }
    )
    for offset, row in enumerate(rows):
        row["shipped_quantity"] = row["quantity"]
        batch.shipment_lines.append(
            {
                "_shipment": shipment_index,
                "_line": first_index + offset,
                "quantity": row["quantity"],
            }
        )


def _return(
    batch: Batch,
    rng: random.Random,
    order: dict[str, Any],
    rows: list[dict[str, Any]],
    first_index: int,
    buyer: Buyer,
    at: datetime,
    now: datetime,
) -> None:
    """Some goods come back: usually part of one line, now and then the whole order."""
    if at > now:
        return
    whole = rng.random() < 0.12
    if whole:
        chosen = [(i, row, row["quantity"]) for i, row in enumerate(rows)]
    else:
        i = rng.randrange(len(rows))
        row = rows[i]
        if len(rows) == 1 and row["quantity"] == 1:
            return  # nothing partial to return
        top = int(row["quantity"]) - (1 if len(rows) == 1 else 0)
        chosen = [(i, row, Decimal(rng.randint(1, top)))]
    return_index = len(batch.returns)
    refund_total = money.ZERO
    for i, row, quantity in chosen:
        net = money.line_amounts(
            row["quantity"], row["unit_price"], row["unit_cost"], row["discount"]
        ).net
        refund, cost_back = money.return_amounts(
            row["quantity"], net, row["unit_cost"], already_returned=Decimal(0), returned=quantity
        )
        row["returned_quantity"] = quantity
        order["refunded"] += refund
        order["cost_total"] -= cost_back
        refund_total += refund
        batch.return_lines.append(
            {
                "_return": return_index,
                "_line": first_index + i,
                "quantity": quantity,
                "refund": refund,
            }
        )
    batch.returns.append(
        {
            "order_id": order["id"],
            "returned_on": _day(at),
            "reason": rng.choice(_RETURN_REASONS),
            "refund": refund_total,
            "created_by_id": order["owner_id"],
            "created_at": at,
            "updated_at": at,
        }
    )
    if refund_total > 0:  # a credit note (红字发票) for what went back
        batch.invoices.append(_invoice_row(order, -refund_total, at, buyer.tax_number, rng))
        order["invoiced_total"] -= refund_total
    order.update(updated_at=at, status="returned" if whole else order["status"])
