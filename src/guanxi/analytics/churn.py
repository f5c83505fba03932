"""Churn (客户流失): risk per customer, the label and features for cause analysis (流失原因分析), a
supervised model whose holdout AUC and feature effects say what goes with leaving, and the win-back
list (客户的挽回) of valuable customers who are slipping away. The model itself is in
``churn_model`` and re-exported here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis.expr.types import Table

from guanxi.analytics.churn_model import (
    ChurnCause,
    ChurnModel,
    ChurnModelReport,
    FeatureEffect,
    churn_causes,
    fit_churn_model,
)
from guanxi.analytics.summary import daily

__all__ = [
    "PRICE_FEATURES",
    "ChurnCause",
    "ChurnModel",
    "ChurnModelReport",
    "FeatureEffect",
    "churn_causes",
    "churn_features",
    "churn_labels",
    "churn_risk",
    "compare_groups",
    "fit_churn_model",
    "tickets_in_window",
    "winback_candidates",
]


def churn_risk(
    p_alive: Any,
    trend: Any,
    *,
    trend_weight: float = 0.5,
    model_probability: Any = None,
) -> np.ndarray:
    """Probability-like churn risk in [0, 1] per customer.

    Without a supervised model, the BG/NBD chance of being gone, ``1 - P(alive)``, is moved by the
    spend trend (``trend.spend_trend``, in [-1, 1]): falling spend shifts part of the alive mass to
    risk, rising spend shrinks the risk::

        trend < 0:  risk = (1 - p) + p * w * (-trend)
        trend >= 0: risk = (1 - p) * (1 - w * trend)

    with ``w = trend_weight`` in [0, 1] (0 ignores the trend). The risk rises as P(alive) falls and
    as spend falls, and is continuous at a steady trend. When ``model_probability`` (the supervised
    model's probability of churning, ``ChurnModel.predict_proba``) is given, it is used where it is
    known and the formula fills the gaps. A NaN P(alive) gives a NaN risk (unknown, not zero).
    """
    if not 0 <= trend_weight <= 1:
        raise ValueError("trend_weight must lie in [0, 1]")
    p = np.clip(np.asarray(p_alive, dtype=np.float64), 0.0, 1.0)
    t = np.clip(np.nan_to_num(np.asarray(trend, dtype=np.float64), nan=0.0), -1.0, 1.0)
    if p.shape != t.shape:
        raise ValueError("p_alive and trend must have the same length")
    risk = np.where(t < 0, (1 - p) + p * trend_weight * -t, (1 - p) * (1 - trend_weight * t))
    if model_probability is not None:
        model = np.asarray(model_probability, dtype=np.float64)
        if model.shape != risk.shape:
            raise ValueError("model_probability must have one value per customer")
        risk = np.where(np.isnan(model), risk, np.clip(model, 0.0, 1.0))
    return risk


def churn_labels(
    transactions: Table,
    *,
    calibration_end: dt.date,
    observation_days: int = 180,
    active_days: int = 365,
) -> Table:
    """The churn label: who was active before ``calibration_end`` and did not buy afterwards.

    A customer is *active* with at least one purchase day in ``(calibration_end - active_days,
    calibration_end]`` and has *churned* (``churned`` true) without a purchase day in
    ``(calibration_end, calibration_end + observation_days]``. Features for the model are computed
    at ``calibration_end`` (summary, trend and tickets up to then), so the model learns from the
    past what it will be asked about the future. Returns ``customer_id, churned``.
    """
    if observation_days < 1 or active_days < 1:
        raise ValueError("observation_days and active_days must be at least 1")
    cutoff = ibis.literal(calibration_end)
    start = ibis.literal(calibration_end - dt.timedelta(days=active_days))
    days = daily(transactions, end=calibration_end + dt.timedelta(days=observation_days))
    bought = days.amount > 0
    counts = days.group_by("customer_id").aggregate(
        active=days.count(where=bought & (days.day > start) & (days.day <= cutoff)),
        later=days.count(where=bought & (days.day > cutoff)),
    )
    active = counts.filter(counts.active > 0)
    return active.select("customer_id", (active.later == 0).name("churned"))


_TICKET_FEATURES = (
    "complaints",
    "tickets",
    "mean_first_response_hours",
    "mean_satisfaction",
    "latest_nps",
)
PRICE_FEATURES = ("mean_discount", "price_ratio")
"""Optional per-customer price columns ``churn_features`` takes from ``prices``: the mean discount
off list price (0.1 = 10 % off) and the mean price paid relative to list (0.9 = 10 % below)."""


def churn_features(
    customers: Any,
    *,
    trend: Any = None,
    tickets: Any = None,
    prices: Any = None,
    max_channels: int = 8,
) -> pd.DataFrame:
    """The feature frame for churn models, one row per customer, indexed by ``customer_id``.

    From ``customers`` (``summary.customer_summary`` rows): ``frequency``, ``tenure`` (T),
    ``days_since_last`` (T - recency), ``revenue``, and when a ``channels`` list column is present
    one ``channel_<name>`` indicator per channel among the ``max_channels`` most used. Optional
    sources add features only when they are given and hold data, never zeros standing in for
    missing data:

    - ``trend`` (``trend.spend_trend`` rows): ``trend``;
    - ``tickets`` (rows shaped like ``inputs.TICKETS``): ``complaints`` and ``tickets`` (counts, 0
      for a customer without tickets), ``mean_first_response_hours``, ``mean_satisfaction`` and
      ``latest_nps`` (the newest ticket's NPS answer) (NaN without tickets; left out when no
      ticket has the value), e.g. ``tickets_in_window`` of the churn window;
    - ``prices`` (``customer_id`` plus ``PRICE_FEATURES`` columns): the price paid.

    Filter every source to the calibration period before calling.
    """
    base = _pandas(customers)
    for column in ("customer_id", "frequency", "recency", "T", "revenue"):
        if column not in base.columns:
            raise ValueError(f"missing column {column!r} in customers")
    out = pd.DataFrame(
        {
            "frequency": base["frequency"].to_numpy(dtype=np.float64),
            "tenure": base["T"].to_numpy(dtype=np.float64),
            "days_since_last": (base["T"] - base["recency"]).to_numpy(dtype=np.float64),
            "revenue": base["revenue"].to_numpy(dtype=np.float64),
        },
        index=pd.Index(base["customer_id"].to_numpy(), name="customer_id"),
    )
    if "channels" in base.columns:
        lists = [list(c) if c is not None else [] for c in base["channels"]]
        used = pd.Series([name for names in lists for name in names], dtype=object)
        for name in used.value_counts().index[:max_channels]:
            out[f"channel_{name}"] = [float(name in names) for names in lists]
    if trend is not None:
        frame = _pandas(trend).set_index("customer_id")
        out["trend"] = frame["trend"].reindex(out.index).astype(np.float64)
    if tickets is not None:
        for name, values in _ticket_features(_pandas(tickets), out.index).items():
            out[name] = values
    if prices is not None:
        frame = _pandas(prices).set_index("customer_id")
        for name in PRICE_FEATURES:
            if name in frame.columns and frame[name].notna().any():
                out[name] = frame[name].reindex(out.index).astype(np.float64)
    return out


def _ticket_features(tickets: pd.DataFrame, index: pd.Index) -> dict[str, pd.Series]:
    if tickets.empty:
        return {}
    grouped = tickets.groupby("customer_id")
    features: dict[str, pd.Series] = {
        "complaints": (tickets["kind"] == "complaint").groupby(tickets["customer_id"]).sum(),
        "tickets": grouped.size(),
    }
    features = {k: v.reindex(index, fill_value=0).astype(np.float64) for k, v in features.items()}
    for name, column in (
        ("mean_first_response_hours", "first_response_hours"),
        ("mean_satisfaction", "satisfaction"),
    ):
        if column in tickets.columns and tickets[column].notna().any():
            features[name] = grouped[column].mean().reindex(index).astype(np.float64)
    if "nps" in tickets.columns and tickets["nps"].notna().any():
        answered = tickets[tickets["nps"].notna()].sort_values(["customer_id", "ts"])
        latest = answered.groupby("customer_id")["nps"].last()
        features["latest_nps"] = latest.reindex(index).astype(np.float64)
    return features


def tickets_in_window(tickets: Table, *, end: dt.date, days: int) -> Table:
    """The tickets opened in the ``days`` company days up to and including ``end``: the service
    signals (complaints, waits, satisfaction) a churn feature reads, as of ``end``."""
    if days < 1:
        raise ValueError("days must be at least 1")
    after = ibis.literal(dt.datetime.combine(end - dt.timedelta(days=days - 1), dt.time()))
    before = ibis.literal(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    return tickets.filter((tickets.ts >= after) & (tickets.ts < before))


def compare_groups(features: pd.DataFrame, at_risk: Any) -> pd.DataFrame:
    """Mean of every feature among at-risk customers (declining or lost, or churned) and the rest.

    Returns ``feature, at_risk_mean, retained_mean, difference, standardised_difference`` (the
    difference over the pooled standard deviation, Cohen's d), largest absolute d first.
    """
    mask = np.asarray(at_risk, dtype=bool)
    if mask.shape != (len(features),):
        raise ValueError("at_risk must have one value per feature row")
    rows = []
    for name in features.columns:
        values = features[name].to_numpy(dtype=np.float64)
        risky, kept = values[mask], values[~mask]
        risky, kept = risky[~np.isnan(risky)], kept[~np.isnan(kept)]
        a = float(risky.mean()) if risky.size else np.nan
        b = float(kept.mean()) if kept.size else np.nan
        pooled = np.sqrt((np.var(risky) + np.var(kept)) / 2) if risky.size and kept.size else 0.0
        d = (a - b) / pooled if pooled > 0 else 0.0
        rows.append((name, a, b, a - b, d))
    table = pd.DataFrame(
        rows,
        columns=[
            "feature",
            "at_risk_mean",
            "retained_mean",
            "difference",
            "standardised_difference",
        ],
    )
    order = np.argsort(-np.abs(table["standardised_difference"].to_numpy()), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def winback_candidates(
    frame: Any,
    *,
    min_value: float,
    min_p_alive: float = 0.05,
    value_column: str = "margin",
    stages: Sequence[str] = ("decline", "lost"),
    limit: int | None = None,
) -> pd.DataFrame:
    """Declining or lost customers worth winning back (客户的挽回), most promising first.

    ``frame`` has ``customer_id``, ``stage`` (``lifecycle``), ``p_alive`` and the value column
    (``margin`` by default: past profit, since a lost customer's forward CLV is near zero by
    definition; pass ``value_column="clv"`` to rank by expected value). Kept: stage in ``stages``,
    value at least ``min_value`` and P(alive) at least ``min_p_alive`` (someone still reachable).
    Ranked by ``score = value * P(alive)``, the past value that a recovered relationship could
    bring back, weighted by the chance it still can be; ties by customer id.
    Returns ``rank, customer_id, stage, value, p_alive, score`` plus ``churn_risk`` if present.
    """
    data = _pandas(frame)
    for column in ("customer_id", "stage", "p_alive", value_column):
        if column not in data.columns:
            raise ValueError(f"missing column {column!r}")
    value = data[value_column].to_numpy(dtype=np.float64)
    p = data["p_alive"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        keep = data["stage"].isin(list(stages)).to_numpy() & (value >= min_value)
        keep &= p >= min_p_alive
    out = pd.DataFrame(
        {
            "customer_id": data["customer_id"].to_numpy()[keep],
            "stage": data["stage"].to_numpy(dtype=object)[keep],
            "value": value[keep],
            "p_alive": p[keep],
            "score": value[keep] * p[keep],
        }
    )
    if "churn_risk" in data.columns:
        out["churn_risk"] = data["churn_risk"].to_numpy(dtype=np.float64)[keep]
    out = out.sort_values(["score", "customer_id"], ascending=[False, True], kind="stable")
    if limit is not None:
        out = out.head(limit)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    return out.reset_index(drop=True)


def _pandas(frame: Any) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "to_pandas"):  # Polars, Arrow
        return frame.to_pandas()
    return pd.DataFrame(frame)
