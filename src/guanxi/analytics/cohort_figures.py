"""The cohort figures of the dashboards: acquisition-month retention and revenue of the customers
the caller may see, each cell linked to the customers of its cohort who bought in its month."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.analytics.dashboard_scope import NO_SCOPE, Scope
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.analytics.visible_scores import current_run, header, report, visible
from guanxi.auth.models import User
from guanxi.auth.visibility import resolved_visibility_clause
from guanxi.customers.models import Customer


def cohorts(
    *,
    session: Session,
    actor: User,
    database_engine: Any,
    timezone: str,
    scope: Scope = NO_SCOPE,
) -> dict[str, Any]:
    """Acquisition-month retention and revenue matrices of the visible customers. The period
    chooses the acquisition months shown; the channel does not apply (a cohort is everything
    its customers bought)."""
    run = current_run(session)
    start, end = scope.period
    customers = scope.without("bought_from", "bought_to", "channel")
    if customers.is_empty and resolved_visibility_clause(session, Customer, actor) is None:
        rows = report(session, run, "cohorts") or []
    else:
        rows = _visible_cohorts(session, actor, run, database_engine, timezone, customers)
    rows = [row for row in rows if _in_period(str(row["cohort_month"]), start, end)]
    for row in rows:
        row["link"] = _cohort_link(customers, str(row["cohort_month"]), int(row["months_since"]))
    return {**header(run), "cells": rows}


def _in_period(cohort: str, start: dt.date | None, end: dt.date | None) -> bool:
    month = cohort[:7]
    return (start is None or month >= start.isoformat()[:7]) and (
        end is None or month <= end.isoformat()[:7]
    )


def _cohort_link(customers: Scope, cohort: str, period: int) -> str:
    """The customers of a cohort who bought in its ``period``-th month after acquisition."""
    first = dt.date.fromisoformat(cohort[:7] + "-01")
    month = first.month - 1 + period
    start = dt.date(first.year + month // 12, month % 12 + 1, 1)
    following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return customers.drill(
        cohort=cohort[:7],
        bought_from=start.isoformat(),
        bought_to=(following - dt.timedelta(days=1)).isoformat(),
    )


def _visible_cohorts(
    session: Session,
    actor: User,
    run: AnalysisRun,
    database_engine: Any,
    timezone: str,
    scope: Scope,
) -> list[dict[str, Any]]:
    from guanxi.analytics import cohorts as rules
    from guanxi.analytics import engine as engines
    from guanxi.analytics import sources

    ids = list(
        session.scalars(
            visible(
                session,
                actor,
                select(CustomerScore.customer_id).where(
                    CustomerScore.run_id == run.id, CustomerScore.first_purchase.is_not(None)
                ),
                scope,
            )
        )
    )
    if not ids:
        return []
    transactions = sources.transactions(
        database_engine,
        timezone=timezone,
        customer_ids=select(Customer.id).where(Customer.id.in_(ids)),
    )
    with engines.opened("duckdb", threads=1) as engine:
        rows = engine.to_arrow(
            rules.cohort_matrices(engine.table(transactions), end=run.observation_end)
        ).to_pylist()
    return [{key: _jsonable(value) for key, value in row.items()} for row in rows]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
