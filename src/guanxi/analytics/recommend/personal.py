"""Personal top-N lists: item-based scores from what each customer bought and viewed, and the
popularity baseline they are measured against.

A customer's score for a product j is ``sum_i weight(customer, i) * similarity(i, j)`` over the
products i they interacted with and whose neighbour lists contain j (item-based top-N, Deshpande &
Karypis 2004; Linden, Smith & York 2003). Products the customer already bought are left out;
products they only viewed stay in (a viewed dress is a good thing to recommend).
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis.expr.types import Table

from guanxi.analytics.recommend.similarity import (
    DECIMALS,
    RecommendRules,
    decay,
    purchases,
)


def _rank(scores: Table, top_n: int) -> Table:
    """Rank 1..top_n per customer by score, ties to the smaller product_id."""
    order = [ibis.desc(scores.score.round(DECIMALS)), scores.product_id]
    ranked = scores.mutate(
        rank=(ibis.row_number().over(group_by=scores.customer_id, order_by=order) + 1).cast("int64")
    )
    return ranked.filter(ranked["rank"] <= top_n)


def _owned(weights: Table) -> Table:
    owned = weights.filter(weights.purchases > 0)
    return owned.select("customer_id", "product_id")


def recommend_for_customers(
    weights: Table,
    similarity: Table,
    *,
    rules: RecommendRules,
    exclude_owned: bool = True,
) -> Table:
    """The ``top_n`` products for every customer with history, best first.

    ``weights`` is ``interactions(...)``, ``similarity`` is ``item_similarity(...)``. Columns:
    customer_id, product_id, score, rank (1 = best; ties go to the smaller product_id). A customer
    without purchases or views gets no rows; nor does one whose products have no neighbours.
    """
    w = weights.select("customer_id", "product_id", "weight")
    scored = w.join(similarity, "product_id").select(
        w.customer_id,
        product_id=similarity.other_product_id,
        part=w.weight * similarity.similarity,
    )
    scores = scored.group_by(["customer_id", "product_id"]).aggregate(score=scored.part.sum())
    if exclude_owned:
        scores = scores.anti_join(_owned(weights), ["customer_id", "product_id"]).select(
            "customer_id", "product_id", "score"
        )
    return _rank(scores, rules.top_n)


def popular_products(lines: Table, *, end: dt.date, rules: RecommendRules) -> Table:
    """Every product bought by ``end``, ranked by time-decayed purchases over all customers.

    Columns: product_id, customers (distinct buyers), score (sum of decayed purchase lines, so a
    product that sells now outranks one that sold as much two years ago), rank (1 = most popular;
    ties to the smaller product_id). This is the baseline the item model must beat.
    """
    bought = purchases(lines, end=end)
    bought = bought.mutate(part=decay(bought.ts.date(), end, rules))
    scores = bought.group_by("product_id").aggregate(
        customers=bought.customer_id.nunique().cast("int64"), score=bought.part.sum()
    )
    order = [ibis.desc(scores.score.round(DECIMALS)), scores.product_id]
    return scores.mutate(rank=(ibis.row_number().over(order_by=order) + 1).cast("int64"))


def recommend_popular(
    weights: Table,
    popular: Table,
    *,
    rules: RecommendRules,
    exclude_owned: bool = True,
) -> Table:
    """The popularity baseline as personal lists: the most popular products each customer in
    ``weights`` has not bought. Same columns as ``recommend_for_customers`` (score is the product's
    popularity score).

    Each customer is paired only with the ``top_n`` plus (number of products they own) most popular
    products, which always leaves ``top_n`` they do not own, so the cost is customers times a short
    list rather than customers times products.
    """
    owned_count = weights.group_by("customer_id").aggregate(
        owned=(weights.purchases > 0).cast("int64").sum()
    )
    extra = owned_count.owned if exclude_owned else ibis.literal(0, "int64")
    owned_count = owned_count.mutate(depth=extra + rules.top_n)
    pop = popular.select("product_id", "score", pop_rank=popular["rank"])
    paired = owned_count.join(pop, pop.pop_rank <= owned_count.depth).select(
        owned_count.customer_id, pop.product_id, pop.score
    )
    if exclude_owned:
        paired = paired.anti_join(_owned(weights), ["customer_id", "product_id"]).select(
            "customer_id", "product_id", "score"
        )
    return _rank(paired, rules.top_n)
