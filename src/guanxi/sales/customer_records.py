"""What sales adds to the customer record: the sales panels on the 360 page (lifetime totals,
orders, opportunities, contracts), their entries on the timeline, their section of the
personal-data export, and moving them to the survivor when two customers are merged.

Listed in ``guanxi.customers.extensions.EXTENSION_MODULES``; the customer domain imports it on
first use, so it never has to import sales itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import Select, false, select, update
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers import extensions, merge, privacy, timeline
from guanxi.customers.models import Customer
from guanxi.customers.timeline import TimelineEntry
from guanxi.db import utcnow
from guanxi.errors import N_
from guanxi.sales.contracts import service as contract_service
from guanxi.sales.labels import CONTRACT_STATUS_LABELS, ORDER_STATUS_LABELS
from guanxi.sales.models import Contract, Opportunity, Order
from guanxi.sales.orders import service as order_service
from guanxi.sales.orders.totals import lifetime_totals
from guanxi.sales.pipeline import service as pipeline_service
from guanxi.web import i18n

PANEL_ROWS = 10


# ---------------------------------------------------------------- 360 panels


def _orders_panel(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    # the lifetime totals are facts about the customer (like its value tier), so they count
    # every order; the list shows only the orders the viewer may open
    orders = order_service.list_for_customer(
        session=session, actor=actor, customer_id=customer.id, limit=PANEL_ROWS
    )
    return {
        "customer": customer,
        "totals": lifetime_totals(session=session, customer_id=customer.id),
        "orders": orders,
        "status_labels": ORDER_STATUS_LABELS,
    }


def _opportunities_panel(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    rows = pipeline_service.list_for_customer(
        session=session, actor=actor, customer_id=customer.id, limit=PANEL_ROWS
    )
    return {"customer": customer, "opportunities": rows}


def _contracts_panel(session: Session, actor: User, customer: Customer) -> dict[str, Any]:
    rows = contract_service.list_for_customer(
        session=session, actor=actor, customer_id=customer.id, limit=PANEL_ROWS
    )
    return {"customer": customer, "contracts": rows, "status_labels": CONTRACT_STATUS_LABELS}


extensions.register_panel(
    extensions.Panel("orders", "sales/_customer_orders.html", "orders", _orders_panel, 10)
)
extensions.register_panel(
    extensions.Panel(
        "opportunities",
        "sales/_customer_opportunities.html",
        "opportunities",
        _opportunities_panel,
        20,
    )
)
extensions.register_panel(
    extensions.Panel(
        "contracts", "sales/_customer_contracts.html", "contracts", _contracts_panel, 30
    )
)


# ---------------------------------------------------------------- timeline


def _visible(stmt: Select[Any], model: Any, actor: User | None) -> Select[Any]:
    # the timeline module registers these sources for readers of the resource only, so an
    # actor is always given on pages; without one (a script) nothing is shown
    return stmt.where(false()) if actor is None else restrict(stmt, model, actor)


def _orders_source(
    session: Session,
    customer: Customer,
    actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    stmt = _visible(select(Order).where(Order.customer_id == customer.id), Order, actor)
    if before is not None:
        stmt = stmt.where(Order.ordered_at <= before)
    rows = session.scalars(stmt.order_by(Order.ordered_at.desc()).limit(limit))
    return [
        TimelineEntry(
            at=order.ordered_at,
            kind="orders",
            title=N_("Order {number}: {total}"),
            detail=N_("Status: {status}"),
            key=f"order:{order.id:012d}",
            link=f"/sales/orders/{order.id}",
            params={
                "number": order.number,
                "total": i18n.fmt_money(order.total - order.refunded, order.currency),
                "status": ORDER_STATUS_LABELS.get(order.status, order.status),
            },
            labels=frozenset({"status"}),
        )
        for order in rows
    ]


def _opportunities_source(
    session: Session,
    customer: Customer,
    actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    stmt = _visible(
        select(Opportunity).where(
            Opportunity.customer_id == customer.id, Opportunity.deleted_at.is_(None)
        ),
        Opportunity,
        actor,
    )
    if before is not None:
        stmt = stmt.where(Opportunity.created_at <= before)
    rows = session.scalars(stmt.order_by(Opportunity.created_at.desc()).limit(limit))
    return [
        TimelineEntry(
            at=opportunity.created_at,
            kind="opportunities",
            title=N_("Opportunity {title}: {amount}"),
            detail=N_("Stage: {stage}"),
            key=f"opportunity:{opportunity.id:012d}",
            link=f"/sales/opportunities/{opportunity.id}",
            params={
                "title": opportunity.title,
                "amount": i18n.fmt_money(opportunity.amount, opportunity.currency),
                "stage": opportunity.stage.label,
            },
            labels=frozenset({"stage"}),
        )
        for opportunity in rows
    ]


def _start_of(day: Any) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _contracts_source(
    session: Session,
    customer: Customer,
    actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    stmt = _visible(
        select(Contract).where(Contract.customer_id == customer.id, Contract.deleted_at.is_(None)),
        Contract,
        actor,
    )
    if before is not None:
        stmt = stmt.where(Contract.start_date <= before.date())
    rows = session.scalars(stmt.order_by(Contract.start_date.desc()).limit(limit))
    entries = []
    for contract in rows:
        at = _start_of(contract.start_date)
        if before is not None and at > before:
            continue
        entries.append(
            TimelineEntry(
                at=at,
                kind="contracts",
                title=N_("Contract {number} starts: {title}"),
                detail=N_("Runs until {end}; status: {status}"),
                key=f"contract:{contract.id:012d}",
                link=f"/sales/contracts/{contract.id}",
                params={
                    "number": contract.number,
                    "title": contract.title,
                    "end": contract.end_date.isoformat(),
                    "status": CONTRACT_STATUS_LABELS.get(contract.status, contract.status),
                },
                labels=frozenset({"status"}),
            )
        )
    return entries


timeline.register("orders", N_("Orders"), _orders_source, resource="orders")
timeline.register(
    "opportunities", N_("Opportunities"), _opportunities_source, resource="opportunities"
)
timeline.register("contracts", N_("Contracts"), _contracts_source, resource="contracts")


# ---------------------------------------------------------------- personal-data export


def _orders_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    orders = session.scalars(
        select(Order).where(Order.customer_id == customer.id).order_by(Order.ordered_at)
    )
    return [
        {
            "number": o.number,
            "ordered_at": o.ordered_at.isoformat(),
            "status": o.status,
            "channel": o.channel,
            "currency": o.currency,
            "total": str(o.total),
            "refunded": str(o.refunded),
            "lines": [
                {
                    "sku": line.sku,
                    "description": line.description,
                    "quantity": str(line.quantity),
                    "unit_price": str(line.unit_price),
                    "discount": str(line.discount),
                }
                for line in o.lines
            ],
        }
        for o in orders
    ]


def _opportunities_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Opportunity)
        .where(Opportunity.customer_id == customer.id)
        .order_by(Opportunity.created_at)
    )
    return [
        {
            "title": o.title,
            "amount": str(o.amount),
            "stage": o.stage.key,
            "created_at": o.created_at.isoformat(),
            "expected_close_date": o.expected_close_date.isoformat()
            if o.expected_close_date
            else None,
        }
        for o in rows
    ]


def _contracts_section(session: Session, customer: Customer) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Contract).where(Contract.customer_id == customer.id).order_by(Contract.start_date)
    )
    return [
        {
            "number": c.number,
            "title": c.title,
            "amount": str(c.amount),
            "start_date": c.start_date.isoformat(),
            "end_date": c.end_date.isoformat(),
            "status": c.status,
        }
        for c in rows
    ]


privacy.register_section("orders", _orders_section)
privacy.register_section("opportunities", _opportunities_section)
privacy.register_section("contracts", _contracts_section)


# ---------------------------------------------------------------- merge


def _mover(model: Any) -> merge.Mover:
    def move(session: Session, from_id: int, to_id: int) -> int:
        values: dict[str, Any] = {"customer_id": to_id}
        if hasattr(model, "version"):
            values |= {"updated_at": utcnow(), "version": model.version + 1}
        result = session.execute(
            update(model)
            .where(model.customer_id == from_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return move


merge.register_mover("opportunities", _mover(Opportunity))
merge.register_mover("orders", _mover(Order))
merge.register_mover("contracts", _mover(Contract))
