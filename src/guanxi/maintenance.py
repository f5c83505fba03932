"""Routine care of the store: statistics for the query planner and compact search indexes."""

from __future__ import annotations

import logging

from sqlalchemy import text

from guanxi.jobs import JobContext, periodic

log = logging.getLogger("guanxi.maintenance")


@periodic(minute="10", hour="3")
def optimize_database(ctx: JobContext) -> None:
    """SQLite: refresh planner statistics (so a city filter sorted by name walks the right index)
    and merge full-text index segments. PostgreSQL's autovacuum does both on its own."""
    if ctx.db.engine.dialect.name != "sqlite":
        return
    with ctx.db.engine.begin() as connection:
        connection.execute(text("PRAGMA optimize"))
        connection.execute(
            text("INSERT INTO customer_grams(customer_grams, rank) VALUES ('merge', 64)")
        )
        connection.execute(
            text("INSERT INTO customer_trigrams(customer_trigrams, rank) VALUES ('merge', 64)")
        )
    log.info("SQLite statistics refreshed and search indexes merged")
