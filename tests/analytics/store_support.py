"""A small shop committed to a real database, for tests that run real scoring (ADBC reads only
committed rows): customers of two reps, products in three categories, and two years of orders
drawn from a BG/NBD-like process so the models have something to fit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.sales.models import Order, OrderLine, Product

START = dt.datetime(2024, 11, 1, 10, 0, tzinfo=dt.UTC)
DAYS = 730
END = (START + dt.timedelta(days=DAYS - 1)).date()
CATEGORIES = ("茶叶", "茶具", "点心")


@dataclass
class Shop:
    customers: list[int]
    prospects: list[int]
    owners: dict[str, int]
    orders: int


def _products(session: Session) -> list[Product]:
    products = [
        Product(
            sku=f"P-{index}",
            name=f"商品{index}",
            category=CATEGORIES[index % 3],
            list_price=Decimal(20 + 10 * index),
            unit_cost=Decimal(8 + 4 * index),
        )
        for index in range(9)
    ]
    session.add_all(products)
    session.flush()
    return products


def seed_shop(
    db: Database, *, customers: int = 300, prospects: int = 5, seed: int = 7, repeat: bool = True
) -> Shop:
    """Commit the shop. ``repeat=False`` gives every buyer exactly one purchase."""
    rng = np.random.default_rng(seed)
    with db.unit_of_work() as session:
        owners = {
            name: auth_service.create_user(
                session=session,
                user_in=UserCreate(username=name, password="correct horse battery", role="sales"),
            ).id
            for name in ("rep-a", "rep-b")
        }
        products = _products(session)
        made = [
            Customer(name=f"顾客{index}", owner_id=owners["rep-a" if index % 2 else "rep-b"])
            for index in range(customers + prospects)
        ]
        session.add_all(made)
        session.flush()
        buyers, waiting = made[:customers], made[customers:]
        count = 0
        for customer in buyers:
            first = rng.uniform(0, DAYS * 0.6)
            rate = rng.gamma(2.0, 1 / 40.0)  # purchases per day while alive
            drop = rng.beta(1.0, 4.0)
            times = [first]
            while repeat:
                gap = rng.exponential(1 / rate)
                if times[-1] + gap >= DAYS - 1 or rng.random() < drop:
                    break
                times.append(times[-1] + gap)
            for moment in times:
                count += 1
                product = products[int(rng.integers(len(products)))]
                quantity = int(rng.integers(1, 4))
                total = product.list_price * quantity
                order = Order(
                    number=f"T-{count:06d}",
                    customer_id=customer.id,
                    owner_id=customer.owner_id,
                    status="completed",
                    channel="store" if count % 3 else "online",
                    ordered_at=START + dt.timedelta(days=float(moment)),
                    subtotal=total,
                    total=total,
                    cost_total=product.unit_cost * quantity,
                )
                order.lines = [
                    OrderLine(
                        line_no=1,
                        product_id=product.id,
                        sku=product.sku,
                        description=product.name,
                        quantity=Decimal(quantity),
                        unit_price=product.list_price,
                        unit_cost=product.unit_cost,
                    )
                ]
                session.add(order)
        session.flush()
        return Shop(
            customers=[c.id for c in buyers],
            prospects=[c.id for c in waiting],
            owners=owners,
            orders=count,
        )
