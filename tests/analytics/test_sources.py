"""The store as analysis input (ADBC, SQLite and PostgreSQL): which orders count, money net of
refunds, lines net of returns, purchase days in the company's time zone, the pipeline history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from guanxi.analytics import engine as engines
from guanxi.analytics import funnel, sources
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.sales.models import Order, OrderLine, PipelineStage, Product
from guanxi.schema import upgrade

UTC = dt.UTC


def _order(number: str, customer: int, status: str, at: dt.datetime, **money: Decimal) -> Order:
    values = {"total": Decimal("100"), "refunded": Decimal("0"), "cost_total": Decimal("40")}
    values.update(money)
    return Order(
        number=number,
        customer_id=customer,
        status=status,
        ordered_at=at,
        channel="online",
        subtotal=values["total"],
        **values,
    )


def test_orders_lines_and_stages_reach_the_engines(fresh_database_url: str) -> None:
    db = Database(fresh_database_url)
    upgrade(db)
    with db.unit_of_work() as session:
        buyer = Customer(name="张伟")
        session.add(buyer)
        tea = Product(
            sku="T-1",
            name="龙井",
            category="茶叶",
            list_price=Decimal("50"),
            unit_cost=Decimal("20"),
        )
        session.add(tea)
        session.flush()
        late = _order(
            "O-1",
            buyer.id,
            "completed",
            dt.datetime(2026, 3, 1, 16, 30, tzinfo=UTC),
            refunded=Decimal("25"),
            cost_total=Decimal("30"),
        )
        late.lines = [
            OrderLine(
                line_no=1,
                product_id=tea.id,
                sku="T-1",
                description="龙井",
                quantity=Decimal("2"),
                unit_price=Decimal("50"),
                unit_cost=Decimal("20"),
                returned_quantity=Decimal("1"),
            )
        ]
        session.add_all(
            [
                late,
                _order("O-2", buyer.id, "draft", dt.datetime(2026, 3, 2, tzinfo=UTC)),
                _order("O-3", buyer.id, "cancelled", dt.datetime(2026, 3, 3, tzinfo=UTC)),
            ]
        )
    try:
        [row] = sources.transactions(db.engine, timezone="Asia/Shanghai").to_pylist()
        # 16:30 UTC is half past midnight in Shanghai: the purchase belongs to 2 March there
        assert row["ts"] == dt.datetime(2026, 3, 2, 0, 30)
        assert (row["amount"], row["cost"], row["channel"]) == (75.0, 30.0, "online")
        [line] = sources.lines(db.engine, timezone="Asia/Shanghai").to_pylist()
        assert (line["quantity"], line["amount"], line["category"]) == (1.0, 50.0, "茶叶")
        only = sources.transactions(
            db.engine, timezone="UTC", customer_ids=select(Customer.id).where(Customer.id < 0)
        )
        assert only.num_rows == 0
        stages = sources.stages(db.engine)
        with db.sessions() as session:
            assert stages.num_rows == len(session.scalars(select(PipelineStage)).all())
        changes = sources.stage_changes(db.engine, timezone="Asia/Shanghai")
        with engines.opened("duckdb") as duck:
            conversion = duck.to_arrow(
                funnel.stage_conversion(duck.table(changes), duck.table(stages))
            )
        assert conversion.num_rows >= 1  # every open stage, even with no opportunity yet
    finally:
        db.dispose()
