"""What the dashboards read: the latest succeeded run's scores, aggregated over the customers the
caller may see. A sales rep's tiers, Pareto curve, lifecycle, RFM, CLV, cohorts and churn are
those of their own customers; an analyst's are the whole base.

Aggregations that are plain counts and sums run in SQL on ``customer_scores``; those that have a
rule of their own (Pareto, Gini, cohorts) run the analysis module's Ibis function on DuckDB over
the visible rows, so the rule lives in one place whoever asks. The CLV and cohort figures are in
``clv_figures`` and ``cohort_figures``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from guanxi.analytics import lifecycle as lifecycle_rules
from guanxi.analytics import rfm as rfm_rules
from guanxi.analytics import tiers as tier_rules
from guanxi.analytics.clv_figures import clv
from guanxi.analytics.cohort_figures import cohorts
from guanxi.analytics.dashboard_scope import NO_SCOPE, Scope
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.visible_scores import (
    as_float,
    current_run,
    header,
    visible,
)
from guanxi.auth.models import User
from guanxi.customers.models import Customer

__all__ = ["clv", "cohorts", "lifecycle", "list_runs", "pareto", "previous_run", "rfm", "tiers"]


def tiers(*, session: Session, actor: User, scope: Scope = NO_SCOPE) -> dict[str, Any]:
    """The value-tier pyramid: customers, revenue, profit, share of profit and CLV per tier."""
    run = current_run(session)
    rows = session.execute(
        visible(
            session,
            actor,
            select(
                CustomerScore.tier,
                func.count(),
                func.sum(CustomerScore.revenue),
                func.sum(CustomerScore.profit),
                func.sum(CustomerScore.clv),
            )
            .where(CustomerScore.run_id == run.id, CustomerScore.tier != "")
            .group_by(CustomerScore.tier),
            scope,
        )
    ).all()
    by_tier = {row[0]: row for row in rows}
    total_profit = sum(as_float(row[3]) for row in rows if as_float(row[3]) > 0)
    result = []
    for key in tier_rules.TIERS:
        row = by_tier.get(key)
        profit = as_float(row[3]) if row else 0.0
        result.append(
            {
                "tier": key,
                "label": tier_rules.tier_label(key),
                "customers": int(row[1]) if row else 0,
                "revenue": round(as_float(row[2]) if row else 0.0, 2),
                "profit": round(profit, 2),
                "profit_share": profit / total_profit if total_profit > 0 else None,
                "clv": round(as_float(row[4]) if row else 0.0, 2),
                "link": scope.drill(tier=key),
            }
        )
    return {**header(run), "tiers": result}


def _profits(session: Session, actor: User, run: AnalysisRun, scope: Scope) -> pa.Table:
    rows = session.execute(
        visible(
            session,
            actor,
            select(CustomerScore.customer_id, CustomerScore.profit).where(
                CustomerScore.run_id == run.id, CustomerScore.first_purchase.is_not(None)
            ),
            scope,
        )
    ).all()
    return pa.table(
        {
            "customer_id": pa.array([row[0] for row in rows], pa.int64()),
            "profit": pa.array([float(row[1]) for row in rows], pa.float64()),
        }
    )


def _names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()
    )


def pareto(
    *,
    session: Session,
    actor: User,
    share: float = 0.2,
    points: int = 20,
    top: int = 50,
    scope: Scope = NO_SCOPE,
) -> dict[str, Any]:
    """Lorenz (concentration) curve, Gini and the share of profit from the top ``share`` of the
    visible customers, with the first ``top`` of them by name, and the customers by tenths of
    profit (``groups``, each with the list behind it)."""
    from guanxi.analytics import engine as engines
    from guanxi.analytics import pareto as rules

    run = current_run(session)
    profits = _profits(session, actor, run, scope)
    with engines.opened("duckdb", threads=1) as engine:
        table = engine.table(profits)
        curve = engine.to_arrow(rules.lorenz(table, points=points)).to_pylist()
        leaders = engine.to_arrow(
            rules.top_customers(table, share).order_by("rank").limit(top)
        ).to_pylist()
        top_share = rules.top_share(table, share) if profits.num_rows else None
        gini = rules.gini(table) if profits.num_rows else 0.0
    names = _names(session, [row["customer_id"] for row in leaders])
    for row in leaders:
        row["name"] = names.get(row["customer_id"], "")
    return {
        **header(run),
        "customers": profits.num_rows,
        "share": share,
        "top_share": top_share,
        "gini": gini,
        "curve": curve,
        "top_customers": leaders,
        "groups": profit_groups(profits.column("profit").to_numpy(), scope),
        "top_link": _top_link(profits.column("profit").to_numpy(), share, scope),
    }


PARETO_GROUPS = 10


def _thresholds(profit: np.ndarray, shares: Sequence[float]) -> list[float]:
    """The profit of the last customer inside each top share (customers ranked by profit)."""
    ranked = np.sort(profit)[::-1]
    return [float(ranked[max(math.ceil(len(ranked) * s), 1) - 1]) for s in shares]


def profit_groups(profit: np.ndarray, scope: Scope) -> list[dict[str, Any]]:
    """Customers by tenths of profit rank (top 10%, 10-20%, ...), each bar bounded by the profit
    of its last customer so that the list behind it (``profit_min``, ``profit_under``) holds
    exactly the customers it counts; ties at a bound fall into the higher bar."""
    if not len(profit):
        return []
    total = float(profit[profit > 0].sum())
    bounds = _thresholds(profit, [(k + 1) / PARETO_GROUPS for k in range(PARETO_GROUPS)])
    groups, upper = [], None
    for k, low in enumerate(bounds):
        if upper is not None and low >= upper:
            continue  # ties swallowed this tenth into the one above
        inside = profit >= low if upper is None else (profit >= low) & (profit < upper)
        amount = float(profit[inside].sum())
        groups.append(
            {
                "from_share": k / PARETO_GROUPS,
                "to_share": (k + 1) / PARETO_GROUPS,
                "customers": int(inside.sum()),
                "profit": round(amount, 2),
                "profit_share": amount / total if total > 0 else None,
                "link": scope.drill(orders_min=1, profit_min=low, profit_under=upper),
            }
        )
        upper = low
    return groups


def _top_link(profit: np.ndarray, share: float, scope: Scope) -> str | None:
    if not len(profit):
        return None
    return scope.drill(orders_min=1, profit_min=_thresholds(profit, [share])[0])


def _stage_counts(session: Session, actor: User, run_id: int, scope: Scope) -> dict[str, int]:
    rows = session.execute(
        visible(
            session,
            actor,
            select(CustomerScore.lifecycle_stage, func.count())
            .where(CustomerScore.run_id == run_id)
            .group_by(CustomerScore.lifecycle_stage),
            scope,
        )
    ).all()
    return {row[0]: int(row[1]) for row in rows}


def previous_run(session: Session, run: AnalysisRun) -> AnalysisRun | None:
    return session.scalars(
        select(AnalysisRun)
        .where(AnalysisRun.status == "succeeded", AnalysisRun.id < run.id)
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    ).first()


def lifecycle(*, session: Session, actor: User, scope: Scope = NO_SCOPE) -> dict[str, Any]:
    """Customers per lifecycle stage, and the movements between stages since the previous run."""
    run = current_run(session)
    counts = _stage_counts(session, actor, run.id, scope)
    previous = previous_run(session, run)
    movements: list[dict[str, Any]] = []
    if previous is not None:
        before = aliased(CustomerScore)
        rows = session.execute(
            visible(
                session,
                actor,
                select(before.lifecycle_stage, CustomerScore.lifecycle_stage, func.count())
                .join(
                    before,
                    and_(
                        before.customer_id == CustomerScore.customer_id,
                        before.run_id == previous.id,
                    ),
                )
                .where(CustomerScore.run_id == run.id)
                .group_by(before.lifecycle_stage, CustomerScore.lifecycle_stage),
                scope,
            )
        ).all()
        movements = [
            {
                "from_stage": row[0],
                "to_stage": row[1],
                "customers": int(row[2]),
                "link": scope.drill(stage_before=row[0], stage=row[1]),
            }
            for row in rows
            if row[0] != row[1]
        ]
    return {
        **header(run),
        "previous_run_id": previous.id if previous else None,
        "stages": [
            {
                "stage": key,
                "label": label,
                "customers": counts.get(key, 0),
                "link": scope.drill(stage=key),
            }
            for key, label in lifecycle_rules.STAGES.items()
        ],
        "movements": movements,
    }


def rfm(*, session: Session, actor: User, scope: Scope = NO_SCOPE) -> dict[str, Any]:
    """Customers and revenue per RFM segment, and the R x F grid of customer counts."""
    run = current_run(session)
    base = CustomerScore.run_id == run.id
    segments = session.execute(
        visible(
            session,
            actor,
            select(CustomerScore.rfm_segment, func.count(), func.sum(CustomerScore.revenue))
            .where(base, CustomerScore.rfm_segment != "")
            .group_by(CustomerScore.rfm_segment),
            scope,
        )
    ).all()
    grid = session.execute(
        visible(
            session,
            actor,
            select(CustomerScore.r_score, CustomerScore.f_score, func.count())
            .where(base, CustomerScore.r_score.is_not(None))
            .group_by(CustomerScore.r_score, CustomerScore.f_score),
            scope,
        )
    ).all()
    by_segment = {row[0]: row for row in segments}
    return {
        **header(run),
        "segments": [
            {
                "segment": key,
                "label": rfm_rules.segment_label(key),
                "customers": int(by_segment[key][1]) if key in by_segment else 0,
                "revenue": round(as_float(by_segment[key][2]), 2) if key in by_segment else 0.0,
                "link": scope.drill(rfm=key),
            }
            for key in rfm_rules.SEGMENTS
        ],
        "grid": [
            {
                "r": row[0],
                "f": row[1],
                "customers": int(row[2]),
                "link": scope.drill(r=row[0], f=row[1]),
            }
            for row in grid
        ],
    }


def list_runs(*, session: Session, actor: User, limit: int = 50) -> list[AnalysisRun]:
    """The newest runs first. Everyone with analytics access sees that runs happened; the
    whole-population diagnostics are for those who see every customer (the API drops them)."""
    return list(session.scalars(select(AnalysisRun).order_by(AnalysisRun.id.desc()).limit(limit)))
