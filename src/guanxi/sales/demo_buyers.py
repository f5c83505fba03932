"""Who buys what and when in the demo: a buying profile per demo customer and the times of its
orders over the last three years.

Each customer gets a latent spend level (log-normal), a purchase rate, a taste for product
categories and a usual channel. Orders come as a renewal process whose gaps stretch by a
per-customer factor after every purchase, and after every purchase the customer may stop
buying for good (as in the BG/NBD model's story), so repeat buying thins out over time and many
customers fall silent; some never buy at all. A few organisations (distributors mostly) are big
accounts with large, frequent orders; a few persons hunt discounts on thin-margin goods and
end up costing more than they bring.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from guanxi.sales.demo_catalog import (
    BUSINESS_TASTE,
    CATEGORIES,
    DISTRIBUTOR_TASTE,
    PERSON_TASTE,
)

HISTORY_DAYS = 3 * 365
# China has kept UTC+8 without daylight saving since 1991
SHANGHAI = timedelta(hours=8)
MAX_ORDERS = 400  # per customer, so one unlucky draw cannot dominate the demo


@dataclass(slots=True)
class Buyer:
    """A demo customer's buying habits."""

    customer_id: int
    owner_id: int | None
    team_id: int | None
    segment: str  # person | bargain | business | distributor | big
    channel: str  # the usual one
    level: float  # spend multiplier around 1
    categories: tuple[str, ...]
    cumulative: tuple[float, ...]  # category weights, cumulated for bisect
    discount_chance: float
    discount_range: tuple[float, float]
    return_chance: float
    tax_number: str

    @property
    def organisation(self) -> bool:
        return self.segment in {"business", "distributor", "big"}

    def category(self, rng: random.Random) -> str:
        return self.categories[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


_CHANNELS = {
    "person": (("store", 40), ("web", 28), ("marketplace", 17), ("phone", 10), ("other", 5)),
    "bargain": (("web", 50), ("marketplace", 50)),
    "business": (("field", 40), ("phone", 35), ("web", 15), ("store", 10)),
    "distributor": (("distributor", 90), ("field", 10)),
    "big": (("distributor", 80), ("field", 20)),
}
# (orders a year: median, spread), stretch of each gap (mean - 1), chance to stop after an order,
# chance never to buy at all
_RATES = {
    "person": ((1.2, 0.7), 0.35, (1.2, 5.0), 0.25),
    "bargain": ((4.0, 0.4), 0.2, (1.0, 12.0), 0.0),
    "business": ((4.0, 0.6), 0.15, (1.0, 10.0), 0.12),
    "distributor": ((6.0, 0.5), 0.12, (1.0, 14.0), 0.1),
    "big": ((15.0, 0.3), 0.02, None, 0.0),
}


def _segment(rng: random.Random, kind: str, customer_type: str) -> str:
    if kind != "organisation":
        return "bargain" if rng.random() < 0.03 else "person"
    big_chance = {"distributor": 0.2, "reseller": 0.06}.get(customer_type, 0.01)
    if rng.random() < big_chance:
        return "big"
    return "distributor" if customer_type in {"distributor", "reseller"} else "business"


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


def make_buyer(
    rng: random.Random,
    customer_id: int,
    kind: str,
    customer_type: str,
    owner_id: int | None,
    team_id: int | None,
) -> Buyer:
    segment = _segment(rng, kind, customer_type)
    base = {"person": PERSON_TASTE, "bargain": PERSON_TASTE, "business": BUSINESS_TASTE}.get(
        segment, DISTRIBUTOR_TASTE
    )
    # a personal taste: the segment's weights times a gamma draw per category
    weights = [base[c] * rng.gammavariate(0.8, 1.0) + 1e-3 for c in CATEGORIES]
    if segment == "person" and rng.random() < 0.02:
        segment_return = 0.25  # a serial returner
    else:
        segment_return = {"bargain": 0.08, "person": 0.03}.get(segment, 0.03)
    discount = {
        "person": (0.15, (0.03, 0.10)),
        "bargain": (0.85, (0.12, 0.25)),
        "business": (0.4, (0.03, 0.10)),
        "distributor": (1.0, (0.08, 0.15)),
        "big": (1.0, (0.06, 0.12)),
    }[segment]
    tax = (
        "91" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(16))
        if segment in {"business", "distributor", "big"}
        else ""
    )
    return Buyer(
        customer_id=customer_id,
        owner_id=owner_id,
        team_id=team_id,
        segment=segment,
        channel=_weighted(rng, _CHANNELS[segment]),
        level=rng.lognormvariate(0.0, 0.5),
        categories=CATEGORIES,
        cumulative=tuple(accumulate(weights)),
        discount_chance=discount[0],
        discount_range=discount[1],
        return_chance=segment_return,
        tax_number=tax,
    )


