"""The demo company's sales data (issue 4 item 8): orders whose money is exactly what the order
rules give, histories that thin out, big accounts and loss-makers, a pipeline whose history
follows the stage-change rules, and contracts that expire soon. Built once per store."""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi import demo
from guanxi.audit import tracking
from guanxi.audit.models import AuditEntry
from guanxi.audit.tracking import AuditActor
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.sales.contracts.status import calendar_status
from guanxi.sales.labels import OPPORTUNITY_SOURCE_LABELS
from guanxi.sales.models import (
    Contract,
    Invoice,
    Opportunity,
    OpportunityStageChange,
    Order,
    OrderLine,
    OrderReturn,
    OrderReturnLine,
    PipelineStage,
    Product,
    Shipment,
    ShipmentLine,
)
from guanxi.sales.orders import money

ZERO = Decimal("0.00")


@dataclass
class Built:
    session: Session
    company: demo.DemoCompany
    now: datetime
    seconds: float

    @property
    def today(self) -> date:
        return (self.now + timedelta(hours=8)).date()


@pytest.fixture(scope="module")
def built(database: Database) -> Iterator[Built]:
    """The small demo company, built once per store inside a transaction rolled back after."""
    with database.engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        tracking.set_actor(session, AuditActor(None, "test"))
        started = time.perf_counter()
        company = demo.create(session, seed=11, size=demo.DemoSize.small)
        seconds = time.perf_counter() - started
        print(f"\nsmall demo on {database.engine.dialect.name}: {seconds:.1f} s")
        yield Built(session, company, company.extra["sales_now"], seconds)
        session.close()
        outer.rollback()


def test_catalogue_has_margins_inactive_items_and_external_ids(built: Built) -> None:
    products = built.session.scalars(select(Product)).all()
    assert 55 <= len(products) <= 70
    assert 2 <= sum(not p.is_active for p in products) <= 3
    assert sum(p.external_id is not None for p in products) >= 10
    margins = [(p.list_price - p.unit_cost) / p.list_price for p in products]
    assert all(Decimal("0.10") <= m <= Decimal("0.60") for m in margins)
    assert sum(m < Decimal("0.15") for m in margins) >= 3  # thin-margin goods
    assert len({p.category for p in products}) >= 8


def test_every_order_adds_up_by_the_money_rules(built: Built) -> None:
    s = built.session
    orders = {o.id: o for o in s.scalars(select(Order))}
    assert 2_000 <= len(orders) <= 15_000
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in s.scalars(select(OrderLine).order_by(OrderLine.order_id, OrderLine.line_no)):
        lines[line.order_id].append(line)
    invoiced: Counter[int] = Counter()
    for order_id, amount in s.execute(select(Invoice.order_id, Invoice.amount)):
        invoiced[order_id] += amount
    shipped: Counter[int] = Counter()
    for line_id, quantity in s.execute(select(ShipmentLine.order_line_id, ShipmentLine.quantity)):
        shipped[line_id] += quantity
    returned: Counter[int] = Counter()
    refunds: Counter[int] = Counter()
    for line_id, quantity, refund in s.execute(
        select(OrderReturnLine.order_line_id, OrderReturnLine.quantity, OrderReturnLine.refund)
    ):
        returned[line_id] += quantity
        refunds[line_id] += refund
    statuses: Counter[str] = Counter()
    for order in orders.values():
        statuses[order.status] += 1
        assert re.fullmatch(r"SO-\d{8}-\d{6,}", order.number)
        assert 1 <= len(lines[order.id]) <= 5
        amounts = [
            money.line_amounts(line.quantity, line.unit_price, line.unit_cost, line.discount)
            for line in lines[order.id]
        ]
        totals = money.order_totals(amounts)
        assert (order.subtotal, order.discount_total, order.total) == (
            totals.subtotal,
            totals.discount_total,
            totals.total,
        )
        assert order.invoiced_total == invoiced[order.id]
        for line in lines[order.id]:
            assert line.shipped_quantity == shipped[line.id]
            assert line.returned_quantity == returned[line.id] <= line.shipped_quantity
        if order.status == "cancelled":
            assert order.refunded == order.total and order.cost_total == ZERO
            assert order.cancelled_at is not None and order.invoiced_total == ZERO
            assert all(line.shipped_quantity == 0 for line in lines[order.id])
            continue
        cost_back = sum(
            (
                money.return_amounts(
                    line.quantity,
                    amount.net,
                    line.unit_cost,
                    already_returned=Decimal(0),
                    returned=returned[line.id],
                )[1]
                for line, amount in zip(lines[order.id], amounts, strict=True)
            ),
            ZERO,
        )
        assert order.cost_total == totals.cost_total - cost_back
        assert order.refunded == sum((refunds[line.id] for line in lines[order.id]), ZERO)
        fully_shipped = all(line.shipped_quantity == line.quantity for line in lines[order.id])
        if order.status == "returned":
            assert order.refunded == order.total and order.cost_total == ZERO
            assert all(line.returned_quantity == line.quantity for line in lines[order.id])
        elif order.status == "completed":
            assert fully_shipped and order.completed_at is not None
            assert order.invoiced_total == order.total - order.refunded
        elif order.status == "shipped":
            assert fully_shipped and order.invoiced_total < order.total
        elif order.status == "invoiced":
            assert not fully_shipped and order.invoiced_total == order.total
        elif order.status == "confirmed":
            assert not fully_shipped and order.invoiced_total < order.total
        else:
            assert order.status == "draft"
            assert order.confirmed_at is None and order.invoiced_total == ZERO
        assert order.ordered_at <= built.now
    count = len(orders)
    assert 0.01 <= statuses["cancelled"] / count <= 0.04
    assert statuses["draft"] >= 1 and statuses["confirmed"] + statuses["invoiced"] >= 1
    partly_returned = s.scalar(
        select(func.count(func.distinct(OrderReturn.order_id))).where(
            OrderReturn.order_id.in_(select(Order.id).where(Order.status == "completed"))
        )
    )
    assert 0.01 <= (partly_returned or 0) / count <= 0.05
    assert statuses["returned"] >= 1
    partial_shipments = s.scalar(
        select(func.count())
        .select_from(Order)
        .where(
            Order.status.in_(("confirmed", "invoiced")),
            Order.id.in_(select(Shipment.order_id)),
        )
    )
    assert partial_shipments
    numbers = [*s.scalars(select(Invoice.number)), *s.scalars(select(Shipment.number))]
    assert len(numbers) == len(set(numbers))


