"""The migrations are the only way the schema is made, so they must match the models exactly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, inspect, select

from guanxi import schema
from guanxi.bulk import insert_many
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.models import Base
from guanxi.service_desk.models import Ticket
from guanxi.service_desk.ticket_search import subject_matches

# tables made by tests, the job queue's own tables, and SQLite's full-text index tables
NOT_MODELS = ("test_", "huey_", "customer_grams", "customer_trigrams", "ticket_grams")


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if type_ == "table" and name and name.startswith(NOT_MODELS):
        return False
    # the search indexes are made by hand in the migration (GIN, pg_trgm), not from the models
    return not (
        type_ == "index"
        and name
        and name.startswith(("ix_customers_search_", "ix_tickets_search_"))
    )


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


def test_tickets_written_before_the_subject_index_are_found_after_it(fresh_database_url: str):
    """The migration that brings the subject index fills it for the tickets already there."""
    db = Database(fresh_database_url)
    config = schema.alembic_config(db)
    # the tickets table as it was before the index: every column but the terms
    before = Table(
        "tickets",
        MetaData(),
        *(
            Column(c.name, c.type, default=c.default)
            for c in Ticket.__table__.columns
            if c.name != "search_grams"
        ),
    )
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "20261207_1900")
        insert_many(connection, Customer.__table__, [{"id": 1, "name": "王", "name_key": "王"}])
        insert_many(
            connection,
            before,
            [
                {"id": n, "kind": "complaint", "subject": subject, "customer_id": 1}
                for n, subject in ((1, "冰箱漏水"), (2, "压缩机烧毁 KFR-35GW"), (3, "预约安装"))
            ],
        )
        command.upgrade(config, "head")
    try:
        with db.unit_of_work() as session:

            def found(q: str) -> list[int]:
                return sorted(session.scalars(select(Ticket.id).where(subject_matches(session, q))))

            assert found("漏水") == [1]
            assert found("压缩机烧毁") == [2]
            assert found("35gw") == [2]
            assert found("安装") == [3]
    finally:
        db.dispose()