def order_channel(rng: random.Random, buyer: Buyer) -> str:
    """Mostly the buyer's habit, sometimes another of its segment's channels."""
    if rng.random() < 0.8:
        return buyer.channel
    return _weighted(rng, _CHANNELS[buyer.segment])


def purchase_times(
    rng: random.Random, buyer: Buyer, joined: datetime, now: datetime
) -> list[datetime]:
    """When ``buyer`` orders, from shortly after it ``joined`` up to ``now`` (continuous time;
    the time of day is chosen later, by channel)."""
    (median, spread), stretch, stop, never = _RATES[buyer.segment]
    if rng.random() < never:
        return []
    rate = rng.lognormvariate(math.log(median), spread) / 365.0  # orders a day
    growth = 1.0 + rng.expovariate(1.0 / stretch)
    dropout = rng.betavariate(*stop) if stop else 0.005
    # many buy the day they became customers, the rest within a few weeks
    first = 0.2 if rng.random() < 0.4 else rng.expovariate(1 / 12.0)
    moment = max(joined + timedelta(days=first), now - timedelta(days=HISTORY_DAYS))
    times: list[datetime] = []
    gap_scale = 1.0
    while moment <= now and len(times) < MAX_ORDERS:
        times.append(moment)
        if rng.random() < dropout:
            break
        moment += timedelta(days=rng.expovariate(rate) * gap_scale)
        gap_scale *= growth
    return times


# the hour of day (Shanghai time) orders come in, by channel
_HOURS: dict[str, tuple[float, ...]] = {
    "store": tuple(accumulate([0] * 10 + [4, 6, 6, 5, 6, 7, 8, 9, 10, 9, 7, 3] + [0, 0])),
    "web": tuple(
        accumulate(
            [2, 1, 0.5, 0.3, 0.2, 0.3, 1, 2, 3, 4, 5, 5, 6, 5, 5, 5, 5, 5, 6, 8, 10, 11, 9, 5]
        )
    ),
    "office": tuple(accumulate([0] * 9 + [8, 10, 9, 4, 7, 9, 9, 8, 5] + [0] * 6)),
}
_HOURS["marketplace"] = _HOURS["web"]
_HOURS["other"] = _HOURS["store"]
_B2B = frozenset({"phone", "field", "distributor"})


def time_of_day(rng: random.Random, moment: datetime, channel: str) -> datetime:
    """``moment`` moved to a plausible hour and minute of its Shanghai day for ``channel``; office
    channels skip weekends. Returned in UTC."""
    local = (moment + SHANGHAI).date()
    hours = _HOURS["office"] if channel in _B2B else _HOURS[channel]
    if channel in _B2B and local.weekday() >= 5:
        local += timedelta(days=7 - local.weekday())
    hour = bisect.bisect(hours, rng.random() * hours[-1])
    start = datetime(local.year, local.month, local.day, tzinfo=moment.tzinfo)
    return start + timedelta(hours=hour, seconds=rng.randrange(3600)) - SHANGHAI
