"""Recommendations on both engines with hand-computed answers: decayed weights, cosine
similarities, owned products excluded, viewed products kept, ties, customers without history."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pyarrow as pa
import pytest

from guanxi.analytics import engine as engines
from guanxi.analytics import inputs
from guanxi.analytics.recommend import (
    RecommendRules,
    interactions,
    item_similarity,
    popular_products,
    recommend_for_customers,
    recommend_popular,
    similar_customers,
)
from tests.analytics.conftest import BothEngines

END = dt.date(2024, 3, 1)
# a half-life of 10 days makes the decay of a purchase 0, 10 and 20 days old 1, 1/2 and 1/4
TEN_DAYS = RecommendRules(half_life_days=10.0, view_weight=0.2)


def ago(days: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(END - dt.timedelta(days=days), dt.time(hour))


def lines(*rows: tuple[int, int, dt.datetime] | tuple[int, int, dt.datetime, float]) -> pa.Table:
    """Order lines (customer, product, ts[, quantity]), one order per line."""
    full = [row if len(row) == 4 else (*row, 1.0) for row in rows]
    customer, product, ts, quantity = zip(*full, strict=True)
    return inputs.conform(
        pa.table(
            {
                "customer_id": customer,
                "order_id": range(1, len(rows) + 1),
                "ts": ts,
                "product_id": product,
                "category": [f"c{p}" for p in product],
                "quantity": quantity,
                "amount": [10.0 * q for q in quantity],
            }
        ),
        inputs.LINES,
    )


def events(*rows: tuple[int, int, dt.datetime, str]) -> pa.Table:
    customer, product, ts, kind = zip(*rows, strict=True)
    return inputs.conform(
        pa.table(
            {
                "customer_id": customer,
                "ts": ts,
                "product_id": product,
                "kind": kind,
                "dwell_seconds": [30.0] * len(rows),
            }
        ),
        inputs.EVENTS,
    )


def weights(
    vectors: dict[int, dict[int, float]], viewed: frozenset[tuple[int, int]] = frozenset()
) -> pa.Table:
    """A weights table as ``interactions`` returns it, from {customer: {product: weight}};
    (customer, product) pairs in ``viewed`` were only viewed."""
    rows = [
        (customer, product, weight, 0 if (customer, product) in viewed else 1)
        for customer, items in vectors.items()
        for product, weight in items.items()
    ]
    customer, product, weight, bought = zip(*rows, strict=True)
    return pa.table(
        {
            "customer_id": pa.array(customer, pa.int64()),
            "product_id": pa.array(product, pa.int64()),
            "weight": pa.array(weight, pa.float64()),
            "purchases": pa.array(bought, pa.int64()),
            "last_ts": pa.array([ago(0)] * len(rows), inputs.TIMESTAMP),
        }
    )


def pairs(rows: list[dict[str, Any]], key: str, other: str) -> dict[int, list[tuple[int, float]]]:
    grouped: dict[int, list[tuple[int, float]]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append((row[other], row["similarity"]))
    return grouped


def test_weights_decay_by_half_life_and_views_count_a_fifth(both: BothEngines) -> None:
    bought = lines(
        (1, 1, ago(0)),
        (1, 1, ago(10)),  # the same product again, ten days earlier: 1 + 1/2
        (1, 2, ago(20)),  # 1/4, plus a view on the end day: 1/4 + 0.2
        (1, 3, ago(-1)),  # after the end: not yet
        (1, 4, ago(5), 0.0),  # returned in full: no purchase
        (2, 2, ago(10, hour=23)),
    )
    views = events(
        (1, 2, ago(0, hour=20), "product_view"),
        (1, 5, ago(10), "product_view"),  # viewed, never bought: 0.2 * 1/2
        (1, 6, ago(0), "page_view"),  # not a product view
        (3, 1, ago(20), "product_view"),  # a customer who only browsed
    )
    rows = both.run(
        lambda engine: interactions(
            engine.table(bought), engine.table(views), end=END, rules=TEN_DAYS
        ),
        sort_by=["customer_id", "product_id"],
    )
    got = {(r["customer_id"], r["product_id"]): (r["weight"], r["purchases"]) for r in rows}
    assert got == {
        (1, 1): (1.5, 2),
        (1, 2): (pytest.approx(0.45), 1),
        (1, 5): (pytest.approx(0.1), 0),
        (2, 2): (0.5, 1),
        (3, 1): (pytest.approx(0.05), 0),
    }
    last = {(r["customer_id"], r["product_id"]): r["last_ts"] for r in rows}
    assert last[(1, 2)] == ago(0, hour=20) and last[(1, 1)] == ago(0)


def test_default_half_life_and_no_events(duckdb_engine: engines.Engine) -> None:
    table = duckdb_engine.table(lines((1, 1, ago(90)), (1, 2, ago(180))))
    result = duckdb_engine.to_arrow(interactions(table, None, end=END, rules=RecommendRules()))
    got = dict(zip(result["product_id"].to_pylist(), result["weight"].to_pylist(), strict=True))
    assert got == {1: pytest.approx(math.sqrt(0.5)), 2: pytest.approx(0.5)}


# Customers c1..c4 over products A=1, B=2, C=3, D=4, E=5 (E has the same buyers as B):
# A = (1, 1, 2, 0), B = E = (1, 1, 0, 0), C = (0, 1, 1, 1), D = (0, 0, 0, 1)
VECTORS = {
    1: {1: 1.0, 2: 1.0, 5: 1.0},
    2: {1: 1.0, 2: 1.0, 3: 1.0, 5: 1.0},
    3: {1: 2.0, 3: 1.0},
    4: {3: 1.0, 4: 1.0},
}
A_B = 2 / math.sqrt(6 * 2)  # A.B = 2, |A| = sqrt 6, |B| = sqrt 2
A_C = 3 / math.sqrt(6 * 3)


def test_item_similarity_is_cosine_over_customers_with_ties_to_smaller_id(
    both: BothEngines,
) -> None:
    rules = RecommendRules(min_co_customers=2, max_neighbours=2)
    rows = both.run(
        lambda engine: item_similarity(engine.table(weights(VECTORS)), rules=rules),
        sort_by=["product_id", "other_product_id"],
    )
    assert pairs(rows, "product_id", "other_product_id") == {
        # A-E ties A-B exactly; B, the smaller id, takes the second place
        1: [(2, pytest.approx(A_B)), (3, pytest.approx(A_C))],
        2: [(1, pytest.approx(A_B)), (5, pytest.approx(1.0))],
        3: [(1, pytest.approx(A_C))],  # B-C and C-D share one customer: below the minimum
        5: [(1, pytest.approx(A_B)), (2, pytest.approx(1.0))],
    }
    assert {(r["product_id"], r["other_product_id"]): r["co_customers"] for r in rows}[(1, 3)] == 2


def test_item_similarity_keeps_single_shared_customers_and_caps_big_baskets(
    duckdb_engine: engines.Engine,
) -> None:
    table = duckdb_engine.table(weights(VECTORS))
    loose = RecommendRules(min_co_customers=1)
    got = pairs(
        duckdb_engine.to_arrow(item_similarity(table, rules=loose)).to_pylist(),
        "product_id",
        "other_product_id",
    )
    assert dict(got[4]) == {3: pytest.approx(1 / math.sqrt(3))}
    assert dict(got[3])[2] == pytest.approx(1 / math.sqrt(6))
    # c2 holds four products: above a cap of three, c2 links nothing (norms still count c2)
    capped = RecommendRules(min_co_customers=1, max_customer_items=3)
    got = pairs(
        duckdb_engine.to_arrow(item_similarity(table, rules=capped)).to_pylist(),
        "product_id",
        "other_product_id",
    )
    assert dict(got[1]) == {
        2: pytest.approx(1 / math.sqrt(12)),
        3: pytest.approx(2 / math.sqrt(18)),
        5: pytest.approx(1 / math.sqrt(12)),
    }


SIMILARITY = pa.table(
    {
        "product_id": pa.array([1, 1, 1, 2, 2, 2, 4, 4], pa.int64()),
        "other_product_id": pa.array([2, 3, 4, 1, 3, 5, 1, 5], pa.int64()),
        "similarity": [0.5, 0.8, 0.3, 0.5, 0.25, 0.25, 0.6, 0.4],
        "co_customers": pa.array([2] * 8, pa.int64()),
    }
)
# c1 bought product 1 and only viewed product 4; c2 bought 2 twice; c3's product 9 has no
# neighbours, so c3 gets nothing
OWNERS = weights({1: {1: 1.0, 4: 0.5}, 2: {2: 2.0}, 3: {9: 1.0}}, viewed=frozenset({(1, 4)}))


def recommend(both: BothEngines, rules: RecommendRules, **options: Any) -> dict[int, list[Any]]:
    rows = both.run(
        lambda engine: recommend_for_customers(
            engine.table(OWNERS), engine.table(SIMILARITY), rules=rules, **options
        ),
        sort_by=["customer_id", "rank"],
    )
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row["customer_id"], []).append(
            (row["rank"], row["product_id"], pytest.approx(row["score"]))
        )
    return grouped


def test_recommendations_exclude_owned_keep_viewed_and_break_ties_by_id(
    both: BothEngines,
) -> None:
    # c1: 2 <- 1 x 0.5; 3 <- 1 x 0.8; 4 <- 1 x 0.3 (viewed, stays); 5 <- 0.5 x 0.4; 1 is owned
    # c2: 1 <- 2 x 0.5; 3 and 5 <- 2 x 0.25 tie, 3 first
    got = recommend(both, RecommendRules(top_n=3))
    assert got == {
        1: [(1, 3, 0.8), (2, 2, 0.5), (3, 4, 0.3)],
        2: [(1, 1, 1.0), (2, 3, 0.5), (3, 5, 0.5)],
    }


def test_recommendations_may_include_owned_products_when_asked(both: BothEngines) -> None:
    got = recommend(both, RecommendRules(top_n=10), exclude_owned=False)
    # c1's own product 1 scores 0.5 x 0.6 = 0.3 and ties viewed product 4: 1 before 4
    assert [product for _, product, _ in got[1]] == [3, 2, 1, 4, 5]
    assert [rank for rank, _, _ in got[1]] == [1, 2, 3, 4, 5]
    assert 3 not in got


POPULAR_LINES = lines(
    (1, 1, ago(0)),
    (2, 1, ago(0)),
    (3, 1, ago(0)),  # product 1: 3 customers, score 3
    (1, 2, ago(0)),
    (2, 2, ago(10)),  # product 2: 1.5
    (3, 3, ago(10)),  # product 3: 0.5
    (4, 5, ago(10)),  # product 5: 0.5, ties 3 and ranks after it
    (4, 4, ago(20)),  # product 4: 0.25
)


def test_popular_products_rank_by_decayed_purchases(both: BothEngines) -> None:
    rows = both.run(
        lambda engine: popular_products(engine.table(POPULAR_LINES), end=END, rules=TEN_DAYS),
        sort_by="rank",
    )
    assert [(r["rank"], r["product_id"], r["customers"]) for r in rows] == [
        (1, 1, 3),
        (2, 2, 2),
        (3, 3, 1),
        (4, 5, 1),
        (5, 4, 1),
    ]
    assert [r["score"] for r in rows] == pytest.approx([3.0, 1.5, 0.5, 0.5, 0.25])


def test_popularity_baseline_skips_what_each_customer_owns(both: BothEngines) -> None:
    views = events((5, 1, ago(0), "product_view"))  # c5 only looked at product 1

    def build(engine: engines.Engine) -> Any:
        table = engine.table(POPULAR_LINES)
        rules = RecommendRules(half_life_days=10.0, top_n=2)
        owned = interactions(table, engine.table(views), end=END, rules=rules)
        return recommend_popular(owned, popular_products(table, end=END, rules=rules), rules=rules)

    rows = both.run(build, sort_by=["customer_id", "rank"])
    got: dict[int, list[int]] = {}
    for row in rows:
        got.setdefault(row["customer_id"], []).append(row["product_id"])
    assert got == {1: [3, 5], 2: [3, 5], 3: [2, 5], 4: [1, 2], 5: [1, 2]}


def test_similar_customers_through_shared_products(both: BothEngines) -> None:
    rows = both.run(
        lambda engine: similar_customers(
            engine.table(weights(VECTORS)), rules=RecommendRules(), top_n=2
        ),
        sort_by=["customer_id", "other_customer_id"],
    )
    # c1 = (A, B, E), c2 = (A, B, C, E), c3 = (2A, C), c4 = (C, D)
    c1_c2, c1_c3 = 3 / (2 * math.sqrt(3)), 2 / math.sqrt(15)
    c2_c3, c2_c4, c3_c4 = 3 / (2 * math.sqrt(5)), 1 / (2 * math.sqrt(2)), 1 / math.sqrt(10)
    assert pairs(rows, "customer_id", "other_customer_id") == {
        1: [(2, pytest.approx(c1_c2)), (3, pytest.approx(c1_c3))],
        2: [(1, pytest.approx(c1_c2)), (3, pytest.approx(c2_c3))],
        3: [(1, pytest.approx(c1_c3)), (2, pytest.approx(c2_c3))],
        4: [(2, pytest.approx(c2_c4)), (3, pytest.approx(c3_c4))],
    }
    assert {(r["customer_id"], r["other_customer_id"]): r["shared_items"] for r in rows}[
        (1, 2)
    ] == 3


def test_similar_customers_ignore_products_everyone_buys(duckdb_engine: engines.Engine) -> None:
    table = duckdb_engine.table(weights(VECTORS))
    rules = RecommendRules(max_item_customers=2)  # A and C (three buyers each) link nobody
    rows = duckdb_engine.to_arrow(similar_customers(table, rules=rules)).to_pylist()
    assert pairs(rows, "customer_id", "other_customer_id") == {
        1: [(2, pytest.approx(2 / (2 * math.sqrt(3))))],
        2: [(1, pytest.approx(2 / (2 * math.sqrt(3))))],
    }


def test_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="half_life_days"):
        RecommendRules(half_life_days=0)
    with pytest.raises(ValueError, match="top_n"):
        RecommendRules(top_n=0)
    with pytest.raises(ValueError, match="view_weight"):
        RecommendRules(view_weight=-0.1)
