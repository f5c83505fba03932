"""Customer lifetime value as discounted expected margin, and customer equity (客户资产).

CLV_i = sum over steps k of  E[purchases of i in step k] * E[spend per purchase of i]
                             * margin rate_i / (1 + d)^(t_k / 365)
where step k ends t_k days from now, d is the annual discount rate, E[purchases in step k] is the
difference of the BG/NBD conditional expectations at t_k and t_(k-1), and expected spend comes from
Gamma-Gamma. Customer equity is the sum of CLV over the customer base.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from guanxi.analytics.clv.bgnbd import BGNBDFit
from guanxi.analytics.clv.compress import (
    FitFailed,
    FloatArray,
    as_array,
    check_summary,
    unique_with_inverse,
)
from guanxi.analytics.clv.gamma_gamma import GammaGammaFit
from guanxi.errors import N_

DAYS_PER_YEAR = 365.0


def discounted_purchases(
    bgnbd: BGNBDFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    *,
    horizon_days: float = 365,
    discount_rate: float = 0.10,
    unit_days: float = 1,
    step_days: float = 30,
) -> FloatArray:
    """Expected purchases over the horizon, each step's share discounted to today."""
    return _purchases(
        bgnbd,
        frequency,
        recency,
        T,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        unit_days=unit_days,
        step_days=step_days,
    )[1]


def _purchases(
    bgnbd: BGNBDFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803
    *,
    horizon_days: float,
    discount_rate: float,
    unit_days: float,
    step_days: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """P(alive), discounted expected purchases over the horizon and the same undiscounted, per
    customer: the steps' special functions are evaluated once per distinct (x, T)."""
    if horizon_days < 0:
        raise FitFailed(N_("the CLV horizon must not be negative"))
    if discount_rate <= -1 or not np.isfinite(discount_rate):
        raise FitFailed(N_("the discount rate must be greater than -100%"))
    if step_days <= 0 or unit_days <= 0:
        raise FitFailed(N_("the CLV step and time unit must be positive"))
    x, t_x, age = check_summary(frequency, recency, T)
    alive = bgnbd.probability_alive(x, t_x, age)
    (distinct_x, distinct_age), inverse = unique_with_inverse(x, age)
    ends = np.arange(step_days, horizon_days + step_days, step_days, dtype=np.float64)
    ends = np.unique(np.minimum(ends, horizon_days))
    total = np.zeros(distinct_x.size)
    previous = np.zeros(distinct_x.size)
    for end in ends[ends > 0]:
        cumulative = bgnbd.expected_purchases_if_alive(end / unit_days, distinct_x, distinct_age)
        total += (cumulative - previous) / (1.0 + discount_rate) ** (end / DAYS_PER_YEAR)
        previous = cumulative
    # after the last step, ``previous`` is the expectation over the whole horizon
    return alive, alive * total[inverse], alive * previous[inverse]


def customer_value(
    bgnbd: BGNBDFit,
    gamma_gamma: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    monetary_value: ArrayLike,
    *,
    margin_rate: ArrayLike | float,
    horizon_days: float = 365,
    discount_rate: float = 0.10,
    unit_days: float = 1,
    step_days: float = 30,
) -> FloatArray:
    """Each customer's CLV: discounted expected margin over ``horizon_days``.

    ``frequency``, ``recency`` and ``T`` are in units of ``unit_days`` days (1 for a day-based
    summary, 7 for weeks), as the BG/NBD fit was; ``margin_rate`` is margin / revenue, one number
    or one per customer; ``discount_rate`` is annual. Purchases are counted in steps of
    ``step_days`` and each step is discounted at its end.
    """
    return customer_value_with_purchases(
        bgnbd,
        gamma_gamma,
        frequency,
        recency,
        T,
        monetary_value,
        margin_rate=margin_rate,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        unit_days=unit_days,
        step_days=step_days,
    )[0]


def customer_value_with_purchases(
    bgnbd: BGNBDFit,
    gamma_gamma: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    monetary_value: ArrayLike,
    *,
    margin_rate: ArrayLike | float,
    horizon_days: float = 365,
    discount_rate: float = 0.10,
    unit_days: float = 1,
    step_days: float = 30,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``customer_value`` with, from the same evaluation, each customer's P(alive) and expected
    purchases over the horizon (undiscounted): (CLV, P(alive), expected purchases)."""
    x = as_array(frequency, "frequency")
    margin = np.broadcast_to(np.asarray(margin_rate, dtype=np.float64), x.shape)
    if not np.all(np.isfinite(margin)):
        raise FitFailed(N_("margin_rate contains missing or infinite values"))
    alive, discounted, purchases = _purchases(
        bgnbd,
        x,
        recency,
        T,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        unit_days=unit_days,
        step_days=step_days,
    )
    spend = gamma_gamma.conditional_expected_spend(x, monetary_value)
    return discounted * spend * margin, alive, purchases


def customer_equity(values: ArrayLike) -> float:
    """Customer equity (客户资产): the sum of the customers' lifetime values."""
    return float(np.sum(as_array(values, "values")))
