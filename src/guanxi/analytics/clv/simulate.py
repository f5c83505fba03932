"""Seeded draws from the BG/NBD and Gamma-Gamma generative processes, for recovery tests and
benchmarks: summaries (x, t_x, T) directly, or a whole transaction log.

Both are exact, not discretised: purchases happen in continuous time. ``simulate_transactions``
stamps them to the second, so two purchases on one calendar day (which the day-based summary
counts once) happen only as often as the model says they do; at CDNOW-like rates (about one
purchase a month) that is under 2% of repeat purchases.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from guanxi.analytics.clv.compress import FloatArray

if TYPE_CHECKING:  # Arrow loads when a log is made: ``guanxi clv fit`` never needs it
    import pyarrow as pa

SECONDS_PER_DAY = 86_400


def _customers(
    rng: np.random.Generator, n: int, r: float, alpha: float, a: float, b: float, age: FloatArray
) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
    """Per customer: repeat purchases seen by T (x), purchases in (0, T] ignoring drop-out (N),
    and the purchase rate lambda."""
    rate = rng.gamma(r, 1.0 / alpha, size=n)
    dropout = rng.beta(a, b, size=n)
    # the customer leaves right after their J-th repeat purchase, J ~ Geometric(p) on 1, 2, ...
    last = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    arrivals = rng.poisson(rate * age)
    x = np.minimum(arrivals, last)
    return x.astype(np.int64), arrivals.astype(np.int64), rate


def simulate_bgnbd(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    seed: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(frequency, recency, T) for ``n`` customers drawn from BG/NBD; ``T`` a scalar or n ages.

    Given N Poisson arrivals in (0, T], their times are N sorted uniforms, so the time of the
    x-th (the last purchase seen) is T * Beta(x, N - x + 1).
    """
    rng = np.random.default_rng(seed)
    age = np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()
    x, arrivals, _ = _customers(rng, n, r, alpha, a, b, age)
    t_x = np.zeros(n)
    seen = x > 0
    t_x[seen] = age[seen] * rng.beta(x[seen], arrivals[seen] - x[seen] + 1)
    return x.astype(np.float64), t_x, age


def simulate_gamma_gamma(x: ArrayLike, *, p: float, q: float, v: float, seed: int) -> FloatArray:
    """Mean spend of each customer's ``x`` repeat purchases under Gamma-Gamma (0 where x = 0).

    Each purchase is Gamma(p, nu) with nu ~ Gamma(q, v) per customer, so the mean of x purchases
    is Gamma(p x, nu x).
    """
    counts = np.asarray(x, dtype=np.float64).reshape(-1)
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / v, size=counts.size)
    seen = counts > 0
    mean = np.zeros(counts.size)
    mean[seen] = rng.gamma(p * counts[seen], 1.0 / (nu[seen] * counts[seen]))
    return mean


def simulate_transactions(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    p: float,
    q: float,
    v: float,
    start: dt.date,
    days: int,
    seed: int,
) -> pa.Table:
    """A transaction log (customer_id, ts, amount) of ``n`` customers over ``days`` from ``start``.

    First purchases are spread uniformly over the window; afterwards each customer follows
    BG/NBD with rates per day (``alpha`` in days) and spends Gamma-Gamma amounts on every purchase,
    the first included. Rows are ordered by customer, then time.
    """
    rng = np.random.default_rng(seed)
    first = rng.uniform(0.0, days, size=n)
    age = days - first
    x, arrivals, _ = _customers(rng, n, r, alpha, a, b, age)
    # The first x of N sorted uniforms on (0, T]: with E_1..E_{N+1} standard exponentials and
    # S_k their partial sums, U_(k) = S_k / S_{N+1}; only S_1..S_x are needed plus the sum of
    # the remaining N + 1 - x, one Gamma draw per customer
    total = int(x.sum())
    owner = np.repeat(np.arange(n), x)
    steps = rng.standard_exponential(total)
    partial = np.cumsum(steps)
    ends = np.cumsum(x)
    base = np.concatenate([[0.0], partial])[ends - x]  # cumulative sum before each customer
    partial -= np.repeat(base, x)
    last_partial = np.zeros(n)
    seen = x > 0
    last_partial[seen] = partial[ends[seen] - 1]
    scale = last_partial + rng.gamma(arrivals - x + 1.0)
    repeat_offsets = first[owner] + age[owner] * partial / scale[owner]

    # lay rows out by customer without sorting: each customer's first purchase, then their
    # repeat purchases, which the partial sums already put in time order
    customer_of = np.repeat(np.arange(n), x + 1)
    block = np.cumsum(x + 1) - (x + 1)  # row of each customer's first purchase
    is_first = np.zeros(customer_of.size, dtype=bool)
    is_first[block] = True
    offsets = np.empty(customer_of.size)
    offsets[block] = first
    offsets[~is_first] = repeat_offsets
    seconds = np.floor(offsets * SECONDS_PER_DAY).astype(np.int64)

    nu = rng.gamma(q, 1.0 / v, size=n)
    amount = rng.gamma(p, 1.0 / nu[customer_of])
    origin = np.datetime64(start.isoformat(), "us")
    ts = origin + (seconds * 1_000_000).astype("timedelta64[us]")
    import pyarrow as pa

    return pa.table(
        {
            "customer_id": pa.array(customer_of.astype(np.int64) + 1, pa.int64()),
            "ts": pa.array(ts, pa.timestamp("us")),
            "amount": pa.array(amount, pa.float64()),
        }
    )
