"""Value tiers on both engines: cost to serve, VIP count, the key-share boundary, the pyramid."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from guanxi.analytics import inputs, tiers
from guanxi.analytics.engine import Engine
from tests.analytics.conftest import BothEngines

END = dt.date(2024, 3, 1)
RULES = tiers.TierRules(cost_per_order=2.0, cost_per_ticket=5.0, cost_per_contact=1.0)


def summaries(*rows: tuple[int, int, float]) -> pa.Table:
    """(customer, orders, gross margin) as the summary columns the tiers read."""
    customer, orders, margin = zip(*rows, strict=True)
    return pa.table(
        {
            "customer_id": pa.array(customer, pa.int64()),
            "orders": pa.array(orders, pa.int64()),
            "margin": pa.array(margin, pa.float64()),
        }
    )


def at(day: int, month: int = 2) -> dt.datetime:
    return dt.datetime(2024, month, day, 12)


SUMMARY = summaries(
    (1, 5, 60.0), (2, 1, 37.0), (3, 1, 14.0), (4, 2, 14.0), (5, 1, 5.0), (6, 1, 2.0)
)
TICKETS = inputs.conform(
    pa.table(
        {
            "customer_id": [2, 5, 1],
            "ts": [at(3), at(4), at(5, month=3)],  # customer 1's ticket comes after the end
            "kind": ["complaint", "inquiry", "complaint"],
        }
    ),
    inputs.TICKETS,
)
INTERACTIONS = inputs.conform(
    pa.table(
        {
            "customer_id": [3, 3, 3],
            "ts": [at(1), at(2), at(3)],
            "kind": ["marketing", "marketing", "call"],  # the call is not a marketing contact
        }
    ),
    inputs.INTERACTIONS,
)


def tiered(engine: Engine, table: pa.Table = SUMMARY, rules: tiers.TierRules = RULES) -> object:
    return tiers.value_tiers(
        engine.table(table),
        rules=rules,
        tickets=engine.table(TICKETS),
        interactions=engine.table(INTERACTIONS),
        end=END,
    )


def test_cost_to_serve_profit_and_the_key_share_boundary(both: BothEngines) -> None:
    rows = both.run(tiered, sort_by="profit_rank")
    assert [row["customer_id"] for row in rows] == [1, 2, 3, 4, 6, 5]  # 3 and 4 tie: lower id
    assert [row["cost_to_serve"] for row in rows] == [10.0, 7.0, 4.0, 4.0, 2.0, 7.0]
    assert [row["profit"] for row in rows] == [50.0, 30.0, 10.0, 10.0, 0.0, -2.0]
    assert [(row["tickets"], row["marketing_contacts"]) for row in rows] == [
        (0, 0),
        (1, 0),
        (0, 2),
        (0, 0),
        (0, 0),
        (1, 0),
    ]
    assert [row["cumulative_share"] for row in rows] == [0.5, 0.8, 0.9, 1.0, 1.0, 1.0]
    # six customers: 1% is nobody, so one VIP; customer 2 brings the share from 50% to exactly
    # 80% and is key; customer 3 starts at 80% and is ordinary; zero profit is unprofitable
    assert [row["tier"] for row in rows] == [
        "vip",
        "key",
        "ordinary",
        "ordinary",
        "unprofitable",
        "unprofitable",
    ]


def test_the_customer_crossing_the_key_share_is_key(duckdb_engine: Engine) -> None:
    rules = tiers.TierRules(key_cumulative_share=0.79)
    table = summaries((1, 1, 50.0), (2, 1, 30.0), (3, 1, 20.0))
    got = duckdb_engine.to_arrow(tiers.value_tiers(duckdb_engine.table(table), rules=rules))
    assert got.sort_by("profit_rank").column("tier").to_pylist() == ["vip", "key", "ordinary"]
    rules = tiers.TierRules(key_cumulative_share=0.81)
    got = duckdb_engine.to_arrow(tiers.value_tiers(duckdb_engine.table(table), rules=rules))
    assert got.sort_by("profit_rank").column("tier").to_pylist() == ["vip", "key", "key"]


def test_exactly_one_vip_in_a_hundred_and_ties_go_to_the_lower_id(duckdb_engine: Engine) -> None:
    hundred = summaries(*[(i, 1, float(i)) for i in range(1, 101)])
    got = duckdb_engine.to_arrow(tiers.value_tiers(duckdb_engine.table(hundred)))
    vips = [r["customer_id"] for r in got.to_pylist() if r["tier"] == "vip"]
    assert vips == [100]
    more = summaries(*[(i, 1, float(i)) for i in range(1, 201)])
    got = duckdb_engine.to_arrow(tiers.value_tiers(duckdb_engine.table(more)))
    assert sorted(r["customer_id"] for r in got.to_pylist() if r["tier"] == "vip") == [199, 200]
    level = summaries(*[(i, 1, 5.0) for i in range(1, 101)])
    got = duckdb_engine.to_arrow(tiers.value_tiers(duckdb_engine.table(level)))
    assert [r["customer_id"] for r in got.to_pylist() if r["tier"] == "vip"] == [1]


def test_a_lone_profitable_customer_is_the_vip(duckdb_engine: Engine) -> None:
    got = duckdb_engine.to_arrow(tiers.value_tiers(duckdb_engine.table(summaries((7, 1, 9.5)))))
    assert got.to_pylist()[0] == {
        "customer_id": 7,
        "orders": 1,
        "tickets": 0,
        "marketing_contacts": 0,
        "gross_margin": 9.5,
        "cost_to_serve": 0.0,
        "profit": 9.5,
        "profit_rank": 1,
        "cumulative_share": 1.0,
        "tier": "vip",
    }


def test_pyramid_has_every_tier_and_shares_of_positive_profit(both: BothEngines) -> None:
    rows = both.run(lambda engine: tiers.tier_summary(tiered(engine)), sort_by="position")
    assert [row["tier"] for row in rows] == ["vip", "key", "ordinary", "unprofitable"]
    assert [row["customers"] for row in rows] == [1, 1, 2, 2]
    assert [row["profit"] for row in rows] == [50.0, 30.0, 20.0, -2.0]
    assert [row["profit_share"] for row in rows] == [0.5, 0.3, 0.2, -0.02]
    assert [row["customer_share"] for row in rows] == pytest.approx([1 / 6, 1 / 6, 1 / 3, 1 / 3])
    assert rows[3]["cost_to_serve"] == 9.0


def test_when_nobody_is_profitable(both: BothEngines) -> None:
    table = summaries((1, 1, 0.0), (2, 3, 4.0), (3, 1, -8.0))

    def pyramid(engine: Engine) -> object:
        each = tiers.value_tiers(engine.table(table), rules=tiers.TierRules(cost_per_order=2.0))
        return tiers.tier_summary(each).cross_join(
            each.aggregate(
                tiered=each.tier.collect(distinct=True).sort(),
                shares=each.cumulative_share.count(),
            )
        )

    rows = both.run(pyramid, sort_by="position")
    assert rows[0]["tiered"] == ["unprofitable"]
    assert rows[0]["shares"] == 0  # every cumulative share is null
    assert [(row["tier"], row["customers"]) for row in rows] == [
        ("vip", 0),
        ("key", 0),
        ("ordinary", 0),
        ("unprofitable", 3),
    ]
    assert [row["profit_share"] for row in rows] == [None] * 4
    assert rows[3]["profit"] == -14.0  # 0 - 2, 4 - 6 and -8 - 2


def test_rules_are_checked_and_every_tier_has_a_name_and_strategy() -> None:
    for bad in ({"vip_share": 0.0}, {"key_cumulative_share": 1.5}, {"cost_per_ticket": -1.0}):
        with pytest.raises(ValueError):
            tiers.TierRules(**bad)
    assert list(tiers.TIERS) == list(tiers.TIER_STRATEGIES)
    assert tiers.tier_label("vip") == "VIP (deferential)"
