"""The touch centre as analysis input (ADBC, SQLite and PostgreSQL): logged interactions and the
web events of known customers reach the engines in the company's time zone, and a product a
customer only viewed gets a weight in the recommendations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from guanxi.analytics import engine as engines
from guanxi.analytics import sources
from guanxi.analytics.recommend.similarity import RecommendRules
from guanxi.analytics.recommend.similarity import interactions as weights_of
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.interactions.models import Interaction, WebEvent
from guanxi.sales.models import Order, OrderLine, Product
from guanxi.schema import upgrade

UTC = dt.UTC


def _view(customer_id: int | None, product_id: int, at: dt.datetime, visitor: str) -> WebEvent:
    return WebEvent(
        kind="product_view",
        occurred_at=at,
        visitor_id=visitor,
        session_id=f"{visitor}-s",
        customer_id=customer_id,
        product_id=product_id,
        dwell_seconds=40,
    )


def test_interactions_and_product_views_reach_the_engines(fresh_database_url: str) -> None:
    db = Database(fresh_database_url)
    upgrade(db)
    with db.unit_of_work() as session:
        buyer = Customer(name="张伟")
        session.add(buyer)
        tea, cup = (
            Product(
                sku=sku, name=name, category="茶", list_price=Decimal("50"), unit_cost=Decimal("20")
            )
            for sku, name in (("T-1", "龙井"), ("C-1", "茶杯"))
        )
        session.add_all([tea, cup])
        session.flush()
        order = Order(
            number="O-1",
            customer_id=buyer.id,
            status="completed",
            ordered_at=dt.datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
            channel="online",
            subtotal=Decimal("50"),
            total=Decimal("50"),
            cost_total=Decimal("20"),
        )
        order.lines = [
            OrderLine(
                line_no=1,
                product_id=tea.id,
                sku="T-1",
                description="龙井",
                quantity=Decimal("1"),
                unit_price=Decimal("50"),
                unit_cost=Decimal("20"),
            )
        ]
        session.add(order)
        session.add_all(
            [
                Interaction(
                    customer_id=buyer.id,
                    channel="wechat",
                    direction="outbound",
                    occurred_at=dt.datetime(2026, 3, 1, 16, 30, tzinfo=UTC),
                    source="follow_up",
                ),
                Interaction(
                    customer_id=buyer.id,
                    channel="phone",
                    direction="inbound",
                    occurred_at=dt.datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
                ),
                _view(buyer.id, cup.id, dt.datetime(2026, 3, 3, 16, 30, tzinfo=UTC), "v-1"),
                _view(None, tea.id, dt.datetime(2026, 3, 3, 5, 0, tzinfo=UTC), "v-anonymous"),
            ]
        )
        buyer_id, tea_id, cup_id = buyer.id, tea.id, cup.id
    try:
        touches = sources.interactions(db.engine, timezone="Asia/Shanghai").to_pylist()
        assert sorted((t["ts"], t["channel"], t["direction"], t["kind"]) for t in touches) == [
            # 16:30 UTC is half past midnight the next day in Shanghai
            (dt.datetime(2026, 3, 2, 0, 30), "wechat", "outbound", "follow_up"),
            (dt.datetime(2026, 3, 2, 11, 0), "phone", "inbound", "manual"),
        ]
        events = sources.web_events(db.engine, timezone="Asia/Shanghai")
        # the anonymous visitor's view is not anybody's until the visitor is linked
        assert events.to_pylist() == [
            {
                "customer_id": buyer_id,
                "ts": dt.datetime(2026, 3, 4, 0, 30),
                "product_id": cup_id,
                "kind": "product_view",
                "dwell_seconds": 40.0,
            }
        ]
        lines = sources.lines(db.engine, timezone="Asia/Shanghai")
        with engines.opened("duckdb") as duck:
            weights = duck.to_arrow(
                weights_of(
                    duck.table(lines),
                    duck.table(events),
                    end=dt.date(2026, 3, 10),
                    rules=RecommendRules(),
                )
            ).to_pylist()
        by_product = {w["product_id"]: w for w in weights}
        assert by_product[tea_id]["purchases"] == 1
        assert by_product[cup_id]["purchases"] == 0 and by_product[cup_id]["weight"] > 0
        assert by_product[cup_id]["weight"] < by_product[tea_id]["weight"]
    finally:
        db.dispose()
