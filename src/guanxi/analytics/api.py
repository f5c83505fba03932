"""JSON API of the mining centre under ``/api/v1/analytics``: the dashboards' figures, scoring
runs, recommendations per customer and the run parameters.

Every figure is computed over the customers the caller may see (``service``), so a sales rep's
value pyramid is that of their own customers. Reading needs ``analytics:read``; starting a run
``analytics:create``; changing the parameters ``analytics:update``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from guanxi import jobs, settings_store
from guanxi.analytics import customer_reads, service, visible_scores
from guanxi.analytics.dashboard_scope import Scope, scope_from
from guanxi.analytics.models import AnalysisRun
from guanxi.analytics.params import SETTINGS_KEY, AnalysisParameters
from guanxi.auth.models import User
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, FieldError, InvalidInput, NotFound

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

Reader = Annotated[User, require("analytics", "read")]


def _scope(
    bought_from: Annotated[
        dt.date | None, Query(description="Customers who placed an order from this day")
    ] = None,
    bought_to: Annotated[dt.date | None, Query(description="... up to this day")] = None,
    channel: Annotated[
        str | None, Query(max_length=20, description="... through this sales channel")
    ] = None,
    team_id: Annotated[int | None, Query(ge=1, description="Customers of this team")] = None,
    region: Annotated[
        str | None, Query(max_length=60, description="Customers in this region")
    ] = None,
) -> Scope:
    """The dashboards' filters (the customer list's parameters of the same names)."""
    given = {
        "bought_from": bought_from.isoformat() if bought_from else None,
        "bought_to": bought_to.isoformat() if bought_to else None,
        "channel": channel,
        "team_id": str(team_id) if team_id else None,
        "region": region,
    }
    return scope_from({name: value for name, value in given.items() if value})


ScopeDep = Annotated[Scope, Depends(_scope)]


@router.get("/tiers")
def read_tiers(session: DbSession, actor: Reader, scope: ScopeDep) -> dict[str, Any]:
    """Value tiers (屈从型 VIP, 关怀型 key, 适应型 ordinary, 冷漠型 unprofitable): customers,
    revenue, profit, share of profit and CLV per tier."""
    return service.tiers(session=session, actor=actor, scope=scope)


@router.get("/pareto")
def read_pareto(
    session: DbSession,
    actor: Reader,
    scope: ScopeDep,
    share: Annotated[float, Query(gt=0, le=1, description="The top share, 0.2 = 20%")] = 0.2,
    points: Annotated[int, Query(ge=2, le=200)] = 20,
    top: Annotated[int, Query(ge=0, le=1000, description="How many top customers to list")] = 50,
) -> dict[str, Any]:
    """Lorenz curve, Gini and the share of profit from the top customers, who they are, and the
    customers by tenths of profit."""
    return service.pareto(
        session=session, actor=actor, share=share, points=points, top=top, scope=scope
    )


@router.get("/lifecycle")
def read_lifecycle(session: DbSession, actor: Reader, scope: ScopeDep) -> dict[str, Any]:
    """Customers per lifecycle stage and movements between stages since the previous run."""
    return service.lifecycle(session=session, actor=actor, scope=scope)


@router.get("/rfm")
def read_rfm(session: DbSession, actor: Reader, scope: ScopeDep) -> dict[str, Any]:
    """RFM segments and the recency x frequency grid."""
    return service.rfm(session=session, actor=actor, scope=scope)


@router.get("/clv")
def read_clv(session: DbSession, actor: Reader, scope: ScopeDep) -> dict[str, Any]:
    """CLV distribution, customer equity (客户资产) and the fitted models' diagnostics."""
    return service.clv(session=session, actor=actor, scope=scope)


@router.get("/cohorts")
def read_cohorts(
    session: DbSession, actor: Reader, settings: SettingsDep, scope: ScopeDep
) -> dict[str, Any]:
    """Acquisition-month cohorts: retention and revenue per month since the first purchase."""
    return service.cohorts(
        session=session,
        actor=actor,
        database_engine=getattr(session.get_bind(), "engine", session.get_bind()),
        timezone=settings.timezone,
        scope=scope,
    )


@router.get("/churn")
def read_churn(
    session: DbSession,
    actor: Reader,
    scope: ScopeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Churn risk by tier, stage and RFM segment, the churn-cause model (AUC, effects), win-back
    candidates."""
    return customer_reads.churn(session=session, actor=actor, limit=limit, scope=scope)


@router.get("/recommendations/{customer_id}")
def read_recommendations(session: DbSession, actor: Reader, customer_id: int) -> dict[str, Any]:
    """Recommended products and look-alike customers for one customer the caller may see."""
    return customer_reads.recommendations(session=session, actor=actor, customer_id=customer_id)


def _run_json(run: AnalysisRun, *, full: bool) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "engine": run.engine,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "observation_end": run.observation_end.isoformat(),
        "data_from": run.data_from.isoformat() if run.data_from else None,
        "data_to": run.data_to.isoformat() if run.data_to else None,
        "step": run.step,
        "progress": run.progress,
        "error": run.error,
        "parameters": run.parameters,
        # whole-population figures only for those who see the whole population
        "transactions": run.transactions if full else None,
        "customers_scored": run.customers_scored if full else None,
        "diagnostics": run.diagnostics if full else None,
    }


@router.get("/runs")
def read_runs(
    session: DbSession, actor: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> dict[str, Any]:
    """Scoring runs, newest first, with their parameters and (for those who see every customer)
    the diagnostics."""
    full = visible_scores.sees_everyone(session, actor)
    runs = service.list_runs(session=session, actor=actor, limit=limit)
    return {"items": [_run_json(run, full=full) for run in runs]}


@router.get("/runs/{run_id}")
def read_run(session: DbSession, actor: Reader, run_id: int) -> dict[str, Any]:
    """One run: status, the step it is on and its progress (0-100), and its results."""
    run = session.get(AnalysisRun, run_id)
    if run is None:
        raise NotFound(N_("No such scoring run."))
    return _run_json(run, full=visible_scores.sees_everyone(session, actor))


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED)
def start_run(
    session: DbSession,
    actor: Annotated[User, require("analytics", "create")],
    settings: SettingsDep,
) -> dict[str, Any]:
    """Start a scoring run in the job queue; poll ``/runs/{id}`` for its progress."""
    from guanxi.analytics import jobs as analytics_jobs
    from guanxi.analytics import runs

    run = runs.start(session, actor=actor, timezone=settings.timezone)
    jobs.enqueue_after_commit(session, analytics_jobs.run_analysis, run_id=run.id)
    return _run_json(run, full=True)


@router.get("/parameters")
def read_parameters(session: DbSession, actor: Reader) -> dict[str, Any]:
    """The parameters the next run will use (thresholds, costs to serve, horizons)."""
    from guanxi.analytics import runs

    return runs.parameters(session).to_json()


@router.put("/parameters")
def write_parameters(
    session: DbSession,
    actor: Annotated[User, require("analytics", "update")],
    body: dict[str, Any],
) -> dict[str, Any]:
    """Replace the stored parameters; fields left out take their defaults."""
    try:
        parameters = AnalysisParameters.from_json(body)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            N_("These analytics parameters cannot be used."),
            errors=[FieldError("body", str(exc))],
        ) from exc
    settings_store.put(session, SETTINGS_KEY, parameters.to_json())
    return parameters.to_json()
