"""Housekeeping for sign-in data."""

from __future__ import annotations

import logging
from datetime import timedelta

from guanxi.auth import login
from guanxi.jobs import JobContext, periodic

log = logging.getLogger("guanxi.auth")


@periodic(minute="17", hour="*")
def prune_sign_in_records(ctx: JobContext) -> None:
    """Drop expired sessions and login attempts older than any throttling window needs."""
    keep = timedelta(minutes=ctx.settings.login_window_minutes) * 4
    with ctx.db.unit_of_work() as session:
        sessions = login.prune_sessions(session=session)
        attempts = login.prune_login_attempts(
            session=session, older_than=max(keep, timedelta(days=1))
        )
    log.info("pruned %d expired sessions and %d old login attempts", sessions, attempts)
