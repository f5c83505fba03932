"""CLV as discounted expected margin and customer equity."""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.analytics.clv import (
    BGNBDFit,
    FitFailed,
    GammaGammaFit,
    customer_equity,
    customer_value,
)

# the CDNOW parameters, converted from weeks to days (alpha is a time scale)
BGNBD = BGNBDFit(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)
SPEND = GammaGammaFit(p=6.25, q=3.74, v=15.44)
X = np.array([0.0, 1.0, 4.0, 4.0, 10.0])
RECENCY = np.array([0.0, 30.0, 200.0, 60.0, 250.0])
AGE = np.array([100.0, 200.0, 260.0, 260.0, 260.0])
MONEY = np.array([0.0, 40.0, 25.0, 25.0, 80.0])


def clv(**options: object) -> np.ndarray:
    settings: dict[str, object] = {"margin_rate": 0.3} | options
    return customer_value(BGNBD, SPEND, X, RECENCY, AGE, MONEY, **settings)  # type: ignore[arg-type]


def test_without_discounting_clv_is_expected_purchases_times_spend_times_margin() -> None:
    values = clv(discount_rate=0.0, horizon_days=365)
    expected = (
        BGNBD.expected_purchases(365, X, RECENCY, AGE)
        * SPEND.conditional_expected_spend(X, MONEY)
        * 0.3
    )
    np.testing.assert_allclose(values, expected, rtol=1e-10)


def test_higher_discount_rates_give_lower_values() -> None:
    low, high = clv(discount_rate=0.05), clv(discount_rate=0.30)
    undiscounted = clv(discount_rate=0.0)
    assert np.all(high < low) and np.all(low < undiscounted)


def test_a_zero_horizon_is_worth_nothing_and_longer_horizons_more() -> None:
    assert np.all(clv(horizon_days=0) == 0)
    one, two = clv(horizon_days=365), clv(horizon_days=730)
    assert np.all(two > one) and np.all(one > 0)


def test_discounting_is_per_step_at_the_annual_rate() -> None:
    # one step of a full year is discounted once by 1 + d
    yearly = clv(horizon_days=365, step_days=365, discount_rate=0.10)
    undiscounted = clv(horizon_days=365, step_days=365, discount_rate=0.0)
    np.testing.assert_allclose(yearly, undiscounted / 1.10, rtol=1e-12)
    # finer steps discount early purchases less
    assert np.all(clv(horizon_days=365, step_days=30, discount_rate=0.10) > yearly)


def test_weekly_summaries_give_the_same_value_as_daily_ones() -> None:
    weekly_fit = BGNBDFit(r=0.243, alpha=4.414, a=0.793, b=2.426)
    weekly = customer_value(
        weekly_fit, SPEND, X, RECENCY / 7, AGE / 7, MONEY, margin_rate=0.3, unit_days=7
    )
    np.testing.assert_allclose(weekly, clv(), rtol=1e-9)


def test_margin_rate_per_customer_scales_each_value() -> None:
    rates = np.array([0.1, 0.2, 0.3, 0.4, 0.0])
    np.testing.assert_allclose(clv(margin_rate=rates), clv(margin_rate=1.0) * rates)


def test_recent_frequent_buyers_are_worth_more_than_lapsed_ones() -> None:
    values = clv()
    assert values[2] > values[3]  # same history, last purchase recent rather than long ago
    assert values[4] > values[2]


def test_customer_equity_is_the_sum_of_values() -> None:
    values = clv()
    assert customer_equity(values) == pytest.approx(values.sum())
    assert customer_equity([]) == 0.0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(FitFailed, match="horizon"):
        clv(horizon_days=-1)
    with pytest.raises(FitFailed, match="discount rate"):
        clv(discount_rate=-1.5)
    with pytest.raises(FitFailed, match="margin_rate"):
        clv(margin_rate=np.nan)
