"""Time-based holdout evaluation of the item model against the popularity baseline.

Protocol: fit on everything before ``split`` (purchases and views; decay measured to the day
before ``split``), then look at the purchases in [split, end]. A customer is evaluated if they
bought before ``split`` and bought in the test period at least one product they had not bought
before (products they already own are excluded from every list, so re-purchases cannot be hit and
would only dilute recall equally for both methods). Both methods recommend ``k`` products per
customer excluding what they own; precision@k = hits / k and recall@k = hits / (new products
bought), each averaged over the evaluated customers. A customer the item model has no list for (no
neighbours) counts with zero hits instead of being dropped, so both methods are measured on the
same customers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import ibis
from ibis.expr.types import Table

from guanxi.analytics.recommend.personal import (
    popular_products,
    recommend_for_customers,
    recommend_popular,
)
from guanxi.analytics.recommend.similarity import (
    RecommendRules,
    interactions,
    item_similarity,
    purchases,
)


def _hits(recommended: Table, relevant: Table, name: str) -> Table:
    found = recommended.join(relevant, ["customer_id", "product_id"]).select(
        recommended.customer_id
    )
    return found.group_by("customer_id").aggregate(**{name: found.count()})


def holdout_scores(
    lines: Table,
    events: Table | None,
    *,
    split: dt.date,
    end: dt.date,
    rules: RecommendRules = RecommendRules(),
    k: int = 10,
) -> Table:
    """Per evaluated customer: relevant (new products bought in [split, end]), listed (products
    the item model recommended), model_hits and popular_hits (of ``k`` recommendations each)."""
    if not split <= end:
        raise ValueError("the split must not be after the end")
    if k < 1:
        raise ValueError("k must be at least 1")
    rules = dataclasses.replace(rules, top_n=k)
    fit_end = split - dt.timedelta(days=1)
    weights = interactions(lines, events, end=fit_end, rules=rules)
    model = recommend_for_customers(weights, item_similarity(weights, rules=rules), rules=rules)
    popular = recommend_popular(
        weights, popular_products(lines, end=fit_end, rules=rules), rules=rules
    )
    owned = weights.filter(weights.purchases > 0).select("customer_id", "product_id")
    buyers = owned.select("customer_id").distinct()
    later = purchases(lines, end=end)
    later = later.filter(later.ts.date() >= ibis.literal(split))
    bought = later.select("customer_id", "product_id").distinct()
    relevant = (
        bought.semi_join(buyers, "customer_id")
        .anti_join(owned, ["customer_id", "product_id"])
        .select("customer_id", "product_id")
    )
    per_customer = relevant.group_by("customer_id").aggregate(relevant=relevant.count())
    listed = model.group_by("customer_id").aggregate(listed=model.count())
    model_hits = _hits(model, relevant, "model_hits")
    popular_hits = _hits(popular, relevant, "popular_hits")
    scores = (
        per_customer.left_join(listed, "customer_id")
        .select(per_customer, listed.listed)
        .left_join(model_hits, "customer_id")
        .select("customer_id", "relevant", "listed", model_hits.model_hits)
        .left_join(popular_hits, "customer_id")
        .select("customer_id", "relevant", "listed", "model_hits", popular_hits.popular_hits)
    )
    return scores.select(
        "customer_id",
        relevant=scores.relevant.cast("int64"),
        listed=scores.listed.fill_null(0).cast("int64"),
        model_hits=scores.model_hits.fill_null(0).cast("int64"),
        popular_hits=scores.popular_hits.fill_null(0).cast("int64"),
    )


def evaluate_holdout(
    lines: Table,
    events: Table | None,
    *,
    split: dt.date,
    end: dt.date,
    rules: RecommendRules = RecommendRules(),
    k: int = 10,
) -> dict[str, Any]:
    """Precision@k and recall@k of the item model and of the popularity baseline (module doc).

    ``lines`` and ``events`` are Ibis tables on one backend; the result is computed there and only
    one row comes back. Returns ``{"k", "customers", "covered", "item_item": {"precision_at_k",
    "recall_at_k"}, "popularity": {...}}``, where ``covered`` counts evaluated customers the item
    model had a list for. With no evaluated customers the measures are None.
    """
    scores = holdout_scores(lines, events, split=split, end=end, rules=rules, k=k)
    summary = scores.aggregate(
        customers=scores.count(),
        covered=(scores.listed > 0).cast("int64").sum(),
        model_precision=(scores.model_hits / k).mean(),
        model_recall=(scores.model_hits / scores.relevant).mean(),
        popular_precision=(scores.popular_hits / k).mean(),
        popular_recall=(scores.popular_hits / scores.relevant).mean(),
    )
    [row] = summary.to_pyarrow().to_pylist()
    return {
        "k": k,
        "customers": int(row["customers"] or 0),
        "covered": int(row["covered"] or 0),
        "item_item": {
            "precision_at_k": row["model_precision"],
            "recall_at_k": row["model_recall"],
        },
        "popularity": {
            "precision_at_k": row["popular_precision"],
            "recall_at_k": row["popular_recall"],
        },
    }
