"""Acquisition cohorts on both engines: month boundaries, returns, late joiners, empty months."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from guanxi.analytics import cohorts, inputs
from guanxi.analytics.engine import Engine
from tests.analytics.conftest import BothEngines


def transactions(*rows: tuple[int, dt.datetime, float]) -> pa.Table:
    customer, ts, amount = zip(*rows, strict=True)
    return inputs.conform(
        pa.table(
            {
                "customer_id": customer,
                "order_id": range(1, len(rows) + 1),
                "ts": ts,
                "amount": amount,
                "cost": [0.0] * len(rows),
                "channel": ["web"] * len(rows),
            }
        ),
        inputs.TRANSACTIONS,
    )


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2024, month, day, hour)


def cells(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [
        (
            row["cohort_month"],
            row["months_since"],
            row["cohort_size"],
            row["customers"],
            row["retention"],
            row["revenue"],
            row["revenue_per_customer"],
        )
        for row in rows
    ]


def test_retention_and_revenue_by_acquisition_month(both: BothEngines) -> None:
    tx = transactions(
        (1, at(1, 31, 23), 10.0),  # the last hour of January: a January customer
        (1, at(2, 1, 0), 20.0),  # the first hour of February: month 1
        (1, at(3, 10), 5.0),
        (2, at(1, 5), 30.0),
        (2, at(1, 5, 18), -30.0),  # returned the same day: not yet a customer
        (2, at(1, 20), 40.0),
        (2, at(2, 10), -15.0),  # a later refund: revenue, but not activity
        (3, at(2, 29), 50.0),  # leap day
        (4, at(2, 15), 0.0),  # a free sample before the first purchase belongs to no month
        (4, at(3, 1, 0), 25.0),  # first buys in a later month: the March cohort
        (4, at(3, 20), 99.0),  # after the end
        (5, at(1, 8), 12.0),
        (5, at(1, 8, 13), -12.0),  # never kept anything: in no cohort
    )
    rows = both.run(
        lambda engine: cohorts.cohort_matrices(engine.table(tx), end=dt.date(2024, 3, 15)),
        sort_by=["cohort_month", "months_since"],
    )
    jan, feb, mar = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)
    assert cells(rows) == [
        (jan, 0, 2, 2, 1.0, 50.0, 25.0),
        (jan, 1, 2, 1, 0.5, 5.0, 2.5),  # 20 from customer 1, -15 from customer 2
        (jan, 2, 2, 1, 0.5, 5.0, 2.5),
        (feb, 0, 1, 1, 1.0, 50.0, 50.0),
        (feb, 1, 1, 0, 0.0, 0.0, 0.0),
        (mar, 0, 1, 1, 1.0, 25.0, 25.0),
    ]


def test_everyone_in_one_cohort_with_silent_months(both: BothEngines) -> None:
    tx = transactions(
        (1, at(1, 10), 10.0),
        (2, at(1, 20), 20.0),
        (2, at(1, 25), 5.0),
        (1, at(4, 2), 8.0),
    )
    rows = both.run(
        lambda engine: cohorts.cohort_matrices(engine.table(tx), end=dt.date(2024, 4, 30)),
        sort_by=["cohort_month", "months_since"],
    )
    jan = dt.date(2024, 1, 1)
    assert cells(rows) == [
        (jan, 0, 2, 2, 1.0, 35.0, 17.5),
        (jan, 1, 2, 0, 0.0, 0.0, 0.0),
        (jan, 2, 2, 0, 0.0, 0.0, 0.0),
        (jan, 3, 2, 1, 0.5, 8.0, 4.0),
    ]


def test_cohorts_across_a_year_end(duckdb_engine: Engine) -> None:
    tx = transactions((1, dt.datetime(2023, 12, 31, 23, 59), 10.0), (1, at(1, 1, 0), 10.0))
    rows = duckdb_engine.to_arrow(
        cohorts.cohort_matrices(duckdb_engine.table(tx), end=dt.date(2024, 1, 1))
    ).to_pylist()
    rows.sort(key=lambda row: row["months_since"])
    assert [(r["cohort_month"], r["months_since"], r["customers"]) for r in rows] == [
        (dt.date(2023, 12, 1), 0, 1),
        (dt.date(2023, 12, 1), 1, 1),
    ]
