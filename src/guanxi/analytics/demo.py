"""The demo company scored as soon as it is made, so the mining centre shows something at once:
one run as of 90 days before the demo's today and one as of today. Two runs make the lifecycle
flows between runs, every customer's stage history and the comparison of runs visible without
waiting for the nightly job.

A run as of an earlier day reads only what happened up to that day (``runs.load_input``), so
the first run sees the company as it was then.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import func, select

from guanxi import settings_store
from guanxi.analytics import runs
from guanxi.analytics.cli import STEP_LABELS
from guanxi.analytics.models import AnalysisRun
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.demo import DEMO_KEY
from guanxi.errors import Conflict

log = logging.getLogger(__name__)
EARLIER_DAYS = 90


def score_demo(
    db: Database, settings: Settings, progress: Callable[[str], None] | None = None
) -> list[AnalysisRun]:
    """Score a demo company that has never been scored: a run as of ``EARLIER_DAYS`` before
    today (in the company's time zone), then one as of today. Returns the runs, succeeded or
    failed (a failed run is reported, never raised: the demo stays usable and the nightly job
    tries again). Does nothing, and returns no runs, when the store holds no demo company or
    already has a run."""
    with db.sessions() as session:
        if settings_store.get(session, DEMO_KEY) is None:
            return []
        if session.scalar(select(func.count()).select_from(AnalysisRun)):
            return []
    today = dt.datetime.now(settings.zone).date()
    finished: list[AnalysisRun] = []
    for end in (today - dt.timedelta(days=EARLIER_DAYS), today):

        def report(step: str, percent: int, day: dt.date = end) -> None:
            if progress is not None:
                progress(f"as of {day.isoformat()}: {STEP_LABELS.get(step, step)} ({percent}%)")

        try:
            run = runs.analyze(db, settings, end=end, progress=report)
        except Conflict:  # someone started a run meanwhile; theirs will do
            break
        finished.append(run)
        if run.status != "succeeded":
            log.warning("scoring the demo as of %s failed: %s", end, run.error)
    return finished
