"""Seeded shop data with the structure recommendations exploit, for tests, docs and benchmarks.

Products sit in categories and are unevenly popular within them (Zipf-like). Each customer has a
taste: a few categories they mostly buy from (a sparse Dirichlet draw), which for some customers
changes once at a random moment (so recent purchases say more than old ones). Each product has a
complement in the next category (a dress and its belt); a customer who owns a product later buys
its complement with some probability, more likely soon after buying it. Some purchases repeat an
owned product (consumables), and customers view products in their categories before and between
purchases. Popularity alone knows none of this, so a model that learns "bought this, also bought"
must beat it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from guanxi.analytics import inputs


@dataclass(frozen=True)
class ShopSimulation:
    """Size and habits of the simulated shop."""

    customers: int = 3000
    categories: int = 8
    products_per_category: int = 25
    days: int = 730
    mean_orders: float = 6.0
    taste_concentration: float = 0.3
    complement_rate: float = 0.35
    complement_half_life: float = 60.0
    """A product bought this many days ago is half as likely to draw its complement as one
    bought today."""
    repeat_rate: float = 0.15
    taste_drift: float = 0.5
    """Share of customers whose taste is drawn anew at a random moment (a move, a baby, a job)."""
    views_per_order: float = 2.0
    start: dt.date = dt.date(2023, 1, 1)

    @property
    def end(self) -> dt.date:
        """The last day of the simulated period."""
        return self.start + dt.timedelta(days=self.days - 1)


def simulate_shop(
    sim: ShopSimulation = ShopSimulation(), *, seed: int = 0
) -> tuple[pa.Table, pa.Table]:
    """Order lines (``inputs.LINES``) and product views (``inputs.EVENTS``) of a simulated shop."""
    rng = np.random.default_rng(seed)
    n_cat, per_cat = sim.categories, sim.products_per_category
    n_products = n_cat * per_cat
    popularity = 1.0 / np.arange(1, per_cat + 1) ** 0.8
    popularity /= popularity.sum()
    prices = np.round(rng.lognormal(4.0, 0.6, n_products), 2)
    # the complement of a product is a product of the next category, drawn by popularity
    complement = np.array(
        [
            ((p // per_cat + 1) % n_cat) * per_cat + rng.choice(per_cat, p=popularity)
            for p in range(n_products)
        ]
    )
    category_names = [f"category {c + 1}" for c in range(n_cat)]
    base = dt.datetime.combine(sim.start, dt.time())
    line_rows: dict[str, list[object]] = {name: [] for name in inputs.LINES.names}
    view_rows: dict[str, list[object]] = {name: [] for name in inputs.EVENTS.names}

    def pick_in(category: int) -> int:
        return int(category * per_cat + rng.choice(per_cat, p=popularity))

    order_id = 0
    for customer in range(1, sim.customers + 1):
        taste = rng.dirichlet(np.full(n_cat, sim.taste_concentration))
        later_taste = rng.dirichlet(np.full(n_cat, sim.taste_concentration))
        drifts_at = rng.uniform(0, sim.days) if rng.random() < sim.taste_drift else np.inf
        orders = 1 + rng.poisson(sim.mean_orders - 1)
        times = np.sort(rng.uniform(0, sim.days, orders))
        owned: list[int] = []
        bought_at: list[float] = []
        for when in times:
            if when >= drifts_at:
                taste, drifts_at = later_taste, np.inf
            order_id += 1
            ts = base + dt.timedelta(days=float(when))
            draw = rng.random()
            if owned and draw < sim.complement_rate:
                # the belt follows the dress soon: recent purchases draw complements more
                recent = 0.5 ** ((when - np.array(bought_at)) / sim.complement_half_life)
                product = int(complement[owned[rng.choice(len(owned), p=recent / recent.sum())]])
            elif owned and draw < sim.complement_rate + sim.repeat_rate:
                product = owned[rng.integers(len(owned))]
            else:
                product = pick_in(int(rng.choice(n_cat, p=taste)))
            owned.append(product)
            bought_at.append(float(when))
            quantity = float(1 + rng.poisson(0.3))
            for name, value in (
                ("customer_id", customer),
                ("order_id", order_id),
                ("ts", ts),
                ("product_id", product + 1),
                ("category", category_names[product // per_cat]),
                ("quantity", quantity),
                ("amount", round(quantity * float(prices[product]), 2)),
            ):
                line_rows[name].append(value)
            for _ in range(rng.poisson(sim.views_per_order)):
                viewed = pick_in(int(rng.choice(n_cat, p=taste)))
                seen = ts - dt.timedelta(days=float(rng.uniform(0, 30)))
                for name, value in (
                    ("customer_id", customer),
                    ("ts", max(seen, base)),
                    ("product_id", viewed + 1),
                    ("kind", "product_view"),
                    ("dwell_seconds", float(rng.exponential(40.0))),
                ):
                    view_rows[name].append(value)
    lines = pa.table(line_rows).cast(inputs.LINES)
    events = pa.table(view_rows).cast(inputs.EVENTS)
    return lines, events
