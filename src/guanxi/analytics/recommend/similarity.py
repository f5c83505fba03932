"""Who-bought-what as time-decayed weights, and the similarities built on them: item to item
("bought this, also bought") and customer to customer.

A purchase counts ``0.5 ** (age_days / half_life_days)``, where ``age_days`` is the number of days
from the purchase day to the end of the observation period, so a purchase a half-life ago counts
half as much as one on the last day. A product view counts ``view_weight`` times the same. The
weight of a customer and product is the sum over that customer's purchase lines and views of it.

Item similarity is the cosine of two products' weight vectors over customers (Sarwar et al. 2001,
Linden, Smith & York 2003). Customer similarity is the cosine of two customers' weight vectors over
products. Both are computed through shared customers (or shared products) only, so the cost grows
with the number of co-occurring pairs, not with products squared or customers squared; caps on very
large baskets and very popular products keep that pair count bounded (see ``RecommendRules``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
from ibis.expr.types import Table

DECIMALS = 12
"""Similarities and scores are ranked on values rounded to this many decimals, so that ties that
differ only in the last bits of a floating-point sum (summation order differs between engines) are
broken the same way everywhere: by the smaller id."""


@dataclass(frozen=True)
class RecommendRules:
    """How recommendations are built; the defaults suit a retailer with repeat purchases."""

    half_life_days: float = 180.0
    """A purchase or view this many days before the end counts half as much as one on the end."""
    view_weight: float = 0.2
    """A product view counts this much of a purchase."""
    top_n: int = 10
    """Recommendations per customer."""
    min_co_customers: int = 2
    """Two products are neighbours only if at least this many customers have both."""
    max_neighbours: int = 20
    """The most similar products kept per product. Personal top-N costs (customer-product
    weights) x this many rows to sum and rank: 20 instead of 50 halves that step at a million
    customers for about 1% lower precision@10 on the holdout (docs/analytics.md)."""
    view_kinds: tuple[str, ...] = ("product_view",)
    """Event kinds that count as a product view."""
    max_customer_items: int = 1000
    """Customers with more distinct products than this (resellers, bots, test accounts) do not
    contribute item pairs; their pairs would grow with the square of their basket."""
    max_item_customers: int = 100
    """Products with more customers than this do not make customers similar (everyone buys the
    shopping bag); without a cap one such product makes a pair of every two customers. The cap
    bounds the customer pairs examined by cap x (rows of weights)."""

    def __post_init__(self) -> None:
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        if self.view_weight < 0:
            raise ValueError("view_weight must not be negative")
        for name in ("top_n", "min_co_customers", "max_neighbours"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def decay(ts_day: ibis.Value, end: dt.date, rules: RecommendRules) -> ibis.Value:
    """``0.5 ** (age_days / half_life)`` with the age in whole days from ``ts_day`` to ``end``."""
    age = ibis.literal(end).delta(ts_day, unit="day").cast("float64")
    return ibis.literal(0.5) ** (age / rules.half_life_days)


def purchases(lines: Table, *, end: dt.date | None = None) -> Table:
    """Order lines that are purchases on or before ``end`` (all of them without an end): a known
    customer and product and a positive net quantity (a line returned in full is no purchase)."""
    keep = (
        lines.customer_id.notnull()
        & lines.product_id.notnull()
        & (lines.quantity.fill_null(1.0) > 0)
    )
    if end is not None:
        keep = keep & (lines.ts.date() <= ibis.literal(end))
    return lines.filter(keep)


def interactions(
    lines: Table, events: Table | None, *, end: dt.date, rules: RecommendRules
) -> Table:
    """Time-decayed weight of every customer and product they bought or viewed by ``end``.

    Columns: customer_id, product_id, weight (decayed purchases plus ``view_weight`` times decayed
    views), purchases (purchase lines, 0 for a product only viewed; recommendations exclude products
    with purchases > 0), last_ts (the latest purchase or view).
    """
    bought = purchases(lines, end=end)
    parts = [
        bought.select(
            "customer_id",
            "product_id",
            "ts",
            weight=decay(bought.ts.date(), end, rules),
            bought=ibis.literal(1, "int64"),
        )
    ]
    if events is not None and rules.view_weight > 0:
        views = events.filter(
            events.customer_id.notnull()
            & events.product_id.notnull()
            & events.kind.isin(list(rules.view_kinds))
            & (events.ts.date() <= ibis.literal(end))
        )
        parts.append(
            views.select(
                "customer_id",
                "product_id",
                "ts",
                weight=decay(views.ts.date(), end, rules) * rules.view_weight,
                bought=ibis.literal(0, "int64"),
            )
        )
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return union.group_by(["customer_id", "product_id"]).aggregate(
        weight=union.weight.sum(),
        purchases=union.bought.sum(),
        last_ts=union.ts.max(),
    )


def _norms(weights: Table, key: str) -> Table:
    return weights.group_by(key).aggregate(norm=(weights.weight * weights.weight).sum().sqrt())


def _top(pairs: Table, key: str, other: str, value: str, limit: int) -> Table:
    """The ``limit`` rows per ``key`` with the highest ``value``, ties to the smaller ``other``."""
    order = [ibis.desc(pairs[value].round(DECIMALS)), pairs[other]]
    ranked = pairs.mutate(_rank=ibis.row_number().over(group_by=pairs[key], order_by=order))
    return ranked.filter(ranked._rank < limit).drop("_rank")


def item_similarity(weights: Table, *, rules: RecommendRules) -> Table:
    """For every product its most similar products by cosine over customers.

    ``weights`` is ``interactions(...)``. Columns: product_id, other_product_id, similarity (in
    (0, 1]), co_customers (customers with weight on both). Pairs with fewer than
    ``min_co_customers`` shared customers are dropped, then the ``max_neighbours`` most similar are
    kept per product, ties going to the smaller other_product_id.
    """
    w = weights.select("customer_id", "product_id", "weight")
    basket = w.group_by("customer_id").aggregate(items=w.count())
    small = basket.filter(basket["items"] <= rules.max_customer_items).select("customer_id")
    kept = w.semi_join(small, "customer_id").select("customer_id", "product_id", "weight")
    right = kept.view().select("customer_id", other_product_id="product_id", other_weight="weight")
    # name the columns after the join: in a self-join both sides' weight resolve to the left one
    joined = kept.join(right, "customer_id").select(
        "product_id", "other_product_id", "weight", "other_weight"
    )
    joined = joined.filter(joined.product_id != joined.other_product_id).mutate(
        prod=lambda t: t.weight * t.other_weight
    )
    dots = joined.group_by(["product_id", "other_product_id"]).aggregate(
        dot=joined.prod.sum(), co_customers=joined.count()
    )
    dots = dots.filter(dots.co_customers >= rules.min_co_customers)
    norms = _norms(w, "product_id")
    mine = norms.select("product_id", norm_a="norm")
    theirs = norms.select(other_product_id="product_id", norm_b="norm")
    sims = (
        dots.join(mine, "product_id")
        .select(dots, mine.norm_a)
        .join(theirs, "other_product_id")
        .select("product_id", "other_product_id", "dot", "co_customers", "norm_a", theirs.norm_b)
    )
    sims = sims.select(
        "product_id",
        "other_product_id",
        similarity=sims.dot / (sims.norm_a * sims.norm_b),
        co_customers=sims.co_customers.cast("int64"),
    )
    return _top(sims, "product_id", "other_product_id", "similarity", rules.max_neighbours)


def similar_customers(weights: Table, *, rules: RecommendRules, top_n: int = 10) -> Table:
    """For every customer the ``top_n`` most similar customers by cosine over products.

    Columns: customer_id, other_customer_id, similarity, shared_items. Only products with at most
    ``max_item_customers`` customers link customers (a product nearly everyone buys says little
    about taste and would pair everyone); the norms still count every product, so the cap can only
    lower a similarity. Ties go to the smaller other_customer_id.
    """
    if top_n < 1:
        raise ValueError("top_n must be at least 1")
    w = weights.select("customer_id", "product_id", "weight")
    reach = w.group_by("product_id").aggregate(buyers=w.count())
    linking = reach.filter(reach.buyers <= rules.max_item_customers).select("product_id")
    kept = w.semi_join(linking, "product_id").select("customer_id", "product_id", "weight")
    right = kept.view().select("product_id", other_customer_id="customer_id", other_weight="weight")
    joined = kept.join(right, "product_id").select(
        "customer_id", "other_customer_id", "weight", "other_weight"
    )
    joined = joined.filter(joined.customer_id != joined.other_customer_id).mutate(
        prod=lambda t: t.weight * t.other_weight
    )
    dots = joined.group_by(["customer_id", "other_customer_id"]).aggregate(
        dot=joined.prod.sum(), shared_items=joined.count()
    )
    norms = _norms(w, "customer_id")
    mine = norms.select("customer_id", norm_a="norm")
    theirs = norms.select(other_customer_id="customer_id", norm_b="norm")
    sims = (
        dots.join(mine, "customer_id")
        .select(dots, mine.norm_a)
        .join(theirs, "other_customer_id")
        .select("customer_id", "other_customer_id", "dot", "shared_items", "norm_a", theirs.norm_b)
    )
    sims = sims.select(
        "customer_id",
        "other_customer_id",
        similarity=sims.dot / (sims.norm_a * sims.norm_b),
        shared_items=sims.shared_items.cast("int64"),
    )
    return _top(sims, "customer_id", "other_customer_id", "similarity", top_n)