def _by_customer(built: Built) -> dict[int, list[tuple[datetime, Decimal, Decimal]]]:
    history: dict[int, list[tuple[datetime, Decimal, Decimal]]] = defaultdict(list)
    rows = built.session.execute(
        select(Order.customer_id, Order.ordered_at, Order.total - Order.refunded, Order.cost_total)
        .where(Order.status != "cancelled")
        .order_by(Order.ordered_at)
    )
    for customer_id, at, net, cost in rows:
        history[customer_id].append((at, net, cost))
    return history


def test_histories_thin_out_with_big_accounts_and_loss_makers(built: Built) -> None:
    history = _by_customer(built)
    customers = built.session.scalar(select(func.count()).select_from(Customer)) or 0
    assert len(history) < customers * 0.95  # some never buy
    # repeat buyers of two years' standing bought more in their first year than in their second
    veterans = [
        orders
        for orders in history.values()
        if len(orders) >= 2 and built.now - orders[0][0] > timedelta(days=730)
    ]
    assert len(veterans) >= 50
    thinning = 0
    for orders in veterans:
        first = orders[0][0]
        year1 = sum(at - first < timedelta(days=365) for at, _, _ in orders)
        year2 = sum(timedelta(days=365) <= at - first < timedelta(days=730) for at, _, _ in orders)
        thinning += year1 > year2
    assert thinning > len(veterans) / 2
    # some fell silent for good: nothing in the last year after buying before
    silent = sum(built.now - orders[-1][0] > timedelta(days=365) for orders in history.values())
    assert silent > len(history) * 0.1
    revenue = sorted((sum(n for _, n, _ in o) for o in history.values()), reverse=True)
    top = revenue[: max(1, customers // 100)]
    assert sum(top) / sum(revenue) > Decimal("0.25")
    losing = [o for o in history.values() if sum(n - c for _, n, c in o) <= 0]
    assert len(losing) >= 5


def test_orders_belong_to_the_customers_owner_at_shanghai_business_hours(built: Built) -> None:
    rows = built.session.execute(
        select(Order.owner_id, Order.team_id, Customer.owner_id, Customer.team_id, Order.ordered_at)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.channel == "store")
    ).all()
    assert rows
    assert all(r[0] == r[2] and r[1] == r[3] for r in rows)
    hours = Counter((r[4] + timedelta(hours=8)).hour for r in rows)
    assert set(hours) <= set(range(10, 22))


def test_opportunities_follow_the_pipeline_rules(built: Built) -> None:
    s = built.session
    stages = {stage.id: stage for stage in s.scalars(select(PipelineStage))}
    last_open = max(st.position for st in stages.values() if st.outcome == "open")
    opportunities = s.scalars(select(Opportunity)).all()
    in_stage = Counter(o.stage_id for o in opportunities)
    assert all(in_stage[st.id] >= 1 for st in stages.values() if st.is_active)
    history: dict[int, list[OpportunityStageChange]] = defaultdict(list)
    for change in s.scalars(
        select(OpportunityStageChange).order_by(
            OpportunityStageChange.opportunity_id, OpportunityStageChange.changed_at
        )
    ):
        history[change.opportunity_id].append(change)
    owners = {row[0]: row[1] for row in s.execute(select(Customer.id, Customer.owner_id))}
    for o in opportunities:
        rows = history[o.id]
        assert rows[0].from_stage_id is None and rows[0].from_stage_entered_at is None
        assert rows[0].changed_at == o.created_at
        for before, after in pairwise(rows):
            assert after.from_stage_id == before.to_stage_id
            assert after.from_stage_entered_at == before.changed_at < after.changed_at
        assert rows[-1].to_stage_id == o.stage_id
        assert o.stage_changed_at == rows[-1].changed_at <= built.now
        stage = stages[o.stage_id]
        reached = [stages[r.to_stage_id] for r in rows]
        open_reached = max(st.position for st in reached if st.outcome == "open")
        assert o.furthest_stage_position == (last_open if stage.outcome == "won" else open_reached)
        assert o.probability == stage.probability
        assert o.source in OPPORTUNITY_SOURCE_LABELS
        assert o.owner_id == owners[o.customer_id] and o.amount > 0 and o.product_id
        if stage.outcome == "open":
            assert o.closed_at is None and o.expected_close_date is not None
            assert built.today < o.expected_close_date <= built.today + timedelta(days=183)
        else:
            assert o.closed_at == rows[-1].changed_at
        assert bool(o.lost_reason) == (stage.outcome == "lost")
        assert built.now - o.created_at <= timedelta(days=366)
    recent = [o for o in opportunities if built.now - o.created_at <= timedelta(days=90)]
    assert len(recent) >= 10
    linked = s.execute(
        select(Order.total, Opportunity.amount, PipelineStage.outcome)
        .join(Opportunity, Opportunity.id == Order.opportunity_id)
        .join(PipelineStage, PipelineStage.id == Opportunity.stage_id)
    ).all()
    assert linked and all(total == amount and outcome == "won" for total, amount, outcome in linked)


def test_contracts_follow_their_dates_and_some_expire_soon(built: Built) -> None:
    s = built.session
    today = built.today
    contracts = {c.id: c for c in s.scalars(select(Contract))}
    owners = {row[0]: row[1] for row in s.execute(select(Customer.id, Customer.owner_id))}
    statuses = Counter(c.status for c in contracts.values())
    assert {"active", "expiring", "expired", "renewed", "terminated"} <= set(statuses)
    for c in contracts.values():
        assert re.fullmatch(r"HT-\d{4}-\d{6}", c.number)
        assert c.owner_id == owners[c.customer_id]
        assert 360 <= (c.end_date - c.start_date).days <= 731
        if c.status in {"active", "expiring", "expired"}:
            assert c.status == calendar_status(c.end_date, today, c.warning_days or 30)
            assert c.signed_on is not None and c.signed_on <= today
        if c.renewed_from_id is not None:
            old = contracts[c.renewed_from_id]
            assert old.status == "renewed" and old.customer_id == c.customer_id
            assert c.start_date == old.end_date + timedelta(days=1)
        if c.status == "terminated":
            assert c.terminated_on is not None and c.termination_reason
    renewed_from = {c.renewed_from_id for c in contracts.values()}
    assert all(c.id in renewed_from for c in contracts.values() if c.status == "renewed")
    running = [c for c in contracts.values() if c.status in {"active", "expiring"}]
    for days in (30, 60, 90):
        ending = [c for c in running if today <= c.end_date <= today + timedelta(days=days)]
        assert len(ending) >= 3 * days // 30


def test_bulk_rows_are_audited_in_batches(built: Built) -> None:
    """One audit entry per bulk batch (the build time is printed by the fixture, not asserted:
    it depends on the machine)."""
    entries = built.session.execute(
        select(AuditEntry.entity_type, func.count())
        .where(AuditEntry.action == "demo.create")
        .group_by(AuditEntry.entity_type)
    ).all()
    counts: dict[str, int] = {entity: count for entity, count in entries}
    assert counts.get("order", 0) >= 1 and counts.get("opportunity") == 1
    assert counts.get("contract") == 1
