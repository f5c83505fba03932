"""One scoring run from data to scores, without the database: the summary, RFM, tiers, trend and
cohorts in the engine; CLV, lifecycle, churn and next best actions in NumPy; recommendations and
association rules in the engine again. ``runs.py`` feeds it from the store and writes the result.

The steps report progress through a callback so that the CLI draws a bar and the page a meter.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from guanxi.analytics import churn, cohorts, lifecycle, nba, pareto, rfm, tiers, trend
from guanxi.analytics import recommend as rec
from guanxi.analytics.clv import (
    FitFailed,
    cumulative_tracking,
    customer_equity,
    customer_value,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout_by_frequency,
)
from guanxi.analytics.engine import Engine
from guanxi.analytics.params import AnalysisParameters
from guanxi.analytics.summary import DAYS_PER_UNIT, customer_summary, daily

Progress = Callable[[str, int], None]
MIN_CHURN_CUSTOMERS = 40  # below this a holdout AUC says nothing
RECOMMEND_BATCH = 100_000  # customers per personal top-N query: bounds its memory
STEPS = (
    ("summary", 10),
    ("segments", 25),
    ("clv", 45),
    ("lifecycle", 55),
    ("churn", 65),
    ("recommendations", 85),
    ("reports", 95),
)


@dataclass
class ScoringInput:
    """What a run reads: the logs (Arrow, ``inputs`` shapes) and every customer's id."""

    end: dt.date
    customer_ids: np.ndarray
    transactions: pa.Table
    lines: pa.Table
    interactions: pa.Table
    tickets: pa.Table
    events: pa.Table


@dataclass
class ScoringResult:
    """Per-customer scores (every customer, prospects included), recommendations, look-alikes,
    whole-population reports and the model diagnostics."""

    scores: pd.DataFrame
    recommendations: pa.Table
    similar: pa.Table
    reports: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)


def _noop(_step: str, _percent: int) -> None:
    return None


def _fit_models(sm: pd.DataFrame, params: AnalysisParameters) -> dict[str, Any]:
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


def _holdout(
    engine: Engine, tx: Any, end: dt.date, params: AnalysisParameters
) -> dict[str, Any] | None:
    """Calibrate on all but the last ``holdout_days`` and compare predicted with actual repeat
    purchases in the holdout, by calibration frequency. None when the data is too short."""
    calibration_end = end - dt.timedelta(days=params.clv.holdout_days)
    unit_days = DAYS_PER_UNIT[params.unit]
    calibration = engine.to_arrow(
        customer_summary(tx, end=calibration_end, unit=params.unit)
    ).to_pandas()
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
        "by_frequency": _plain(rows),
        "tracking": _plain(_tracking(engine, days, fit, calibration_end, end, unit_days)),
    }


