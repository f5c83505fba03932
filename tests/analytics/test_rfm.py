"""RFM scores on both engines: rank quintiles with ties sharing a score, codes, named segments."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from guanxi.analytics import inputs, rfm, summary
from guanxi.analytics.engine import Engine
from tests.analytics.conftest import BothEngines

END = dt.date(2024, 3, 1)


def summaries(*rows: tuple[int, int, int, float]) -> pa.Table:
    """(customer, days since last purchase, purchase days, revenue) as summary columns."""
    customer, days, purchases, revenue = zip(*rows, strict=True)
    return pa.table(
        {
            "customer_id": pa.array(customer, pa.int64()),
            "last_purchase": [END - dt.timedelta(days=d) for d in days],
            "frequency": pa.array([p - 1 for p in purchases], pa.int64()),
            "revenue": pa.array(revenue, pa.float64()),
        }
    )


def scores(engine: Engine, table: pa.Table) -> object:
    return rfm.rfm_scores(engine.table(table), end=END)


def test_ties_at_a_quintile_edge_share_the_lower_score(both: BothEngines) -> None:
    table = summaries(
        (1, 0, 5, 40.0),
        (2, 3, 1, 20.0),
        (3, 3, 1, 20.0),  # tied with 2 on every measure: the same scores
        (4, 10, 2, 30.0),
        (5, 40, 1, 10.0),
    )
    rows = both.run(lambda engine: scores(engine, table), sort_by="customer_id")
    got = {row["customer_id"]: (row["rfm_code"], row["fm_score"], row["segment"]) for row in rows}
    assert got == {
        1: ("555", 5, "champions"),
        # two customers tie on 3 days: two customers are worse (10 and 40 days) -> 1 + 10 // 5
        2: ("312", 2, "about_to_sleep"),
        3: ("312", 2, "about_to_sleep"),
        # frequency 1 is shared by three customers, so 2 purchase days beat three -> 1 + 15 // 5
        4: ("244", 4, "at_risk"),
        5: ("111", 1, "lost"),
    }
    assert [row["recency_days"] for row in rows] == [0, 3, 3, 10, 40]
    assert [row["frequency"] for row in rows] == [5, 1, 1, 2, 1]
    assert [row["monetary"] for row in rows] == [40.0, 20.0, 20.0, 30.0, 10.0]


def test_a_lone_customer_beats_nobody(both: BothEngines) -> None:
    table = summaries((9, 1, 3, 100.0))
    [row] = both.run(lambda engine: scores(engine, table), sort_by="customer_id")
    assert (row["r_score"], row["f_score"], row["m_score"], row["rfm_code"]) == (1, 1, 1, "111")
    assert row["segment"] == "lost"


def test_ten_distinct_customers_fill_each_quintile_twice(duckdb_engine: Engine) -> None:
    table = summaries(*[(i, 10 - i, i, float(i)) for i in range(1, 11)])
    rows = duckdb_engine.to_arrow(scores(duckdb_engine, table)).sort_by("customer_id").to_pylist()
    expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [row["m_score"] for row in rows] == expected
    assert [row["f_score"] for row in rows] == expected
    assert [row["r_score"] for row in rows] == expected  # customer 10 bought most recently
    assert [row["segment"] for row in rows] == [
        "lost",
        "lost",
        "hibernating",
        "hibernating",
        "need_attention",
        "need_attention",
        "loyal",
        "loyal",
        "champions",
        "champions",
    ]


def test_scores_come_from_the_purchase_summary(both: BothEngines) -> None:
    tx = inputs.conform(
        pa.table(
            {
                "customer_id": [1, 1, 1, 2],
                "order_id": [1, 2, 3, 4],
                "ts": [
                    dt.datetime(2024, 1, 5, 9),
                    dt.datetime(2024, 1, 5, 17),  # same day: one purchase day
                    dt.datetime(2024, 2, 20, 12),
                    dt.datetime(2024, 1, 10, 12),
                ],
                "amount": [10.0, 15.0, 30.0, 200.0],
                "cost": [5.0, 5.0, 10.0, 50.0],
                "channel": ["web", "web", "shop", "web"],
            }
        ),
        inputs.TRANSACTIONS,
    )
    rows = both.run(
        lambda engine: rfm.rfm_scores(summary.customer_summary(engine.table(tx), end=END), end=END),
        sort_by="customer_id",
    )
    assert [(r["recency_days"], r["frequency"], r["monetary"]) for r in rows] == [
        (10, 2, 55.0),
        (51, 1, 200.0),
    ]
    # two customers: the better one on a measure scores 1 + 5 // 2 = 3, the other 1
    assert [r["rfm_code"] for r in rows] == ["331", "113"]
    assert [r["segment"] for r in rows] == ["about_to_sleep", "lost"]


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 1, 1, "new"),
        (5, 4, 5, "champions"),  # FM = 4.5, rounded up to 5
        (4, 1, 1, "promising"),
        (4, 1, 4, "potential_loyalists"),  # FM = 2.5 -> 3
        (3, 3, 3, "need_attention"),
        (3, 1, 2, "about_to_sleep"),
        (2, 5, 5, "cannot_lose"),
        (1, 3, 4, "at_risk"),
        (2, 2, 1, "hibernating"),
        (1, 2, 2, "lost"),
    ],
)
def test_segment_grid(r: int, f: int, m: int, segment: str) -> None:
    assert rfm.segment_of(r, (f + m + 1) // 2) == segment


def test_every_segment_is_on_the_grid_and_named() -> None:
    on_grid = {key for row in rfm.SEGMENT_GRID.values() for key in row}
    assert on_grid == set(rfm.SEGMENTS) == set(rfm.SEGMENT_ACTIONS)
    assert rfm.segment_label("cannot_lose") == "Cannot lose them"
    with pytest.raises(KeyError):
        rfm.segment_label("unknown")
