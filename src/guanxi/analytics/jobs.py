"""Scoring in the job queue: every night, and on demand from the API or the analytics page.

The engines are imported inside the jobs, so the web process does not load DuckDB until a run
is asked for.
"""

from __future__ import annotations

import logging

from guanxi.errors import Conflict
from guanxi.jobs import JobContext, job, periodic

log = logging.getLogger("guanxi.analytics")


@job(retries=0)
def run_analysis(ctx: JobContext, run_id: int) -> None:
    """Carry out a run started by ``runs.start`` (a failure is kept on the run, not retried)."""
    from guanxi.analytics import runs

    finished = runs.execute(ctx.db, ctx.settings, run_id)
    log.info("scoring run %s %s", run_id, finished.status)


@periodic(minute="30", hour="2")
def nightly_analysis(ctx: JobContext) -> None:
    """Score the whole store at night with the stored parameters."""
    from guanxi.analytics import runs

    try:
        finished = runs.analyze(ctx.db, ctx.settings)
    except Conflict:
        log.info("nightly scoring skipped: a run is already in progress")
        return
    log.info("nightly scoring run %s %s", finished.id, finished.status)
