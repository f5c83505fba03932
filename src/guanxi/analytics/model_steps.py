"""The model steps of a scoring run: the CLV fits and each customer's figures, the
calibration/holdout diagnostics with cumulative tracking, and the churn-cause model. NumPy,
SciPy and scikit-learn on what the engine computed; ``scoring.score`` calls them in order."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from typing import Any

import ibis
import numpy as np
import pandas as pd

from guanxi.analytics import churn, trend
from guanxi.analytics.clv import (
    FitFailed,
    cumulative_tracking,
    customer_value,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_by_frequency,
)
from guanxi.analytics.engine import Engine
from guanxi.analytics.params import AnalysisParameters
from guanxi.analytics.summary import DAYS_PER_UNIT, customer_summary, daily

MIN_CHURN_CUSTOMERS = 40  # below this a holdout AUC says nothing


def fit_models(sm: pd.DataFrame, params: AnalysisParameters) -> dict[str, Any]:
    """BG/NBD and Gamma-Gamma on the summary, and each customer's P(alive), expected purchases,
    expected spend and CLV. Raises FitFailed with a clear message when a model cannot be fitted."""
    unit_days = DAYS_PER_UNIT[params.unit]
    frequency = sm["frequency"].to_numpy(np.float64)
    recency = sm["recency"].to_numpy(np.float64)
    age = sm["T"].to_numpy(np.float64)
    monetary = sm["monetary_value"].to_numpy(np.float64)
    bgnbd = fit_bgnbd(frequency, recency, age)
    gamma_gamma = fit_gamma_gamma(frequency, monetary)
    revenue = sm["revenue"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        margin_rate = np.where(revenue > 0, sm["margin"].to_numpy(np.float64) / revenue, 0.0)
    margin_rate = np.clip(margin_rate, 0.0, 1.0)
    horizon = params.clv.horizon_days / unit_days
    values = customer_value(
        bgnbd,
        gamma_gamma,
        frequency,
        recency,
        age,
        monetary,
        margin_rate=margin_rate,
        horizon_days=params.clv.horizon_days,
        discount_rate=params.clv.discount_rate,
        unit_days=unit_days,
    )
    result: dict[str, Any] = {
        "bgnbd": bgnbd,
        "gamma_gamma": gamma_gamma,
        "p_alive": bgnbd.probability_alive(frequency, recency, age),
        "expected_purchases": bgnbd.expected_purchases(horizon, frequency, recency, age),
        "expected_spend": gamma_gamma.conditional_expected_spend(frequency, monetary),
        "clv": values,
    }
    for name in ("p_alive", "expected_purchases", "expected_spend", "clv"):
        if not np.all(np.isfinite(result[name])):
            raise FitFailed(f"the fitted model gives non-finite {name.replace('_', ' ')} values")
    return result


SummaryAt = Callable[[dt.date], pd.DataFrame]


def summaries(engine: Engine, tx: Any, params: AnalysisParameters) -> SummaryAt:
    """The per-customer summary as of a day, computed once per day: the holdout check and the
    churn model both calibrate on earlier days, the same day unless their windows differ."""

    @functools.cache
    def summary_at(day: dt.date) -> pd.DataFrame:
        return engine.to_arrow(customer_summary(tx, end=day, unit=params.unit)).to_pandas()

    return summary_at


def holdout_diagnostics(
    engine: Engine, tx: Any, end: dt.date, params: AnalysisParameters, summary_at: SummaryAt
) -> dict[str, Any] | None:
    """Calibrate on all but the last ``holdout_days`` and compare predicted with actual repeat
    purchases in the holdout, by calibration frequency. None when the data is too short."""
    calibration_end = end - dt.timedelta(days=params.clv.holdout_days)
    unit_days = DAYS_PER_UNIT[params.unit]
    calibration = summary_at(calibration_end)
    if len(calibration) < 50 or int((calibration["frequency"] > 0).sum()) < 10:
        return None
    days = daily(tx, end=end)
    later = days.filter((days.amount > 0) & (days.day > calibration_end))
    counts = engine.to_arrow(later.group_by("customer_id").aggregate(n=later.count())).to_pandas()
    actual = (
        calibration[["customer_id"]]
        .merge(counts, on="customer_id", how="left")["n"]
        .fillna(0)
        .to_numpy(np.float64)
    )
    try:
        fit = fit_bgnbd(
            calibration["frequency"].to_numpy(np.float64),
            calibration["recency"].to_numpy(np.float64),
            calibration["T"].to_numpy(np.float64),
        )
    except FitFailed as exc:
        return {"calibration_end": calibration_end.isoformat(), "error": str(exc)}
    rows = holdout_by_frequency(
        fit,
        calibration["frequency"].to_numpy(np.float64),
        calibration["recency"].to_numpy(np.float64),
        calibration["T"].to_numpy(np.float64),
        actual,
        holdout_length=params.clv.holdout_days / unit_days,
    )
    return {
        "calibration_end": calibration_end.isoformat(),
        "parameters": fit.params(),
        "by_frequency": plain(rows),
        "tracking": plain(
            cumulative_tracking_rows(engine, days, fit, calibration_end, end, unit_days)
        ),
    }


def cumulative_tracking_rows(
    engine: Engine, days: Any, fit: Any, calibration_end: dt.date, end: dt.date, unit_days: int
) -> list[dict[str, Any]]:
    """Cumulative repeat purchases of the calibration customers, week by week over calibration
    and holdout, predicted by the calibration fit against what happened."""
    bought = days.filter(days.amount > 0)
    firsts = bought.group_by("customer_id").aggregate(first=bought.day.min())
    firsts = firsts.filter(firsts.first <= calibration_end)
    start = engine.to_arrow(firsts.aggregate(start=firsts.first.min())).column(0)[0].as_py()
    if start is None:
        return []
    origin = ibis.literal(start)
    first_offsets = engine.to_arrow(
        firsts.select(offset=firsts.first.delta(origin, unit="day"))
    ).column("offset")
    repeats = bought.join(firsts, "customer_id")
    repeats = repeats.filter(repeats.day > repeats.first)
    repeat_offsets = engine.to_arrow(
        repeats.select(offset=repeats.day.delta(origin, unit="day"))
    ).column("offset")
    weeks = max(1, ((end - start).days + 6) // 7)
    return cumulative_tracking(
        fit,
        first_offsets.to_numpy().astype(np.float64),
        repeat_offsets.to_numpy().astype(np.float64),
        periods=weeks,
        period_days=7,
        unit_days=unit_days,
    )


def churn_report(
    engine: Engine,
    tx: Any,
    end: dt.date,
    params: AnalysisParameters,
    frame: pd.DataFrame,
    summary_at: SummaryAt,
    tickets: Any = None,
) -> dict[str, Any]:
    """The churn-cause model (流失原因分析): learn from who left in the last window what leaving
    looks like beforehand, report the holdout AUC and the drivers, and return each current
    customer's predicted probability of leaving in the next window (``probability``).

    ``tickets`` (an engine table shaped like ``inputs.TICKETS``) adds the service signals:
    complaints, first-response hours and satisfaction of the tickets opened in the window
    before each point in time."""
    window = params.churn_window_days
    calibration_end = end - dt.timedelta(days=window)
    labels = engine.to_arrow(
        churn.churn_labels(tx, calibration_end=calibration_end, observation_days=window)
    ).to_pandas()
    if len(labels) < MIN_CHURN_CUSTOMERS or labels["churned"].nunique() < 2:
        return {"skipped": "too few active customers, or none (or all) of them left"}
    before = summary_at(calibration_end)
    before = before[before["customer_id"].isin(labels["customer_id"])]
    trend_before = engine.to_arrow(
        trend.spend_trend(tx, end=calibration_end, window_days=params.trend_window_days)
    ).to_pandas()

    # rows in customer order: the engine returns them in any order, and the seeded holdout split
    # must see the same rows in the same places for a run to be repeatable
    def service(at: dt.date) -> pd.DataFrame | None:
        if tickets is None:
            return None
        window_rows = churn.tickets_in_window(tickets, end=at, days=window)
        return engine.to_arrow(window_rows).to_pandas()

    features = churn.churn_features(
        before, trend=trend_before, tickets=service(calibration_end)
    ).sort_index()
    churned = labels.set_index("customer_id")["churned"].reindex(features.index)
    try:
        report = churn.fit_churn_model(features, churned.to_numpy(dtype=bool), seed=0)
    except ValueError as exc:
        return {"skipped": str(exc)}
    current = churn.churn_features(
        frame, trend=frame[["customer_id", "trend"]], tickets=service(end)
    )
    current = current.reindex(columns=features.columns, fill_value=0.0)
    probability = report.model.predict_proba(current)
    return {
        "calibration_end": calibration_end.isoformat(),
        "window_days": window,
        "auc": report.auc,
        "customers_train": report.n_train,
        "customers_holdout": report.n_holdout,
        "churn_rate": report.churn_rate,
        "effects": [
            {
                "feature": e.feature,
                "importance": e.importance,
                "importance_std": e.importance_std,
                "effect": e.effect,
                "direction": e.direction,
                "churned_mean": e.churned_mean,
                "retained_mean": e.retained_mean,
            }
            for e in report.effects
        ],
        "causes": [cause._asdict() for cause in churn.churn_causes(report)],
        "probability": pd.Series(probability, index=current.index)
        .reindex(frame["customer_id"])
        .to_numpy(),
    }


def plain(value: Any) -> Any:
    """JSON-ready copies of NumPy scalars, frames and nested containers (NaN becomes None)."""
    if isinstance(value, pd.DataFrame):
        return [plain(row) for row in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
