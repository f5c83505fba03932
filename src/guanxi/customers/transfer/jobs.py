"""Background work for the customer database: imports started from the web UI."""

from __future__ import annotations

import logging

from guanxi.customers.transfer import importing
from guanxi.jobs import JobContext, job

log = logging.getLogger("guanxi.customers")


@job(retries=3, retry_delay=10)
def run_import(ctx: JobContext, *, run_id: int, actor_id: int) -> None:
    """Import a recorded run's file as the user who uploaded it. A retry after a crash carries
    on after the last committed batch; a file that cannot be read ends the run as failed."""
    run = importing.execute_run(db=ctx.db, run_id=run_id, actor_id=actor_id)
    log.info(
        "import %d %s: %d inserted, %d updated, %d unchanged, %d rejected",
        run.id,
        run.status,
        run.inserted,
        run.updated,
        run.unchanged,
        run.rejected,
    )
