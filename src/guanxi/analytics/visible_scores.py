"""The scores a caller may see: the run readers use, and ``customer_scores`` narrowed to the
customers the caller may see (the one place the dashboards apply record visibility)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from guanxi.analytics.dashboard_scope import Scope
from guanxi.analytics.models import AnalysisReport, AnalysisRun, CustomerScore
from guanxi.analytics.runs import latest_run
from guanxi.auth.models import User
from guanxi.auth.visibility import resolved_visibility_clause
from guanxi.customers.models import Customer
from guanxi.customers.search import filter_clauses
from guanxi.errors import N_, NotFound


def current_run(session: Session) -> AnalysisRun:
    run = latest_run(session)
    if run is None:
        raise NotFound(N_("No scoring run has finished yet: run `guanxi analyze` first."))
    return run


SelectT = TypeVar("SelectT", bound=Select)


def visible(
    session: Session, actor: User, statement: SelectT, scope: Scope | None = None
) -> SelectT:
    """``statement`` (over CustomerScore) joined to the customers ``actor`` may see, narrowed to
    the dashboard's filters (``scope``) when given."""
    statement = statement.join(Customer, Customer.id == CustomerScore.customer_id).where(
        Customer.deleted_at.is_(None)
    )
    if scope is not None and not scope.is_empty:
        statement = statement.where(*filter_clauses(session, scope.customers))
    clause = resolved_visibility_clause(session, Customer, actor)
    return statement if clause is None else statement.where(clause)


def header(run: AnalysisRun) -> dict[str, Any]:
    return {"run_id": run.id, "observation_end": run.observation_end.isoformat()}


def as_float(value: Any) -> float:
    return float(value or 0)


def report(session: Session, run: AnalysisRun, name: str) -> Any:
    report = session.get(AnalysisReport, (run.id, name))
    return report.payload.get("rows") if report is not None else None


def sees_everyone(session: Session, actor: User) -> bool:
    """Whether ``actor`` sees every customer (then population-wide figures are theirs to see)."""
    return resolved_visibility_clause(session, Customer, actor) is None
