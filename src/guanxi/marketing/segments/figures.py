"""What a segment is worth and how it moved: the latest run's scores of its members (revenue,
profit, CLV, value tiers) and its size and CLV in each of the last runs, always among the
customers the caller may see (the same rule as ``analytics.visible_scores.visible``).

The trend keeps the profile conditions as they are now (city, tags, owner...) and applies the
score conditions (tier, CLV, churn risk...) to each run's own scores, so it shows how many of
today's Shanghai customers were VIPs at each run. It counts the members each run scored.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from guanxi.analytics.list_filters import SCORE_PARAMS, score_conditions
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.runs import latest_run
from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import User
from guanxi.auth.visibility import resolved_visibility_clause
from guanxi.customers.models import Customer
from guanxi.customers.search import CustomerFilter, filter_clauses

TREND_RUNS = 12

NO_SCORES: dict[str, Any] = {
    "run_id": None,
    "observation_end": None,
    "scored": 0,
    "value": None,
    "tiers": [],
    "trend": [],
}


SelectT = TypeVar("SelectT", bound=Select)


def _visible(session: Session, actor: User, statement: SelectT, score: Any) -> SelectT:
    # ``score`` is an alias of customer_scores: the score filter of the customer list selects
    # from customer_scores itself, and must not be correlated with the outer query's rows
    statement = statement.select_from(score).join(Customer, Customer.id == score.customer_id)
    clause = resolved_visibility_clause(session, Customer, actor)
    return statement if clause is None else statement.where(clause)


def _money(value: Any) -> float:
    return round(float(value or 0), 2)


def scores(*, session: Session, actor: User, spec: CustomerFilter) -> dict[str, Any]:
    """The score figures of the ``SegmentPreview`` for the members ``spec`` finds."""
    run = latest_run(session)
    if run is None:
        return dict(NO_SCORES)
    score = aliased(CustomerScore)
    conditions = [score.run_id == run.id, *filter_clauses(session, spec)]
    totals = session.execute(
        _visible(
            session,
            actor,
            select(
                func.count(),
                func.sum(score.revenue),
                func.sum(score.profit),
                func.sum(score.clv),
                func.avg(score.clv),
            ).where(*conditions),
            score,
        )
    ).one()
    per_tier: dict[str, int] = dict(
        session.execute(
            _visible(
                session,
                actor,
                select(score.tier, func.count()).where(*conditions).group_by(score.tier),
                score,
            )
        ).all()
    )
    tier_order = [*TIERS, *sorted(t for t in per_tier if t not in TIERS)]
    return {
        "run_id": run.id,
        "observation_end": run.observation_end,
        "scored": int(totals[0]),
        "value": {
            "revenue": _money(totals[1]),
            "profit": _money(totals[2]),
            "clv": _money(totals[3]),
            "mean_clv": None if totals[4] is None else _money(totals[4]),
        },
        "tiers": [{"tier": t, "customers": int(per_tier.get(t, 0))} for t in tier_order],
        "trend": trend(session=session, actor=actor, spec=spec),
    }


def trend(*, session: Session, actor: User, spec: CustomerFilter) -> list[dict[str, Any]]:
    """Size and CLV of the segment in each of the last ``TREND_RUNS`` succeeded runs, oldest
    first; a run in which no member was scored counts zero."""
    runs = session.execute(
        select(AnalysisRun.id, AnalysisRun.observation_end)
        .where(AnalysisRun.status == "succeeded")
        .order_by(AnalysisRun.id.desc())
        .limit(TREND_RUNS)
    ).all()
    if not runs:
        return []
    score_values = {k: v for k, v in spec.extra.items() if k in SCORE_PARAMS}
    profile = dataclasses.replace(
        spec, extra={k: v for k, v in spec.extra.items() if k not in SCORE_PARAMS}
    )
    score = aliased(CustomerScore)
    rows = session.execute(
        _visible(
            session,
            actor,
            select(score.run_id, func.count(), func.sum(score.clv))
            .where(
                score.run_id.in_([run_id for run_id, _ in runs]),
                *filter_clauses(session, profile),
                *score_conditions(score_values, score),
            )
            .group_by(score.run_id),
            score,
        )
    ).all()
    per_run = {row[0]: (int(row[1]), _money(row[2])) for row in rows}
    return [
        {
            "run_id": run_id,
            "observation_end": end,
            "size": per_run.get(run_id, (0, 0.0))[0],
            "clv": per_run.get(run_id, (0, 0.0))[1],
        }
        for run_id, end in reversed(runs)
    ]
