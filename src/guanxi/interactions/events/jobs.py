"""Retention of web behaviour events: every night, events older than the retention (days, set on
``/admin/web-events``; ``app_settings`` key ``web_events``, default 365) are deleted.

The purge works in chunks of ``CHUNK`` events, each its own committed unit of work, so a first
run over millions of old rows never holds one huge transaction, its locks and its WAL, and an
interrupted run keeps what it did; the next run carries on. Progress is logged per chunk and the
run is audited with the number removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from guanxi.audit import tracking
from guanxi.db import utcnow
from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.events import service as events
from guanxi.jobs import JobContext, periodic

log = logging.getLogger("guanxi.interactions.events")
CHUNK = 10_000


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    removed: int
    chunks: int


@periodic(minute="40", hour="2")
def purge_web_events(ctx: JobContext) -> None:
    report = purge(ctx.db.sessions)
    log.info("web events purged: %s", report)


def purge(
    sessions: Callable[[], Session], *, now: datetime | None = None, chunk_size: int = CHUNK
) -> PurgeReport:
    """Delete the events older than the retention, ``chunk_size`` per transaction."""
    with sessions() as session:
        retention_days = events_settings.load(session).retention_days
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    removed = chunks = 0
    while True:
        with sessions() as session:
            gone = events.purge_chunk(session, older_than=cutoff, chunk_size=chunk_size)
            session.commit()
        removed += gone
        chunks += 1
        if gone:
            log.info(
                "web events older than %s: %d removed so far (%d days kept)",
                cutoff.isoformat(),
                removed,
                retention_days,
            )
        if gone < chunk_size:
            break
    if removed:
        with sessions() as session:
            tracking.record(
                session,
                "web_events.purge",
                "app_setting",
                events_settings.SETTINGS_KEY,
                {"removed": removed, "older_than": cutoff, "retention_days": retention_days},
            )
            session.commit()
    return PurgeReport(cutoff=cutoff, removed=removed, chunks=chunks)
