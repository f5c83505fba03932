"""The simulators: exact BG/NBD and Gamma-Gamma draws, and a whole transaction log."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from guanxi.analytics.clv import (
    BGNBDFit,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_transactions,
)

PARAMS = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.44}


def log(n: int, seed: int = 1, days: int = 730) -> pa.Table:
    return simulate_transactions(n, **PARAMS, start=dt.date(2025, 1, 1), days=days, seed=seed)


def test_summaries_are_consistent_and_reproducible() -> None:
    age = np.linspace(1.0, 100.0, 10_000)
    x, t_x, ages = simulate_bgnbd(10_000, r=0.5, alpha=5.0, a=0.8, b=2.0, T=age, seed=3)
    again = simulate_bgnbd(10_000, r=0.5, alpha=5.0, a=0.8, b=2.0, T=age, seed=3)
    assert all(np.array_equal(one, two) for one, two in zip((x, t_x, ages), again, strict=True))
    assert np.array_equal(ages, age)
    assert np.all((t_x >= 0) & (t_x <= ages)) and np.all(t_x[x == 0] == 0)
    assert np.all(t_x[x > 0] > 0) and np.all(x == np.round(x))


def test_mean_spend_follows_gamma_gamma() -> None:
    x = np.full(200_000, 3.0)
    spend = simulate_gamma_gamma(x, p=6.25, q=3.74, v=15.44, seed=1)
    # E[mean spend] = p v / (q - 1) whatever the number of purchases
    assert spend.mean() == pytest.approx(6.25 * 15.44 / 2.74, rel=0.01)
    assert simulate_gamma_gamma([0, 0], p=6.25, q=3.74, v=15.44, seed=1).tolist() == [0, 0]


def test_transaction_log_has_the_canonical_columns_and_is_reproducible() -> None:
    table = log(2_000)
    assert table.schema == pa.schema(
        [("customer_id", pa.int64()), ("ts", pa.timestamp("us")), ("amount", pa.float64())]
    )
    assert table.equals(log(2_000))
    assert not table.equals(log(2_000, seed=2))
    ids = table["customer_id"].to_numpy()
    assert set(np.unique(ids)) == set(range(1, 2_001))  # everyone bought at least once
    ts = table["ts"].to_numpy()
    assert ts.min() >= np.datetime64("2025-01-01") and ts.max() < np.datetime64("2027-01-01")
    # ordered by customer then time, to the second
    order = np.lexsort((ts, ids))
    assert np.array_equal(order, np.arange(len(ids)))
    assert np.all(ts.astype("datetime64[s]") == ts)
    assert np.all(table["amount"].to_numpy() > 0)


def test_repeat_purchases_in_the_log_follow_the_model() -> None:
    table = log(40_000, days=365)
    ids = table["customer_id"].to_numpy()
    ts = table["ts"].to_numpy()
    starts = ts[np.r_[0, np.flatnonzero(np.diff(ids)) + 1]]
    age_days = (np.datetime64("2026-01-01") - starts) / np.timedelta64(1, "D")
    repeats = np.bincount(ids, minlength=40_001)[1:] - 1
    fit = BGNBDFit(r=PARAMS["r"], alpha=PARAMS["alpha"], a=PARAMS["a"], b=PARAMS["b"])
    expected = fit.expected_purchases_new(age_days)
    # the sum of independent customers' repeat purchases against its expectation
    assert abs(repeats.sum() - expected.sum()) < 4 * np.sqrt(repeats.var() * repeats.size)
