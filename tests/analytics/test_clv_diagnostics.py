"""Calibration/holdout diagnostics on a simulated transaction log: a correct model predicts the
holdout by frequency and tracks cumulative repeat purchases; the row shapes are stable."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from guanxi.analytics.clv import (
    BGNBDFit,
    FitFailed,
    cumulative_tracking,
    fit_bgnbd,
    holdout_by_frequency,
    simulate_transactions,
)

START = np.datetime64("2025-01-01")
PARAMS = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
MODEL = BGNBDFit(**PARAMS)  # type: ignore[arg-type]


def calibration_and_holdout(n: int, seed: int) -> dict[str, np.ndarray]:
    """Day summaries up to day 365 and repeat purchase days in the following 365 days for the
    customers who first bought in the calibration year, from a simulated two-year log."""
    table = simulate_transactions(
        n, **PARAMS, p=6.25, q=3.74, v=15.44, start=dt.date(2025, 1, 1), days=730, seed=seed
    )
    ids = table["customer_id"].to_numpy()
    days = (table["ts"].to_numpy().astype("datetime64[D]") - START).astype(np.int64)
    pairs = np.unique(ids * 1000 + days)  # one purchase per customer and day
    ids, days = pairs // 1000, pairs % 1000
    starts = np.r_[0, np.flatnonzero(np.diff(ids)) + 1]
    first = np.repeat(days[starts], np.diff(np.r_[starts, ids.size]))
    keep = first[starts] < 365
    calibration = (days < 365) & keep[np.searchsorted(ids[starts], ids)]
    holdout = (days >= 365) & keep[np.searchsorted(ids[starts], ids)]
    cal_ids = ids[calibration]
    per_customer = np.unique(cal_ids, return_index=True, return_counts=True)
    _, index, counts = per_customer
    last_index = index + counts - 1
    holdout_counts = np.bincount(
        np.searchsorted(per_customer[0], ids[holdout]), minlength=counts.size
    )
    return {
        "frequency": counts - 1.0,
        "recency": (days[calibration][last_index] - days[calibration][index]).astype(float),
        "T": (365 - days[calibration][index]).astype(float),
        "holdout": holdout_counts.astype(float),
        "first": days[calibration][index].astype(float),
        "repeat_days": days[(days > first) & keep[np.searchsorted(ids[starts], ids)]].astype(float),
    }


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    return calibration_and_holdout(60_000, seed=5)


def test_holdout_predictions_match_actuals_by_frequency(data: dict[str, np.ndarray]) -> None:
    fit = fit_bgnbd(data["frequency"], data["recency"], data["T"])
    rows = holdout_by_frequency(
        fit, data["frequency"], data["recency"], data["T"], data["holdout"], holdout_length=365
    )
    assert [row["label"] for row in rows][:3] == ["0", "1", "2"]
    assert rows[-1]["label"] == "7+"
    assert sum(row["customers"] for row in rows) == data["frequency"].size
    for row in rows:
        if row["customers"] >= 1000:
            assert row["predicted"] == pytest.approx(row["actual"], rel=0.12), row
    # customers who bought more in calibration buy more in the holdout, predicted and actual
    assert rows[0]["actual"] < rows[3]["actual"] and rows[0]["predicted"] < rows[3]["predicted"]


def test_cumulative_tracking_follows_the_actual_curve(data: dict[str, np.ndarray]) -> None:
    fit = MODEL
    rows = cumulative_tracking(fit, data["first"], data["repeat_days"], periods=104, period_days=7)
    assert [row["period"] for row in rows] == list(range(1, 105))
    assert rows[-1]["end_day"] == 728
    cumulative = [row["predicted"] for row in rows]
    assert np.all(np.diff(cumulative) >= 0)
    assert rows[-1]["actual"] == data["repeat_days"][data["repeat_days"] <= 728].size
    # counting purchase days loses same-day repeats (about 2% at these rates), and the first
    # half year rests on few, heavy-tailed buyers; from then on the curves agree within 5%
    for row in rows[25::13]:
        assert row["predicted"] == pytest.approx(row["actual"], rel=0.05), row
    assert sum(row["actual_increment"] for row in rows) == pytest.approx(rows[-1]["actual"])


def test_holdout_rows_by_hand() -> None:
    fit = MODEL
    frequency = [0, 0, 1, 9, 12]
    rows = holdout_by_frequency(
        fit,
        frequency,
        [0, 0, 5, 50, 60],
        [10, 20, 30, 60, 70],
        [0, 2, 1, 3, 5],
        holdout_length=30,
        max_frequency=3,
    )
    assert [(r["label"], r["customers"], r["actual"]) for r in rows] == [
        ("0", 2, 1.0),
        ("1", 1, 1.0),
        ("3+", 2, 4.0),
    ]
    predicted = fit.expected_purchases(30, frequency, [0, 0, 5, 50, 60], [10, 20, 30, 60, 70])
    assert rows[2]["predicted"] == pytest.approx(predicted[3:].mean())


def test_bad_diagnostic_input_is_refused() -> None:
    fit = MODEL
    with pytest.raises(FitFailed, match="one value per customer"):
        holdout_by_frequency(fit, [1, 2], [1, 2], [5, 5], [1], holdout_length=10)
    with pytest.raises(FitFailed, match="holdout length"):
        holdout_by_frequency(fit, [1], [1], [5], [1], holdout_length=0)
    with pytest.raises(FitFailed, match="no customers"):
        cumulative_tracking(fit, [], [], periods=3, period_days=7)
