"""Tickets are found by a fragment of their subject through an index, and the queue page's
"soonest due first" walks an index instead of sorting a queue's open tickets.

- ``tickets.search_grams``: the subject's search terms (``service_desk.subject_terms``), filled
  for the tickets already there; SQLite keeps them in the FTS5 table ``ticket_grams`` (kept by
  triggers, like ``customer_grams``), PostgreSQL in a GIN index.
- ``(queue_id, status, resolution_due, id)`` and ``(assignee_id, status, resolution_due, id)``:
  the queue page reads each queue's (or agent's) tickets of one status in due order and merges
  them (``service_desk.worklists``); ``(queue_id, priority, status, resolution_due, id)`` does
  the same for one priority of a queue.

Revision ID: 20261207_2200
Revises: 20261207_1900
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from guanxi.service_desk.subject_terms import terms

revision: str = "20261207_2200"
down_revision: str | None = "20261207_1900"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRAMS = sa.Text().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")
BATCH = 5_000


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # a plain ADD COLUMN on both (a batch would copy the whole table on SQLite)
    op.add_column(
        "tickets",
        sa.Column(
            "search_grams",
            GRAMS,
            nullable=False,
            server_default=sa.text("'{}'") if postgres else sa.text("''"),
        ),
    )
    _fill(bind, postgres)
    op.create_index(
        "ix_tickets_queue_status_due", "tickets", ["queue_id", "status", "resolution_due", "id"]
    )
    op.create_index(
        "ix_tickets_assignee_status_due",
        "tickets",
        ["assignee_id", "status", "resolution_due", "id"],
    )
    op.create_index(
        "ix_tickets_queue_priority_due",
        "tickets",
        ["queue_id", "priority", "status", "resolution_due", "id"],
    )
    if postgres:
        op.execute("CREATE INDEX ix_tickets_search_grams ON tickets USING gin (search_grams)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE ticket_grams USING fts5("
        "search_grams, content='tickets', content_rowid='id', tokenize='unicode61')"
    )
    op.execute("INSERT INTO ticket_grams(ticket_grams) VALUES ('rebuild')")
    op.execute(
        """CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
            INSERT INTO ticket_grams(rowid, search_grams) VALUES (new.id, new.search_grams);
        END"""
    )
    op.execute(
        """CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
            INSERT INTO ticket_grams(ticket_grams, rowid, search_grams)
                VALUES ('delete', old.id, old.search_grams);
        END"""
    )
    op.execute(
        """CREATE TRIGGER tickets_search_update AFTER UPDATE OF search_grams ON tickets BEGIN
            INSERT INTO ticket_grams(ticket_grams, rowid, search_grams)
                VALUES ('delete', old.id, old.search_grams);
            INSERT INTO ticket_grams(rowid, search_grams) VALUES (new.id, new.search_grams);
        END"""
    )


def _fill(bind: sa.Connection, postgres: bool) -> None:
    """The terms of the subjects already written, a batch at a time by id."""
    tickets = sa.table(
        "tickets", sa.column("id", sa.BigInteger), sa.column("subject"), sa.column("search_grams")
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.select(tickets.c.id, tickets.c.subject)
            .where(tickets.c.id > after)
            .order_by(tickets.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(tickets)
            .where(tickets.c.id == sa.bindparam("ticket_id"))
            .values(search_grams=sa.bindparam("grams", type_=GRAMS)),
            [
                {
                    "ticket_id": row.id,
                    "grams": terms(row.subject) if postgres else " ".join(terms(row.subject)),
                }
                for row in rows
            ],
        )
        after = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_search_grams")
    else:
        for trigger in ("tickets_search_insert", "tickets_search_delete", "tickets_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_grams")
    op.drop_index("ix_tickets_queue_priority_due", table_name="tickets")
    op.drop_index("ix_tickets_assignee_status_due", table_name="tickets")
    op.drop_index("ix_tickets_queue_status_due", table_name="tickets")
    op.drop_column("tickets", "search_grams")
