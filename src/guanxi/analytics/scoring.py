"""One scoring run from data to scores, without the database: the summary, RFM, tiers, trend and
cohorts in the engine; CLV, lifecycle, churn and next best actions in NumPy; recommendations and
association rules in the engine again. ``runs.py`` feeds it from the store and writes the result.

The steps report progress through a callback so that the CLI draws a bar and the page a meter.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from guanxi.analytics import churn, cohorts, lifecycle, model_steps, nba, pareto, rfm, tiers, trend
from guanxi.analytics import recommend as rec
from guanxi.analytics.clv import (
    FitFailed,
    customer_equity,
)
from guanxi.analytics.engine import Engine
from guanxi.analytics.params import AnalysisParameters
from guanxi.analytics.summary import DAYS_PER_UNIT, customer_summary

Progress = Callable[[str, int], None]
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
    models = model_steps.fit_models(sm, params)
    summary_at = model_steps.summaries(engine, tx, params)

    progress("lifecycle", STEPS[2][1])
    frame = (
        sm.merge(rfm_frame.drop(columns=["frequency"], errors="ignore"), on="customer_id")
        # the tier frame repeats the order count; the summary's is the one kept
        .merge(tier_frame.drop(columns=["orders"]), on="customer_id", how="left")
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
    churn_report = model_steps.churn_report(
        engine, tx, end, params, frame, summary_at, tickets=engine.table(data.tickets)
    )
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
        "cohorts": model_steps.plain(
            engine.to_arrow(cohorts.cohort_matrices(tx, end=end)).to_pylist()
        ),
        "association_rules": model_steps.plain(
            engine.to_arrow(rec.association_rules(lines, level="category")).to_pylist()
        ),
        "churn": churn_report,
    }
    holdout = model_steps.holdout_diagnostics(engine, tx, end, params, summary_at)
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
    diagnostics = model_steps.plain(
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
