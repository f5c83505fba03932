"""The migrations are the only way the schema is made, so they must match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from guanxi.db import Database
from guanxi.models import Base


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # tables made by tests (test_*) and the job queue's own tables (huey_*) are not models
    return not (type_ == "table" and name and name.startswith(("test_", "huey_")))


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
        if table.startswith("huey_"):
            continue
        indexed = {ix["column_names"][0] for ix in inspector.get_indexes(table)}
        indexed |= {c["column_names"][0] for c in inspector.get_unique_constraints(table)}
        indexed |= set(inspector.get_pk_constraint(table)["constrained_columns"][:1])
        for fk in inspector.get_foreign_keys(table):
            if fk["constrained_columns"][0] not in indexed:
                unindexed.append(f"{table}.{fk['constrained_columns'][0]}")
    # granted_by_id is only read when showing who shared a record, never searched by
    assert unindexed == ["record_shares.granted_by_id"]
