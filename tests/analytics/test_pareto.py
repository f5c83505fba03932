"""Pareto analysis on both engines: the top-x% curve, Gini with losses, the top 20% and who."""

from __future__ import annotations

import pyarrow as pa
import pytest

from guanxi.analytics import pareto
from guanxi.analytics.engine import Engine
from tests.analytics.conftest import BothEngines


def profits(*values: float, first_id: int = 1) -> pa.Table:
    ids = range(first_id, first_id + len(values))
    return pa.table(
        {"customer_id": pa.array(ids, pa.int64()), "profit": pa.array(values, pa.float64())}
    )


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-12)


def test_curve_reads_top_share_of_customers_against_share_of_profit(both: BothEngines) -> None:
    table = profits(10.0, 50.0, 0.0, 30.0, 10.0)
    rows = both.run(lambda engine: pareto.lorenz(engine.table(table)), sort_by="customers")
    assert [row["customers"] for row in rows] == [1, 2, 3, 4, 5]
    assert [row["customer_share"] for row in rows] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert [row["profit"] for row in rows] == [50.0, 80.0, 90.0, 100.0, 100.0]
    assert [row["profit_share"] for row in rows] == [0.5, 0.8, 0.9, 1.0, 1.0]


def test_losses_make_the_curve_a_whale_and_no_profit_leaves_it_undefined(
    duckdb_engine: Engine,
) -> None:
    whale = duckdb_engine.to_arrow(pareto.lorenz(duckdb_engine.table(profits(60.0, 20.0, -20.0))))
    assert whale.column("profit_share").to_pylist() == [1.0, approx(80 / 60), 1.0]
    losses = duckdb_engine.to_arrow(pareto.lorenz(duckdb_engine.table(profits(-5.0, -10.0))))
    assert losses.column("profit_share").to_pylist() == [None, None]


def test_points_thin_the_curve_to_one_per_step(duckdb_engine: Engine) -> None:
    table = duckdb_engine.table(profits(*[float(i) for i in range(1, 251)]))
    curve = duckdb_engine.to_arrow(pareto.lorenz(table, points=100)).sort_by("customers")
    customers = curve.column("customers").to_pylist()
    # 250 customers, 100 steps of 2.5: the customer who crosses each step is the point
    assert len(customers) == 100
    assert customers[:4] == [3, 5, 8, 10]
    assert curve.column("customer_share").to_pylist()[-1] == 1.0
    assert curve.column("profit_share").to_pylist()[-1] == approx(1.0)
    with pytest.raises(ValueError):
        pareto.lorenz(table, points=0)


def test_gini_on_profits_with_and_without_losses(both: BothEngines) -> None:
    plain = profits(10.0, 50.0, 0.0, 30.0, 10.0)
    losses = profits(60.0, 20.0, -20.0, first_id=10)

    def gini_table(engine: Engine) -> object:
        first = pareto.gini_expr(engine.table(plain)).name("plain")
        second = pareto.gini_expr(engine.table(losses)).name("generalised")
        third = pareto.gini_expr(engine.table(losses), negatives="clip").name("clipped")
        return first.as_table().cross_join(second.as_table()).cross_join(third.as_table())

    [row] = both.run(gini_table, sort_by="plain")
    # sum |x_i - x_j| over ordered pairs is 480, mean 20: 480 / (2 * 25 * 20)
    assert row["plain"] == approx(0.48)
    # pairs sum to 320; the absolute values to 100: 320 / (2 * 3 * 100)
    assert row["generalised"] == approx(8 / 15)
    # clipped to (60, 20, 0): 240 / (2 * 3 * 80)
    assert row["clipped"] == approx(0.5)


def test_gini_edge_cases(duckdb_engine: Engine) -> None:
    assert pareto.gini(duckdb_engine.table(profits(-5.0, -10.0))) == approx(1 / 6)
    assert pareto.gini(duckdb_engine.table(profits(42.0))) == 0.0
    assert pareto.gini(duckdb_engine.table(profits(0.0, 0.0))) == 0.0
    assert pareto.gini(duckdb_engine.table(profits(7.0, 7.0, 7.0))) == 0.0
    assert pareto.gini(duckdb_engine.table(profits(0.0, 0.0, 0.0, 100.0))) == approx(0.75)
    with pytest.raises(ValueError):
        pareto.gini(duckdb_engine.table(profits(1.0)), negatives="abs")  # type: ignore[arg-type]


def test_top_share_and_who_the_top_customers_are(both: BothEngines) -> None:
    # 100 customers: 1 brings 100, 2-20 bring 10 each, the other 80 bring 1 each (total 370)
    values = [100.0] + [10.0] * 19 + [1.0] * 80
    table = profits(*values)

    def top(engine: Engine) -> object:
        return pareto.top_customers(engine.table(table), share=0.2)

    rows = both.run(top, sort_by="rank")
    assert [row["customer_id"] for row in rows] == list(range(1, 21))
    assert rows[0]["profit_share"] == approx(100 / 370)
    assert rows[-1]["cumulative_share"] == approx(290 / 370)
    [share] = both.run(
        lambda engine: pareto.top_share_expr(engine.table(table)).name("share").as_table(),
        sort_by="share",
    )
    assert share["share"] == approx(290 / 370)


def test_top_count_is_a_floor_with_at_least_one(duckdb_engine: Engine) -> None:
    hundred = duckdb_engine.table(profits(*[float(i) for i in range(100)]))
    assert pareto.top_share(hundred, share=0.01) == approx(99 / 4950)  # exactly one customer
    assert duckdb_engine.to_arrow(pareto.top_customers(hundred, share=0.29)).num_rows == 29
    small = duckdb_engine.table(profits(10.0, 10.0, 10.0, 5.0, 5.0))
    # 20% of 5 is one customer; of the three tied at 10 the lowest id is the one
    assert duckdb_engine.to_arrow(pareto.top_customers(small)).column(
        "customer_id"
    ).to_pylist() == [1]
    assert pareto.top_share(small) == approx(0.25)
    assert pareto.top_share(duckdb_engine.table(profits(-5.0, -10.0))) is None
    assert pareto.top_share(duckdb_engine.table(profits(60.0, 20.0, -20.0))) == 1.0
    with pytest.raises(ValueError):
        pareto.top_share(small, share=0.0)
