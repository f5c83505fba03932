"""Demo sales data: the demo company's catalogue, its opportunity pipeline, three years of
orders with invoices, shipments and returns for the demo customers, and its contracts.

The steps run after the customers step and share one moment, ``now``, taken when the first of
them starts, so that every date in the sales data is relative to the same day. Everything but the
few dozen products is written in bulk (one audit entry per batch), so the default demo still
builds in seconds.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from guanxi.db import utcnow
from guanxi.demo import DemoCompany, demo_step
from guanxi.sales.demo_catalog import CATALOG, EXTERNAL_IDS
from guanxi.sales.demo_contracts import build_contracts
from guanxi.sales.demo_orders import build_orders
from guanxi.sales.demo_pipeline import build_pipeline
from guanxi.sales.models import Product

_NOW = "sales_now"
_PRODUCTS = "sales_products"
_WON = "sales_won"
_BUYERS = "sales_buyers"


def _now(company: DemoCompany) -> datetime:
    now: datetime = company.extra.setdefault(_NOW, utcnow())
    return now


@demo_step(30)
def products(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """The catalogue, through the ORM: a few dozen rows, audited like any product."""
    since = _now(company) - timedelta(days=3 * 365 + 30)
    rows = [
        Product(
            sku=item.sku,
            name=item.name,
            category=item.category,
            list_price=item.list_price,
            unit_cost=item.unit_cost,
            unit=item.unit,
            description="",
            is_active=item.is_active,
            external_id=EXTERNAL_IDS.get(item.sku),
            created_at=since,
            updated_at=since,
        )
        for item in CATALOG
    ]
    session.add_all(rows)
    session.flush()
    company.extra[_PRODUCTS] = [(row.id, item) for row, item in zip(rows, CATALOG, strict=True)]


@demo_step(31)
def opportunities(session: Session, rng: random.Random, company: DemoCompany) -> None:
    reps = [u for u in company.users.values() if u.role.name == "sales"]
    company.extra[_WON] = build_pipeline(
        session, rng, reps=reps, products=company.extra[_PRODUCTS], now=_now(company)
    )


@demo_step(32)
def orders(session: Session, rng: random.Random, company: DemoCompany) -> None:
    company.extra[_BUYERS] = build_orders(
        session,
        rng,
        products=company.extra[_PRODUCTS],
        won=company.extra[_WON],
        now=_now(company),
    )


@demo_step(33)
def contracts(session: Session, rng: random.Random, company: DemoCompany) -> None:
    build_contracts(session, rng, buyers=company.extra[_BUYERS], now=_now(company))
