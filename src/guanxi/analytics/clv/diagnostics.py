"""How well a fitted BG/NBD model predicts: calibration/holdout comparison by frequency and
cumulative tracking of repeat purchases over time (Fader, Hardie & Lee 2005, figures 2-4).

Fit the model on a calibration period, then compare what it predicts for the following holdout
period with what customers actually did. Predictions close to the actuals in every frequency
bucket, and a cumulative curve that follows the actual one past the calibration end, mean the
model can be trusted for CLV.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from guanxi.analytics.clv.bgnbd import BGNBDFit
from guanxi.analytics.clv.compress import FitFailed, as_array, check_summary, codes, totals
from guanxi.errors import N_


def holdout_by_frequency(
    fit: BGNBDFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the model's name for a customer's age
    holdout_purchases: ArrayLike,
    *,
    holdout_length: float,
    max_frequency: int = 7,
) -> list[dict[str, Any]]:
    """Mean predicted and actual repeat purchases in the holdout, per calibration frequency.

    One row per frequency 0 .. max_frequency - 1 and one ``max_frequency+`` row for the rest:
    ``frequency`` (the bucket's lower bound), ``label``, ``customers``, ``predicted``, ``actual``.
    ``holdout_length`` is in the summary's time unit. Empty buckets are left out.
    """
    x, t_x, age = check_summary(frequency, recency, T)
    actual = as_array(holdout_purchases, "holdout_purchases")
    if actual.size != x.size:
        raise FitFailed(N_("holdout_purchases must have one value per customer"))
    if holdout_length <= 0:
        raise FitFailed(N_("the holdout length must be positive"))
    predicted = fit.expected_purchases(holdout_length, x, t_x, age)
    bucket = np.minimum(x, max_frequency).astype(np.int64)
    size = max_frequency + 1
    customers = np.bincount(bucket, minlength=size)
    predicted_sum = totals(bucket, predicted, size)
    actual_sum = totals(bucket, actual, size)
    rows = []
    for k in range(size):
        if customers[k] == 0:
            continue
        rows.append(
            {
                "frequency": k,
                "label": f"{k}+" if k == max_frequency else str(k),
                "customers": int(customers[k]),
                "predicted": float(predicted_sum[k] / customers[k]),
                "actual": float(actual_sum[k] / customers[k]),
            }
        )
    return rows


def cumulative_tracking(
    fit: BGNBDFit,
    first_purchase_offsets: ArrayLike,
    repeat_purchase_offsets: ArrayLike,
    *,
    periods: int,
    period_days: float,
    unit_days: float = 1,
) -> list[dict[str, Any]]:
    """Predicted and actual cumulative repeat purchases of the whole base, period by period.

    ``first_purchase_offsets`` has each customer's first purchase, ``repeat_purchase_offsets``
    every repeat purchase, both in days since the start of the tracking window (whole days
    evaluate fastest: the model is evaluated once per distinct first-purchase day). Period k ends
    k * period_days after the start; predicted is the sum over customers of E[X(end - first)]
    for a new customer (``unit_days`` converts days to the model's unit). Rows: ``period``,
    ``end_day``, ``predicted``, ``actual`` (cumulative) and the per-period ``predicted_increment``
    and ``actual_increment``.
    """
    if periods <= 0 or period_days <= 0 or unit_days <= 0:
        raise FitFailed(N_("periods, period length and time unit must be positive"))
    first = as_array(first_purchase_offsets, "first_purchase_offsets")
    repeats = np.sort(as_array(repeat_purchase_offsets, "repeat_purchase_offsets"))
    if first.size == 0:
        raise FitFailed(N_("there are no customers to track"))
    distinct, index = codes(first)
    starts = np.bincount(index, minlength=distinct.size).astype(np.float64)
    rows: list[dict[str, Any]] = []
    previous_predicted = previous_actual = 0.0
    for k in range(1, periods + 1):
        end = k * period_days
        elapsed = np.clip((end - distinct) / unit_days, 0.0, None)
        predicted = float(starts @ fit.expected_purchases_new(elapsed))
        actual = float(np.searchsorted(repeats, end, side="right"))
        rows.append(
            {
                "period": k,
                "end_day": end,
                "predicted": predicted,
                "actual": actual,
                "predicted_increment": predicted - previous_predicted,
                "actual_increment": actual - previous_actual,
            }
        )
        previous_predicted, previous_actual = predicted, actual
    return rows
