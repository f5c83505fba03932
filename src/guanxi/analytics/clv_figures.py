"""The lifetime-value figures of the dashboards: the CLV distribution and customer equity
(客户资产) of the customers the caller may see, its course over the kept runs, and the fitted
models' diagnostics (for those who see every customer)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.analytics.dashboard_scope import NO_SCOPE, Scope
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.visible_scores import as_float, current_run, header, sees_everyone, visible
from guanxi.auth.models import User

HISTOGRAM_BINS = 20


def clv(*, session: Session, actor: User, scope: Scope = NO_SCOPE) -> dict[str, Any]:
    """CLV distribution, customer equity (客户资产) of the visible customers and its course over
    the kept runs, and the fitted models with their diagnostics."""
    run = current_run(session)
    values = [
        as_float(value)
        for value in session.scalars(
            visible(
                session,
                actor,
                select(CustomerScore.clv).where(
                    CustomerScore.run_id == run.id, CustomerScore.clv.is_not(None)
                ),
                scope,
            )
        )
    ]
    stats = session.execute(
        visible(
            session,
            actor,
            select(
                func.avg(CustomerScore.p_alive),
                func.sum(CustomerScore.expected_purchases),
            ).where(CustomerScore.run_id == run.id, CustomerScore.p_alive.is_not(None)),
            scope,
        )
    ).one()
    return {
        **header(run),
        "customers": len(values),
        "customer_equity": round(sum(values), 2),
        "mean_clv": round(sum(values) / len(values), 2) if values else None,
        "mean_p_alive": float(stats[0]) if stats[0] is not None else None,
        "expected_purchases": float(stats[1] or 0.0),
        "horizon_days": run.parameters.get("clv", {}).get("horizon_days"),
        "histogram": _histogram(values, scope),
        "equity_over_time": _equity_over_time(session, actor, scope),
        # the models are fitted on every customer: theirs to see who see every customer
        "models": {name: run.diagnostics.get(name) for name in ("bgnbd", "gamma_gamma", "holdout")}
        if sees_everyone(session, actor)
        else None,
    }


def _histogram(values: list[float], scope: Scope) -> list[dict[str, Any]]:
    """CLV in equal-width bins whose edges are whole cents, each a half-open [from, to) range
    (the last one closed) so that the list behind a bar holds exactly its customers."""
    if not values:
        return []
    array = np.asarray(values, dtype=float)
    low, high = float(array.min()), float(array.max())
    if high == low:
        return [
            {"from": low, "to": high, "customers": len(values), "link": scope.drill(clv_min=low)}
        ]
    edges = np.round(np.linspace(low, high, HISTOGRAM_BINS + 1), 2)
    edges[0] = math.floor(low * 100) / 100
    bins = np.searchsorted(edges[1:-1], array, side="right")
    counts = np.bincount(bins, minlength=HISTOGRAM_BINS)
    last = HISTOGRAM_BINS - 1
    return [
        {
            "from": float(edges[i]),
            "to": float(edges[i + 1]),
            "customers": int(counts[i]),
            "link": scope.drill(
                clv_min=float(edges[i]), clv_under=None if i == last else float(edges[i + 1])
            ),
        }
        for i in range(HISTOGRAM_BINS)
    ]


EQUITY_RUNS = 24


def _equity_over_time(session: Session, actor: User, scope: Scope) -> list[dict[str, Any]]:
    """Customer equity (the sum of CLV) of the visible customers in each of the latest runs."""
    recent = (
        select(AnalysisRun.id)
        .where(AnalysisRun.status == "succeeded")
        .order_by(AnalysisRun.id.desc())
        .limit(EQUITY_RUNS)
        .scalar_subquery()
    )
    rows = session.execute(
        visible(
            session,
            actor,
            select(CustomerScore.run_id, func.sum(CustomerScore.clv), func.count())
            .where(CustomerScore.run_id.in_(recent), CustomerScore.clv.is_not(None))
            .group_by(CustomerScore.run_id),
            scope,
        )
    ).all()
    ends = dict(
        session.execute(
            select(AnalysisRun.id, AnalysisRun.observation_end).where(
                AnalysisRun.id.in_([row[0] for row in rows])
            )
        ).all()
    )
    return [
        {
            "run_id": row[0],
            "observation_end": ends[row[0]].isoformat(),
            "customer_equity": round(as_float(row[1]), 2),
            "customers": int(row[2]),
        }
        for row in sorted(rows, key=lambda row: row[0])
    ]
