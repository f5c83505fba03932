"""Is a customer's spending rising or falling? Net spend and purchase days in the latest window
against the window before it, the signal lifecycle stages and churn risk read.

``trend`` is the symmetric relative change

    trend = (recent - previous) / (|recent| + |previous|)

which lies in [-1, 1]: -1 means the customer spent in the previous window and nothing since, +1
that everything was spent in the latest window (a new or returning customer, so it is defined when
the previous window is empty), 0 steady spend (or no spend in either window). Doubling spend gives
+1/3, halving it -1/3. Unlike a plain ratio it needs no guard for a zero denominator and does not
explode for small previous amounts; unlike a log-ratio it needs no smoothing constant in money
units.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis.expr.types import Table

from guanxi.analytics.summary import daily

TREND_COLUMNS = (
    "customer_id",
    "recent_revenue",
    "previous_revenue",
    "recent_days",
    "previous_days",
    "trend",
    "days_since_last",
)


def spend_trend(transactions: Table, *, end: dt.date, window_days: int = 180) -> Table:
    """Per customer who bought by ``end``: spend in ``(end - window, end]`` against the window
    before.

    ``transactions`` has the ``inputs.TRANSACTIONS`` columns. Money is net of returns (a refund
    counts in the window it happened in); a purchase day is a day with a positive net amount, as in
    the customer summary. ``days_since_last`` counts days from the last purchase day to ``end``.
    Customers without any purchase day by ``end`` are left out (lifecycle calls them prospects).

    References
    ----------
    Törnqvist, L., Vartia, P. and Vartia, Y. (1985). How should relative changes be measured?
    *The American Statistician* 39(1), 43-46 (the symmetric relative change used for ``trend``).
    """
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    recent_start = end - dt.timedelta(days=window_days)
    previous_start = recent_start - dt.timedelta(days=window_days)
    days = daily(transactions, end=end)
    in_recent = days.day > ibis.literal(recent_start)
    in_previous = (days.day > ibis.literal(previous_start)) & ~in_recent
    bought = days.amount > 0
    per_customer = days.group_by("customer_id").aggregate(
        recent_revenue=days.amount.sum(where=in_recent).fill_null(0.0),
        previous_revenue=days.amount.sum(where=in_previous).fill_null(0.0),
        recent_days=days.count(where=in_recent & bought),
        previous_days=days.count(where=in_previous & bought),
        last_purchase=days.day.max(where=bought),
    )
    buyers = per_customer.filter(per_customer.last_purchase.notnull())
    recent = buyers.recent_revenue.cast("float64")
    previous = buyers.previous_revenue.cast("float64")
    scale = recent.abs() + previous.abs()
    return buyers.select(
        "customer_id",
        recent.name("recent_revenue"),
        previous.name("previous_revenue"),
        buyers.recent_days.cast("int64").name("recent_days"),
        buyers.previous_days.cast("int64").name("previous_days"),
        ibis.ifelse(scale > 0, (recent - previous) / scale, 0.0).name("trend"),
        ibis.literal(end)
        .delta(buyers.last_purchase, unit="day")
        .cast("int64")
        .name("days_since_last"),
    )
