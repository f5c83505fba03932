"""A customer's lifetime sales figures, for the customer 360 page: revenue, cost, margin, how
many orders and when the first and last were placed. Drafts and cancelled orders do not count;
returns count net (what was refunded is not revenue, goods that came back are not cost)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.models import Order
from guanxi.sales.orders.money import ZERO
from guanxi.sales.orders.schemas import CustomerSalesTotals
from guanxi.sales.orders.service import COUNTED


def lifetime_totals(*, session: Session, customer_id: int) -> CustomerSalesTotals:
    """The customer's figures over every counted order (the caller checked the customer is
    visible). Summed in Python from the rounded amounts, so they are exact on both databases."""
    rows = session.execute(
        select(Order.total, Order.refunded, Order.cost_total, Order.ordered_at, Order.currency)
        .where(Order.customer_id == customer_id, Order.status.in_(COUNTED))
        .order_by(Order.ordered_at)
    ).all()
    revenue = sum((total - refunded for total, refunded, *_ in rows), ZERO)
    cost = sum((row.cost_total for row in rows), ZERO)
    currencies = Counter(row.currency for row in rows)
    return CustomerSalesTotals(
        revenue=revenue,
        cost=cost,
        margin=revenue - cost,
        order_count=len(rows),
        first_order_at=rows[0].ordered_at if rows else None,
        last_order_at=rows[-1].ordered_at if rows else None,
        currency=currencies.most_common(1)[0][0] if currencies else None,
    )
