"""The per-customer summary on both engines: purchase days, returns, zero-value orders, units."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from guanxi.analytics import inputs, summary
from tests.analytics.conftest import BothEngines

END = dt.date(2024, 3, 1)


def transactions(*rows: tuple[int, dt.datetime, float, float, str]) -> pa.Table:
    customer, ts, amount, cost, channel = zip(*rows, strict=True)
    return inputs.conform(
        pa.table(
            {
                "customer_id": customer,
                "order_id": range(1, len(rows) + 1),
                "ts": ts,
                "amount": amount,
                "cost": cost,
                "channel": channel,
            }
        ),
        inputs.TRANSACTIONS,
    )


def at(day: int, hour: int = 12, month: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, hour)


def summarise(both: BothEngines, tx: pa.Table, **options: object) -> list[dict[str, object]]:
    return both.run(
        lambda engine: summary.customer_summary(engine.table(tx), end=END, **options),
        sort_by="customer_id",
    )


def test_several_orders_on_one_day_are_one_purchase(both: BothEngines) -> None:
    tx = transactions(
        (1, at(1, 9), 10.0, 4.0, "web"),
        (1, at(1, 18), 5.0, 2.0, "shop"),
        (1, at(9), 20.0, 8.0, "web"),
        (1, at(20), 30.0, 10.0, "web"),
    )
    [row] = summarise(both, tx)
    assert row["orders"] == 4
    assert row["frequency"] == 2  # two purchase days after the first
    assert row["recency"] == 19.0
    assert row["T"] == (END - dt.date(2024, 1, 1)).days
    assert row["monetary_value"] == 25.0  # (20 + 30) / 2: the first day is not a repeat
    assert (row["revenue"], row["cost"], row["margin"]) == (65.0, 24.0, 41.0)
    assert row["channels"] == ["shop", "web"]
    assert row["categories"] is None  # unknown without order lines


def test_single_purchase_customer_has_zero_frequency_and_spend(both: BothEngines) -> None:
    [row] = summarise(both, transactions((7, at(15, month=2), 12.5, 5.0, "web")))
    assert (row["frequency"], row["recency"], row["monetary_value"]) == (0, 0.0, 0.0)
    assert row["T"] == 15.0
    assert row["first_purchase"] == row["last_purchase"] == dt.date(2024, 2, 15)


def test_returns_net_out_and_refunded_days_are_not_purchases(both: BothEngines) -> None:
    tx = transactions(
        (1, at(1), 10.0, 4.0, "web"),
        (1, at(5), 8.0, 3.0, "web"),
        (1, at(5, 20), -8.0, -3.0, "web"),  # returned the same day: no purchase that day
        (1, at(10), -4.0, -1.0, "web"),  # a later refund lowers revenue only
        (2, at(3), 6.0, 2.0, "shop"),
        (2, at(3, 14), -6.0, -2.0, "shop"),  # bought and returned everything: not a buyer
        (3, at(4), 0.0, 1.5, "service"),  # a free replacement is not a purchase either
    )
    [row] = summarise(both, tx)
    assert row["customer_id"] == 1
    assert (row["frequency"], row["recency"]) == (0, 0.0)
    assert (row["revenue"], row["cost"]) == (6.0, 3.0)


def test_weeks_divide_the_day_counts_by_seven(both: BothEngines) -> None:
    tx = transactions((1, at(1), 10.0, 0.0, "web"), (1, at(8), 10.0, 0.0, "web"))
    [row] = summarise(both, tx, unit="week")
    assert row["frequency"] == 1
    assert row["recency"] == pytest.approx(1.0)
    assert row["T"] == pytest.approx((END - dt.date(2024, 1, 1)).days / 7)


def test_purchases_after_the_end_are_ignored(both: BothEngines) -> None:
    tx = transactions(
        (1, at(1), 10.0, 0.0, "web"),
        (1, dt.datetime(2024, 3, 2, 0, 30), 99.0, 0.0, "web"),
        (2, dt.datetime(2024, 3, 5), 10.0, 0.0, "web"),
    )
    [row] = summarise(both, tx)
    assert (row["customer_id"], row["frequency"], row["revenue"]) == (1, 0, 10.0)


def test_unknown_unit_is_refused(duckdb_engine) -> None:
    tx = transactions((1, at(1), 10.0, 0.0, "web"))
    with pytest.raises(ValueError, match="unknown time unit"):
        summary.customer_summary(duckdb_engine.table(tx), end=END, unit="month")  # type: ignore[arg-type]
