"""Acquisition cohorts: of the customers who first bought in a month, how many bought again in each
later month, and how much the cohort spent, as the retention and revenue matrices in long form.

- **Cohort** (``cohort_month``): the month of a customer's first purchase day, as the 1st of the
  month. A purchase day is a day whose net amount is positive (as in ``summary``), so a customer
  whose first order was returned the same day joins the cohort of their first kept purchase.
- **Active** in a month: at least one purchase day in that month.
- ``months_since``: calendar months from the cohort month (0 is the acquisition month, where
  retention is 1 by definition). Every cohort has a row for every month from its own up to the
  month of ``end`` (partly observed when ``end`` is not the month's last day), zero rows included,
  so the matrix has no holes.
- ``revenue``: the cohort's net amount in that month, returns and credits included, so it can be
  below zero; ``revenue_per_customer`` divides it by the cohort size (not by the active ones), so
  the sum over a row is the cohort's cumulative revenue per acquired customer.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis.expr.types import DateValue, IntegerValue, Table

from guanxi.analytics.summary import daily

COHORT_COLUMNS = (
    "cohort_month",
    "months_since",
    "cohort_size",
    "customers",
    "retention",
    "revenue",
    "revenue_per_customer",
)


def _month_index(day: DateValue) -> IntegerValue:
    # months counted from year 0: differences of two are calendar months apart
    return (day.year() * 12 + day.month() - 1).cast("int64")


def cohort_matrices(transactions: Table, *, end: dt.date) -> Table:
    """One row per (acquisition month, months since), up to ``end`` (inclusive).

    ``transactions`` has the ``inputs.TRANSACTIONS`` columns. Columns are ``COHORT_COLUMNS``.
    """
    days = daily(transactions, end=end)
    firsts = (
        days.filter(days.amount > 0).group_by("customer_id").aggregate(first_day=days.day.min())
    )
    firsts = firsts.select("customer_id", cohort=_month_index(firsts.first_day))
    sizes = firsts.group_by("cohort").aggregate(cohort_size=firsts.count().cast("int64"))
    # an empty range would drop a cohort; the span from a cohort to ``end`` is never negative
    last = ibis.literal(end.year * 12 + end.month - 1, "int64")
    grid = sizes.mutate(months_since=ibis.range(0, last - sizes.cohort + 1).unnest())

    tagged = days.join(firsts, "customer_id")
    tagged = tagged.mutate(months_since=_month_index(tagged.day) - tagged.cohort)
    # anything before the first purchase (a zero-value order, say) is not the cohort's revenue
    tagged = tagged.filter(tagged.months_since >= 0)
    activity = tagged.group_by(["cohort", "months_since"]).aggregate(
        customers=tagged.customer_id.nunique(where=tagged.amount > 0).cast("int64"),
        revenue=tagged.amount.sum(),
    )
    cells = grid.left_join(activity, ["cohort", "months_since"]).select(
        grid,
        customers=activity.customers.fill_null(0),
        revenue=activity.revenue.fill_null(0.0),
    )
    year = (cells.cohort // 12).cast("int32")
    month = (cells.cohort % 12 + 1).cast("int32")
    return cells.select(
        cohort_month=ibis.date(year, month, 1),
        months_since=cells.months_since.cast("int64"),
        cohort_size=cells.cohort_size,
        customers=cells.customers,
        retention=cells.customers.cast("float64") / cells.cohort_size,
        revenue=cells.revenue.cast("float64"),
        revenue_per_customer=cells.revenue.cast("float64") / cells.cohort_size,
    )
