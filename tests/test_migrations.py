"""The migrations are the only way the schema is made, so they must match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from guanxi.db import Database
from guanxi.models import Base

# tables made by tests, the job queue's own tables, and SQLite's full-text index tables
NOT_MODELS = ("test_", "huey_", "customer_grams", "customer_trigrams")


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if type_ == "table" and name and name.startswith(NOT_MODELS):
        return False
    # the search indexes are made by hand in the migration (GIN, pg_trgm), not from the models
    return not (type_ == "index" and name and name.startswith("ix_customers_search_"))


def test_migrated_schema_matches_the_models(database: Database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _ours}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_foreign_key_column_is_indexed(database: Database):
    inspector = inspect(database.engine)
    unindexed = []
    for table in inspector.get_table_names():
        if table.startswith(NOT_MODELS):
            continue
        indexed = {ix["column_names"][0] for ix in inspector.get_indexes(table)}
        indexed |= {c["column_names"][0] for c in inspector.get_unique_constraints(table)}
        indexed |= set(inspector.get_pk_constraint(table)["constrained_columns"][:1])
        for fk in inspector.get_foreign_keys(table):
            if fk["constrained_columns"][0] not in indexed:
                unindexed.append(f"{table}.{fk['constrained_columns'][0]}")
    # "who did it" columns are shown, never searched by; users are disabled, never deleted, so
    # their ON DELETE SET NULL never has to scan for them
    assert sorted(unindexed) == [
        "analysis_runs.started_by_id",
        "consent_events.recorded_by_id",
        "contract_reminders.user_id",
        "follow_up_reminders.user_id",
        "follow_ups.created_by_id",
        "import_mappings.created_by_id",
        "invoices.created_by_id",
        "opportunity_stage_changes.changed_by_id",
        "order_returns.created_by_id",
        "record_shares.granted_by_id",
        "shipments.created_by_id",
        "summary_mailings.run_id",
        "summary_mailings.user_id",
        "ticket_attachments.uploaded_by_id",
        "ticket_changes.actor_id",
        "ticket_messages.author_id",
        "tickets.created_by_id",
    ]
