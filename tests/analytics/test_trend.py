"""Spend trend on both engines: window edges, returns, new and lapsed customers."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from guanxi.analytics import inputs, trend
from tests.analytics.conftest import BothEngines

END = dt.date(2024, 12, 31)


def transactions(*rows: tuple[int, dt.date, float]) -> pa.Table:
    customer, day, amount = zip(*rows, strict=True)
    return inputs.conform(
        pa.table(
            {
                "customer_id": customer,
                "order_id": range(1, len(rows) + 1),
                "ts": [dt.datetime.combine(d, dt.time(15, 30)) for d in day],
                "amount": amount,
                "cost": [0.0] * len(rows),
                "channel": ["web"] * len(rows),
            }
        ),
        inputs.TRANSACTIONS,
    )


def before(days: int) -> dt.date:
    return END - dt.timedelta(days=days)


def test_windows_edges_returns_and_new_customers(both: BothEngines) -> None:
    tx = transactions(
        # 1: steady spender, one purchase exactly on each window's first and last day
        (1, before(99), 50.0),  # first day of the recent window (end - 100, end]
        (1, before(100), 50.0),  # last day of the previous window
        (1, before(199), 30.0),  # first day of the previous window
        (1, before(200), 1000.0),  # before both windows: only counts for days_since_last history
        # 2: spent before, nothing since: trend -1
        (2, before(150), 80.0),
        # 3: new customer: only recent spend, trend +1 even though previous is 0
        (3, before(0), 20.0),
        (3, before(0), 5.0),  # same day: one purchase day
        # 4: halved, with a refund in the recent window that lowers recent revenue
        (4, before(150), 100.0),
        (4, before(50), 60.0),
        (4, before(40), -10.0),
        # 5: bought and returned everything: not a buyer
        (5, before(10), 40.0),
        (5, before(10), -40.0),
        # 6: purchase after the end is ignored
        (6, before(20), 10.0),
        (6, END + dt.timedelta(days=1), 500.0),
    )
    rows = both.run(
        lambda engine: trend.spend_trend(engine.table(tx), end=END, window_days=100),
        sort_by="customer_id",
    )
    by_id = {row["customer_id"]: row for row in rows}
    assert set(by_id) == {1, 2, 3, 4, 6}
    assert list(rows[0]) == list(trend.TREND_COLUMNS)
    one = by_id[1]
    assert (one["recent_revenue"], one["previous_revenue"]) == (50.0, 80.0)
    assert (one["recent_days"], one["previous_days"]) == (1, 2)
    assert one["trend"] == pytest.approx(-30 / 130)
    assert one["days_since_last"] == 99
    assert by_id[2]["trend"] == -1.0
    assert (by_id[2]["recent_days"], by_id[2]["days_since_last"]) == (0, 150)
    three = by_id[3]
    assert (three["recent_revenue"], three["recent_days"], three["trend"]) == (25.0, 1, 1.0)
    assert three["days_since_last"] == 0
    four = by_id[4]
    assert (four["recent_revenue"], four["recent_days"]) == (50.0, 1)  # the refund is no purchase
    assert four["trend"] == pytest.approx(-1 / 3)  # halved
    assert (by_id[6]["recent_revenue"], by_id[6]["trend"]) == (10.0, 1.0)


def test_no_spend_in_either_window_is_steady(duckdb_engine) -> None:
    tx = transactions((1, before(400), 10.0))
    [row] = duckdb_engine.to_arrow(
        trend.spend_trend(duckdb_engine.table(tx), end=END, window_days=30)
    ).to_pylist()
    assert (row["trend"], row["recent_days"], row["previous_days"]) == (0.0, 0, 0)
    assert row["days_since_last"] == 400


def test_window_must_be_positive(duckdb_engine) -> None:
    tx = transactions((1, before(1), 10.0))
    with pytest.raises(ValueError, match="window_days"):
        trend.spend_trend(duckdb_engine.table(tx), end=END, window_days=0)
