"""The per-customer summary every model starts from: first and last purchase, order count,
frequency, recency, age T, mean repeat spend, revenue, cost, margin, channels and categories.

Purchases are counted in *days* (several orders on one day are one purchase, as the BG/NBD model
assumes). Money is netted per customer and day first, so a same-day return cancels the purchase and
a later return or credit (a negative day) lowers revenue without being a purchase. A day whose net
amount is zero or less (a free replacement, an order returned in full) is not a purchase day, but
its revenue and cost still count. Customers without any purchase day are left out; lifecycle calls
them prospects.

With ``unit="week"`` frequency still counts purchase days while recency and T are the day counts
divided by 7, as the ``lifetimes`` library does with ``freq_multiplier=7``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
from ibis.expr.types import Table

TimeUnit = Literal["day", "week"]
DAYS_PER_UNIT: dict[str, int] = {"day": 1, "week": 7}

SUMMARY_COLUMNS = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "orders",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "revenue",
    "cost",
    "margin",
    "channels",
    "categories",
)


def daily(transactions: Table, *, end: dt.date | None = None) -> Table:
    """Net amount, cost and order count per customer and day, up to and including ``end``."""
    tx = transactions
    if end is not None:
        tx = tx.filter(tx.ts.date() <= ibis.literal(end))
    tx = tx.mutate(day=tx.ts.date())
    return tx.group_by(["customer_id", "day"]).aggregate(
        amount=tx.amount.sum(),
        cost=tx.cost.fill_null(0).sum(),
        orders=tx.count(),
    )


def customer_summary(
    transactions: Table,
    *,
    end: dt.date,
    unit: TimeUnit = "day",
    lines: Table | None = None,
    channels: bool = True,
) -> Table:
    """One row per customer who bought by ``end`` (inclusive), columns ``SUMMARY_COLUMNS``.

    ``transactions`` has the ``inputs.TRANSACTIONS`` columns; ``lines`` (optional, ``inputs.LINES``)
    supplies the categories bought. ``channels=False`` leaves the channel lists out (null), which
    spares a second pass over the transactions when only the model columns are wanted.

    One grouped pass over the customer-days: the first day's amount is the amount at the
    smallest purchase day (``argmin``), so no join back to the days is needed.
    """
    if unit not in DAYS_PER_UNIT:
        raise ValueError(f"unknown time unit {unit!r}; choose day or week")
    scale = DAYS_PER_UNIT[unit]
    days = daily(transactions, end=end)
    bought = days.amount > 0
    per_customer = days.group_by("customer_id").aggregate(
        first_purchase=days.day.min(where=bought),
        last_purchase=days.day.max(where=bought),
        orders=days.orders.sum(),
        purchase_days=days.count(where=bought),
        revenue=days.amount.sum(),
        cost=days.cost.sum(),
        bought_total=days.amount.sum(where=bought),
        first_amount=days.amount.argmin(days.day, where=bought),
    )
    summary = per_customer.filter(per_customer.purchase_days > 0)
    frequency = (summary.purchase_days - 1).cast("int64")
    repeat_spend = summary.bought_total - summary.first_amount
    summary = summary.mutate(
        frequency=frequency,
        recency=summary.last_purchase.delta(summary.first_purchase, unit="day").cast("float64")
        / scale,
        T=ibis.literal(end).delta(summary.first_purchase, unit="day").cast("float64") / scale,
        monetary_value=ibis.ifelse(frequency > 0, repeat_spend / frequency, 0.0),
        margin=summary.revenue - summary.cost,
    )
    if channels:
        sold = transactions.filter(transactions.ts.date() <= ibis.literal(end))
        lists = sold.group_by("customer_id").aggregate(channels=sold.channel.collect(distinct=True))
        summary = summary.left_join(lists, "customer_id").select(summary, lists.channels)
    else:
        summary = summary.mutate(channels=ibis.null("array<string>"))
    if lines is not None:
        categories = (
            lines.filter(lines.ts.date() <= ibis.literal(end))
            .group_by("customer_id")
            .aggregate(categories=lines.category.collect(distinct=True))
        )
        summary = summary.left_join(categories, "customer_id").select(
            summary, categories.categories
        )
    else:
        # unknown without lines (a typed null: Spark cannot type a literal empty array)
        summary = summary.mutate(categories=ibis.null("array<string>"))
    return summary.select(
        "customer_id",
        "first_purchase",
        "last_purchase",
        summary.orders.cast("int64").name("orders"),
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "revenue",
        "cost",
        "margin",
        summary.channels.sort().name("channels"),
        summary.categories.sort().name("categories"),
    )
