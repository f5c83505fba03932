"""Cross-purchase (交叉购买) association rules: "customers who buy A also buy B", with support,
confidence and lift (Agrawal & Srikant 1994), one antecedent and one consequent per rule.

By default a basket is a *customer's* set of purchases over the whole period, not one order:
cross-purchase is about a customer coming back for another product line of the same company, which
rarely happens in the same order (a phone today, a case next month). ``basket="order"`` gives the
classic market-basket rules within one order instead (what to offer at checkout).

For a rule A -> B over N baskets: support = n(A and B) / N, confidence = n(A and B) / n(A),
lift = confidence / (n(B) / N). Lift above 1 means buying A makes B more likely than it is for
everyone; confidence alone favours whatever everybody buys.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
from ibis.expr.types import Table

from guanxi.analytics.recommend.similarity import purchases

Level = Literal["category", "product"]
Basket = Literal["customer", "order"]


def association_rules(
    lines: Table,
    *,
    level: Level = "category",
    min_support: float = 0.01,
    min_confidence: float = 0.1,
    basket: Basket = "customer",
    end: dt.date | None = None,
) -> Table:
    """Pairwise rules between categories (or products) bought together in a basket.

    ``lines`` has the ``inputs.LINES`` columns; only purchases (positive quantity, known customer
    and product, on or before ``end`` if given) count. Columns: antecedent, consequent (category
    names, or product ids with ``level="product"``), support, confidence, lift, customers (distinct
    customers whose baskets hold both; with customer baskets, the baskets themselves). Rules below
    ``min_support`` or ``min_confidence`` are dropped; an item below ``min_support`` is dropped
    before pairing, since no pair containing it can reach it (the Apriori property).
    """
    if level not in ("category", "product"):
        raise ValueError(f"unknown level {level!r}; choose category or product")
    if basket not in ("customer", "order"):
        raise ValueError(f"unknown basket {basket!r}; choose customer or order")
    if not 0 < min_support <= 1 or not 0 <= min_confidence <= 1:
        raise ValueError("min_support must be in (0, 1] and min_confidence in [0, 1]")
    bought = purchases(lines, end=end)
    item_column = "category" if level == "category" else "product_id"
    bought = bought.filter(bought[item_column].notnull())
    keys = ["customer_id"] if basket == "customer" else ["customer_id", "order_id"]
    items = bought.select(*keys, item=bought[item_column]).distinct()
    baskets = items.select(*keys).distinct()
    total = baskets.aggregate(n_baskets=baskets.count().cast("float64"))
    counts = items.group_by("item").aggregate(n_item=items.count())
    counts = counts.cross_join(total).select("item", "n_item", "n_baskets")
    frequent = counts.filter(counts.n_item / counts.n_baskets >= min_support)
    kept = items.semi_join(frequent.select("item"), "item").select(*keys, "item")
    other = kept.view().select(*keys, other_item="item")
    pairs = kept.join(other, keys).select(*(kept[key] for key in keys), kept.item, other.other_item)
    pairs = pairs.filter(pairs.item != pairs.other_item)
    together = pairs.group_by(["item", "other_item"]).aggregate(
        n_both=pairs.count(), customers=pairs.customer_id.nunique().cast("int64")
    )
    a = frequent.select("item", "n_item", "n_baskets")
    b = frequent.select(other_item="item", n_other=frequent.n_item)
    rules = (
        together.join(a, "item")
        .select(together, a.n_item, a.n_baskets)
        .join(b, "other_item")
        .select("item", "other_item", "n_both", "customers", "n_item", "n_baskets", b.n_other)
    )
    confidence = rules.n_both / rules.n_item
    rules = rules.select(
        antecedent=rules.item,
        consequent=rules.other_item,
        support=rules.n_both / rules.n_baskets,
        confidence=confidence,
        lift=confidence / (rules.n_other / rules.n_baskets),
        customers=rules.customers,
    )
    return rules.filter(
        (rules.support >= min_support) & (rules.confidence >= min_confidence)
    ).order_by([ibis.desc("lift"), "antecedent", "consequent"])
