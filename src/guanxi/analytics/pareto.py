"""The 80/20 (Pareto) analysis: does most of the profit come from a few customers, and who are they?

Input is any table of ``customer_id`` and ``profit`` (``tiers.value_tiers`` gives profit after cost
to serve; ``summary.margin`` works too). Customers are ranked by profit, highest first, ties broken
by ``customer_id`` so every engine ranks them the same way.

- ``lorenz``: the concentration curve "the top x% of customers bring y% of the profit". Shares are
  of the *net* total profit, so when some customers lose money the curve rises above 1 before it
  comes back to 1 at the last customer (Kaplan and Cooper's "whale curve"); the height of the
  hump is the profit the unprofitable customers destroy. The conventional ascending Lorenz curve
  of non-negative values is ``L(p) = 1 - y(1 - p)``.
- ``gini``: 0 when everyone brings the same, towards 1 when one customer brings everything.
- ``top_share`` / ``top_customers``: the share of total profit from the top ``share`` of customers
  (20% by default) and who they are.

"The top share" means the first ``top_count(n, share) = max(1, floor(share * n))`` customers: never
more than the share, and at least one customer.
"""

from __future__ import annotations

from typing import Literal

import ibis
import pyarrow as pa
from ibis.expr.types import IntegerValue, NumericValue, Table

PROFITS = pa.schema([("customer_id", pa.int64()), ("profit", pa.float64())])
"""What these functions read (extra columns are ignored)."""

# floor(0.29 * 100) is 28 in binary floating point; this nudge keeps whole products whole
_EPSILON = 1e-9


def top_count(customers: IntegerValue, share: float) -> IntegerValue:
    """How many customers "the top ``share``" is: ``max(1, floor(share * customers))``."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    counted = (customers.cast("float64") * share + _EPSILON).floor().cast("int64")
    return ibis.greatest(counted, 1)


def ranked(profits: Table) -> Table:
    """``profits`` with ``rank`` (1 = most profitable), ``customers`` (how many in all),
    ``cumulative_profit`` down to this customer and ``total_profit`` (net)."""
    order = [ibis.desc(profits.profit), profits.customer_id]
    base = profits.select("customer_id", profit=profits.profit.cast("float64"))
    return base.mutate(
        rank=(ibis.row_number().over(order_by=order) + 1).cast("int64"),
        customers=base.customer_id.count().over(ibis.window()).cast("int64"),
        cumulative_profit=base.profit.sum().over(ibis.window(order_by=order, rows=(None, 0))),
        total_profit=base.profit.sum().over(ibis.window()),
    )


def _share(part: NumericValue, whole: NumericValue) -> NumericValue:
    # a share of nothing (or of a loss) is undefined, not 0 or infinity
    return ibis.ifelse(whole > 0, part / whole, ibis.null("float64"))


def lorenz(profits: Table, *, points: int = 100) -> Table:
    """The curve "top x% of customers bring y% of profit", at most ``points`` points.

    Columns: ``customers`` (the top this many), ``customer_share`` (x, in (0, 1]), ``profit``
    (their cumulative profit), ``profit_share`` (y, of the net total; null when the total is not
    positive). The curve starts at (0, 0), which is not a row. A point is kept where x crosses the
    next 1/points step, so with fewer customers than points every customer is a point.
    """
    if points < 1:
        raise ValueError("points must be at least 1")
    ranks = ranked(profits)
    step = (ranks["rank"].cast("float64") * points / ranks.customers).floor()
    before = ((ranks["rank"] - 1).cast("float64") * points / ranks.customers).floor()
    kept = ranks.filter(step > before)
    return kept.select(
        customers=kept["rank"],
        customer_share=kept["rank"].cast("float64") / kept.customers,
        profit=kept.cumulative_profit,
        profit_share=_share(kept.cumulative_profit, kept.total_profit),
    )


def top_customers(profits: Table, share: float = 0.2) -> Table:
    """The top ``share`` of customers by profit: ``customer_id``, ``profit``, ``rank``,
    ``profit_share`` (own share of the net total) and ``cumulative_share`` (down to them)."""
    ranks = ranked(profits)
    top = ranks.filter(ranks["rank"] <= top_count(ranks.customers, share))
    return top.select(
        "customer_id",
        "profit",
        "rank",
        profit_share=_share(top.profit, top.total_profit),
        cumulative_share=_share(top.cumulative_profit, top.total_profit),
    )


def top_share_expr(profits: Table, share: float = 0.2) -> NumericValue:
    """``top_share`` as an Ibis scalar (null when the total profit is not positive)."""
    ranks = ranked(profits)
    inside = ranks["rank"] <= top_count(ranks.customers, share)
    top = ranks.profit.sum(where=inside)
    return _share(top, ranks.profit.sum())


def top_share(profits: Table, share: float = 0.2) -> float | None:
    """The share of total (net) profit brought by the top ``share`` of customers: 0.8 means the
    top 20% bring 80%; above 1 when the rest lose money. None when total profit is not positive."""
    value = top_share_expr(profits, share).to_pyarrow().as_py()
    return None if value is None else float(value)


def gini_expr(
    profits: Table, *, negatives: Literal["generalised", "clip"] = "generalised"
) -> NumericValue:
    """The Gini coefficient as an Ibis scalar (see ``gini``)."""
    values = profits.profit.cast("float64")
    if negatives == "clip":
        values = ibis.greatest(values, 0.0)
    elif negatives != "generalised":
        raise ValueError("negatives must be 'generalised' or 'clip'")
    base = profits.select(x=values)
    # sum_i sum_j |x_i - x_j| = 2 * sum_i (2i - n - 1) x_(i), x ascending and i from 1; ties do not
    # matter (equal values contribute the same whichever comes first)
    i = (ibis.row_number().over(order_by=base.x) + 1).cast("float64")
    n = base.x.count().over(ibis.window()).cast("float64")
    terms = base.mutate(weighted=(2 * i - n - 1) * base.x, absolute=base.x.abs(), n=n)
    pairs = 2 * terms.weighted.sum()
    # Raffinetti, Siletti and Vernizzi (2015): divide by 2 n (T+ + T-), the sum of absolute values,
    # which is the ordinary 2 n^2 mean for non-negative values and keeps the index in [0, 1]
    scale = 2 * terms.n.max() * terms.absolute.sum()
    return ibis.ifelse(scale > 0, pairs / scale, 0.0)


def gini(profits: Table, *, negatives: Literal["generalised", "clip"] = "generalised") -> float:
    """How unequal profit is across customers: 0 = all the same, near 1 = one brings everything.

    ``G = sum_i sum_j |x_i - x_j| / (2 n sum_i |x_i|)``. For non-negative profits this is the usual
    Gini coefficient (``sum |x_i - x_j| / (2 n^2 mean)``); with losses it is the normalisation of
    Raffinetti, Siletti and Vernizzi (2015), which stays in [0, 1]. ``negatives="clip"`` computes
    the usual Gini on ``max(profit, 0)`` instead (losses count as nothing). 0 when there is no
    profit or loss at all (or no customer).
    """
    value = gini_expr(profits, negatives=negatives).to_pyarrow().as_py()
    return 0.0 if value is None else float(value)
