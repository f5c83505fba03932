"""Scoring-run pages of the mining centre: the runs (who started them, on what data, how they
ended), one run with its parameters and diagnostics compared with another run, and "Run scoring
now". The button's script starts a run through the JSON API and follows its progress
(``static/run_now.js``); without script the button posts here and the run's page refreshes
itself until the run ends.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from guanxi import jobs
from guanxi.analytics import run_reads, runs, service
from guanxi.analytics.models import AnalysisRun
from guanxi.analytics.visible_scores import sees_everyone
from guanxi.auth.models import User
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, Conflict
from guanxi.web import i18n
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, require("analytics", "read")]
LISTED_RUNS = 50
WRONG_OTHER = N_("Choose a finished run to compare with.")


@router.get("/analytics/runs", response_class=HTMLResponse)
def runs_page(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    listed = service.list_runs(session=session, actor=actor, limit=LISTED_RUNS)
    return render(
        request,
        "analytics/runs.html",
        {
            "runs": listed,
            "starters": run_reads.starters(session, listed),
            "full": sees_everyone(session, actor),
            "active_run": run_reads.running(session),
        },
    )


@router.post("/analytics/runs")
def start_run(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("analytics", "create")],
) -> Response:
    """The button without script: start a run in the job queue and open its page."""
    from guanxi.analytics import jobs as analytics_jobs  # on use, as the API does

    try:
        run = runs.start(session, actor=actor, timezone=settings.timezone)
    except Conflict as refused:
        return redirect(request, "/analytics/runs", flash=refused.template, **refused.params)
    jobs.enqueue_after_commit(session, analytics_jobs.run_analysis, run_id=run.id)
    return redirect(
        request, f"/analytics/runs/{run.id}", flash=N_("Scoring run {id} started."), id=run.id
    )


def _other_run(
    session: DbSession, run: AnalysisRun, wanted: str
) -> tuple[AnalysisRun | None, str | None]:
    """The run to compare with: the one asked for in ``?with=``, else the previous succeeded
    one; a run that cannot be compared is named in a message and the default is used."""
    if wanted:
        other = session.get(AnalysisRun, int(wanted)) if wanted.isdigit() else None
        if other is not None and other.status == "succeeded" and other.id != run.id:
            return other, None
        return run_reads.previous_succeeded(session, run), WRONG_OTHER
    return run_reads.previous_succeeded(session, run), None


@router.get("/analytics/runs/{run_id:int}", response_class=HTMLResponse)
def run_page(
    run_id: int,
    request: Request,
    session: DbSession,
    actor: Reader,
    wanted: Annotated[str, Query(alias="with", max_length=20)] = "",
) -> HTMLResponse:
    run = run_reads.get_run(session, run_id)
    full = sees_everyone(session, actor)
    other, message = _other_run(session, run, wanted.strip())
    comparison = None
    if run.status == "succeeded":
        comparison = run_reads.compare(session, actor, run, other, full=full)
    return render(
        request,
        "analytics/run.html",
        {
            "run": run,
            "full": full,
            "starters": run_reads.starters(session, [run]),
            "comparison": comparison,
            "choices": run_reads.comparable(session, run) if run.status == "succeeded" else [],
            "parameters": run_reads.parameters(run, comparison.other if comparison else None),
            "holdout": run_reads.holdout(run) if full else None,
            "active_run": run if run.status == "running" else None,
            "message": i18n.gettext(message) if message else None,
        },
        status_code=422 if message else 200,
    )