def _tracking(
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


def _plain(value: Any) -> Any:
    """JSON-ready copies of NumPy scalars, frames and nested containers (NaN becomes None)."""
    if isinstance(value, pd.DataFrame):
        return [_plain(row) for row in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _churn(
    engine: Engine,
    tx: Any,
    data: ScoringInput,
    end: dt.date,
    params: AnalysisParameters,
    frame: pd.DataFrame,
) -> dict[str, Any]:
    """The churn-cause model (流失原因分析): learn from who left in the last window what leaving
    looks like beforehand, report the holdout AUC and the drivers, and return each current
    customer's predicted probability of leaving in the next window (``probability``)."""
    window = params.churn_window_days
    calibration_end = end - dt.timedelta(days=window)
    labels = engine.to_arrow(
        churn.churn_labels(tx, calibration_end=calibration_end, observation_days=window)
    ).to_pandas()
    if len(labels) < MIN_CHURN_CUSTOMERS or labels["churned"].nunique() < 2:
        return {"skipped": "too few active customers, or none (or all) of them left"}
    before = engine.to_arrow(
        customer_summary(tx, end=calibration_end, unit=params.unit)
    ).to_pandas()
    before = before[before["customer_id"].isin(labels["customer_id"])]
    trend_before = engine.to_arrow(
        trend.spend_trend(tx, end=calibration_end, window_days=params.trend_window_days)
    ).to_pandas()
    features = churn.churn_features(before, trend=trend_before)
    churned = labels.set_index("customer_id")["churned"].reindex(features.index)
    try:
        report = churn.fit_churn_model(features, churned.to_numpy(dtype=bool), seed=0)
    except ValueError as exc:
        return {"skipped": str(exc)}
    current = churn.churn_features(frame, trend=frame[["customer_id", "trend"]])
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


def _recommend(engine: Engine, weights: pa.Table, params: AnalysisParameters) -> pa.Table:
    """Personal top-N lists, ``RECOMMEND_BATCH`` customers at a time.

    A customer's list depends only on their own weights and the item similarity, so batches
    give the same rows as one query; but one query over a million customers joins every
    customer-product weight with ``max_neighbours`` neighbours at once (hundreds of millions of
    rows to sum and rank), which took tens of GiB. ``weights`` must be sorted by customer_id."""
    similarity = engine.table(
        engine.to_arrow(rec.item_similarity(engine.table(weights), rules=params.recommend))
    )
    customers = weights.column("customer_id").to_numpy()
    edges = np.unique(customers, return_index=True)[1][::RECOMMEND_BATCH].tolist()
    edges.append(len(customers))
    parts = [
        engine.to_arrow(
            rec.recommend_for_customers(
                engine.table(weights.slice(start, stop - start)),
                similarity,
                rules=params.recommend,
            )
        )
        for start, stop in itertools.pairwise(edges)
        if stop > start
    ]
    if not parts:
        empty = rec.recommend_for_customers(
            engine.table(weights), similarity, rules=params.recommend
        )
        return engine.to_arrow(empty)
    return pa.concat_tables(parts)


def _with_prospects(frame: pd.DataFrame, customer_ids: np.ndarray) -> pd.DataFrame:
    """The buyers' rows plus one row per customer who never bought: a prospect, whose next best
    action is the one for prospects."""
    missing = np.setdiff1d(customer_ids, frame["customer_id"].to_numpy())
    prospects = pd.DataFrame(
        {
            "customer_id": missing,
            "stage": "prospect",
            "next_action": nba.next_best_action(
                np.full(len(missing), None, dtype=object),
                np.full(len(missing), "prospect", dtype=object),
                None,
            )
            if len(missing)
            else np.array([], dtype=object),
        }
    )
    return pd.concat([frame, prospects], ignore_index=True)


def score(
    data: ScoringInput,
    params: AnalysisParameters,
    engine: Engine,
    progress: Progress = _noop,
) -> ScoringResult:
    """Score every customer. Raises FitFailed (the run fails, old scores stay) when the CLV
    models cannot be fitted."""
    end = data.end
    progress("summary", 0)
    tx = engine.table(data.transactions)
    lines = engine.table(data.lines)
    summary = customer_summary(tx, end=end, unit=params.unit, lines=lines)
    sm = engine.to_arrow(summary).to_pandas()
    if sm.empty:
        raise FitFailed("there are no purchases to analyse up to the observation end")

    progress("segments", STEPS[0][1])
    rfm_frame = engine.to_arrow(rfm.rfm_scores(summary, end=end)).to_pandas()
    tier_frame = engine.to_arrow(
        tiers.value_tiers(
            summary,
            rules=params.tiers,
            tickets=engine.table(data.tickets),
            interactions=engine.table(data.interactions),
            end=end,
        )
    ).to_pandas()
    trend_frame = engine.to_arrow(
        trend.spend_trend(tx, end=end, window_days=params.trend_window_days)
    ).to_pandas()

    progress("clv", STEPS[1][1])
    models = _fit_models(sm, params)

    progress("lifecycle", STEPS[2][1])
    frame = (
        sm.merge(rfm_frame.drop(columns=["frequency"], errors="ignore"), on="customer_id")
        .merge(tier_frame, on="customer_id", how="left")
        .merge(trend_frame[["customer_id", "trend", "days_since_last"]], on="customer_id")
    )
    for name in ("p_alive", "expected_purchases", "expected_spend", "clv"):
        frame[name] = (
            pd.Series(models[name], index=sm["customer_id"])
            .reindex(frame["customer_id"])
            .to_numpy()
        )
    unit_days = DAYS_PER_UNIT[params.unit]
    frame["tenure_days"] = frame["T"] * unit_days
    frame["stage"] = lifecycle.lifecycle_stages(frame, params.lifecycle)

    progress("churn", STEPS[3][1])
    churn_report = _churn(engine, tx, data, end, params, frame)
    probability = churn_report.pop("probability", None)
    frame["churn_risk"] = churn.churn_risk(
        frame["p_alive"].to_numpy(),
        frame["trend"].to_numpy(),
        model_probability=probability,
    )
    frame["next_action"] = nba.next_best_action(
        frame["tier"].to_numpy(),
        frame["stage"].to_numpy(),
        frame["churn_risk"].to_numpy(),
        high_risk=params.churn_high_risk,
    )
    scores = _with_prospects(frame, data.customer_ids)

    progress("recommendations", STEPS[4][1])
    events = engine.table(data.events)
    weights = engine.to_arrow(
        rec.interactions(lines, events, end=end, rules=params.recommend)
    ).sort_by("customer_id")
    recommendations = _recommend(engine, weights, params)
    similar = engine.to_arrow(
        rec.similar_customers(engine.table(weights), rules=params.recommend, top_n=5)
    )

    progress("reports", STEPS[5][1])
    reports = {
        "cohorts": _plain(engine.to_arrow(cohorts.cohort_matrices(tx, end=end)).to_pylist()),
        "association_rules": _plain(
            engine.to_arrow(rec.association_rules(lines, level="category")).to_pylist()
        ),
        "churn": churn_report,
    }
    holdout = _holdout(engine, tx, end, params)
    bgnbd, gamma_gamma = models["bgnbd"], models["gamma_gamma"]
    buyers = scores[scores["first_purchase"].notna()]
    profits = engine.table(
        pa.table(
            {
                "customer_id": buyers["customer_id"].to_numpy(np.int64),
                "profit": buyers["profit"].fillna(0).to_numpy(np.float64),
            }
        )
    )
    diagnostics = _plain(
        {
            "bgnbd": {
                **bgnbd.params(),
                "log_likelihood": bgnbd.log_likelihood,
                "standard_errors": bgnbd.standard_errors,
                "iterations": bgnbd.iterations,
            },
            "gamma_gamma": {
                **gamma_gamma.params(),
                "log_likelihood": gamma_gamma.log_likelihood,
                "standard_errors": gamma_gamma.standard_errors,
            },
            "customer_equity": customer_equity(models["clv"]),
            "holdout": holdout,
            "gini": pareto.gini(profits),
            "top_20_share": pareto.top_share(profits, 0.2),
            "churn_auc": churn_report.get("auc"),
        }
    )
    progress("done", 100)
    return ScoringResult(scores, recommendations, similar, reports, diagnostics)
