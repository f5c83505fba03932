"""Three years of demo orders for the demo customers, written in bulk.

Every customer's order times come first (``demo_buyers``); they are sorted so that order numbers
follow the calendar as a real order book's would, then turned into rows batch by batch
(``demo_order_rows``) and written with multi-row INSERTs (SQLite) or COPY (PostgreSQL), one
audit entry per batch, as the customer demo does. Totals come from the order money rules, so
they are exactly what the order service would have stored.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.customers.models import Customer
from guanxi.customers.transfer.import_batch import allocate_ids, insert_rows
from guanxi.sales import numbering
from guanxi.sales.demo_buyers import Buyer, make_buyer, order_channel, purchase_times, time_of_day
from guanxi.sales.demo_catalog import BUSINESS_ONLY_SKUS, CatalogItem
from guanxi.sales.demo_order_rows import Batch, Priced, Shelf, add_order, choose_lines, make_shelf
from guanxi.sales.models import (
    Invoice,
    Order,
    OrderLine,
    OrderReturn,
    OrderReturnLine,
    Shipment,
    ShipmentLine,
)

BATCH = 5_000  # orders per write
# discontinued products were last sold this long ago
DISCONTINUED_DAYS = 420


@dataclass(frozen=True)
class WonDeal:
    """A won opportunity whose order the order history should contain."""

    opportunity_id: int
    customer_id: int
    closed_at: datetime
    line: Priced


class _Event(NamedTuple):
    """An order to be: tuples sort natively, which matters for a large demo's million."""

    at: datetime
    sequence: int
    buyer: int
    channel: str
    deal: int  # index into the won deals, or -1


def build_orders(
    session: Session,
    rng: random.Random,
    *,
    products: Sequence[tuple[int, CatalogItem]],
    won: Sequence[WonDeal],
    now: datetime,
) -> dict[int, Buyer]:
    """Write the order history; returns the buyer profile of every demo customer, by id."""
    customers = session.execute(
        select(
            Customer.id,
            Customer.kind,
            Customer.customer_type,
            Customer.owner_id,
            Customer.team_id,
            Customer.created_at,
        )
        .where(Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
        .order_by(Customer.id)
    ).all()
    buyers: list[Buyer] = []
    events: list[_Event] = []
    for customer in customers:
        buyer = make_buyer(
            rng,
            customer.id,
            customer.kind,
            customer.customer_type,
            customer.owner_id,
            customer.team_id,
        )
        for moment in purchase_times(rng, buyer, customer.created_at, now):
            channel = order_channel(rng, buyer)
            at = time_of_day(rng, moment, channel)
            if at <= now:
                events.append(_Event(at, len(events), len(buyers), channel, -1))
        buyers.append(buyer)
    index = {buyer.customer_id: i for i, buyer in enumerate(buyers)}
    for number, deal in enumerate(won):
        buyer_index = index[deal.customer_id]
        channel = buyers[buyer_index].channel
        at = time_of_day(rng, deal.closed_at + timedelta(hours=rng.uniform(1, 72)), channel)
        if at < deal.closed_at:
            at = time_of_day(rng, at + timedelta(days=1), channel)
        # a deal won today may have its order in an earlier opening hour of the same days: the
        # order came in and the rep then marked the deal won; never in the future, never at
        # night (a store is closed at the moment the demo happens to be built)
        days_back = 0
        while at > now:  # office channels skip weekends forward, so at most three rounds
            days_back += 1
            at = time_of_day(rng, now - timedelta(days=days_back), channel)
        events.append(_Event(at, len(events), buyer_index, channel, number))
    events.sort()
    order_ids = allocate_ids(session, _table(Order), len(events))
    shelves = _shelves(products)
    cutoff = now - timedelta(days=DISCONTINUED_DAYS)
    for start in range(0, len(events), BATCH):
        batch = Batch()
        for event, order_id in zip(
            events[start : start + BATCH], order_ids[start : start + BATCH], strict=True
        ):
            buyer = buyers[event.buyer]
            if event.deal >= 0:
                deal = won[event.deal]
                lines, opportunity_id = [deal.line], deal.opportunity_id
            else:
                shelf = shelves[(buyer.organisation, event.at < cutoff)]
                lines, opportunity_id = choose_lines(rng, buyer, shelf), None
            add_order(
                batch,
                rng,
                order_id=order_id,
                buyer=buyer,
                ordered_at=event.at,
                channel=event.channel,
                lines=lines,
                now=now,
                opportunity_id=opportunity_id,
            )
        _write(session, batch)
    return {buyer.customer_id: buyer for buyer in buyers}


def _shelves(products: Sequence[tuple[int, CatalogItem]]) -> dict[tuple[bool, bool], Shelf]:
    """What is on sale, by (buyer is an organisation, before the discontinued goods left)."""
    shelves = {}
    for organisation in (False, True):
        for old in (False, True):
            shelves[(organisation, old)] = make_shelf(
                [
                    (product_id, item)
                    for product_id, item in products
                    if (item.is_active or old)
                    and (organisation or item.sku not in BUSINESS_ONLY_SKUS)
                ]
            )
    return shelves


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _with_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    ids = allocate_ids(session, _table(model), len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    return ids


def _write(session: Session, batch: Batch) -> None:
    """Insert a batch's rows, parents first, swapping in-batch references for ids."""
    line_ids = _with_ids(session, OrderLine, batch.lines)
    _with_ids(session, Invoice, batch.invoices)
    for invoice in batch.invoices:
        prefix = numbering.INVOICE if invoice["kind"] == "invoice" else numbering.CREDIT_NOTE
        invoice["number"] = numbering.document_number(prefix, invoice["issued_on"], invoice["id"])
    shipment_ids = _with_ids(session, Shipment, batch.shipments)
    for shipment in batch.shipments:
        shipment["number"] = numbering.document_number(
            numbering.SHIPMENT, shipment["shipped_on"], shipment["id"]
        )
    return_ids = _with_ids(session, OrderReturn, batch.returns)
    shipment_lines = [
        {
            "shipment_id": shipment_ids[row["_shipment"]],
            "order_line_id": line_ids[row["_line"]],
            "quantity": row["quantity"],
        }
        for row in batch.shipment_lines
    ]
    return_lines = [
        {
            "return_id": return_ids[row["_return"]],
            "order_line_id": line_ids[row["_line"]],
            "quantity": row["quantity"],
            "refund": row["refund"],
        }
        for row in batch.return_lines
    ]
    for model, rows in (
        (Order, batch.orders),
        (OrderLine, batch.lines),
        (Invoice, batch.invoices),
        (Shipment, batch.shipments),
        (ShipmentLine, shipment_lines),
        (OrderReturn, batch.returns),
        (OrderReturnLine, return_lines),
    ):
        if rows:
            insert_rows(session, _table(model), rows)
    if batch.orders:
        audit.record(
            session,
            "demo.create",
            "order",
            f"{batch.orders[0]['id']}-{batch.orders[-1]['id']}",
            {
                "orders": len(batch.orders),
                "lines": len(batch.lines),
                "invoices": len(batch.invoices),
                "shipments": len(batch.shipments),
                "returns": len(batch.returns),
            },
        )
