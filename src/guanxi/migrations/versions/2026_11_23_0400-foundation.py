"""Foundation: users, teams, roles as data, sessions, tokens, login attempts, shares, audit log.

Revision ID: 20261123_0400
Revises:
Create Date: 2026-11-23 04:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "20261123_0400"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def _id(name: str = "id", *args: Any, **kwargs: Any) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), "sqlite"), *args, **kwargs)


def _ref(name: str, target: str, *, nullable: bool, ondelete: str) -> sa.Column:
    return _id(name, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _utc(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _edited() -> list[sa.Column]:
    return [
        _utc("created_at"),
        _utc("updated_at"),
        sa.Column("version", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        _id(primary_key=True, autoincrement=False),
        _id("last_id", nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        sa.table("audit_chain_head", sa.column("id"), sa.column("last_id"), sa.column("last_hash")),
        [{"id": 1, "last_id": 0, "last_hash": GENESIS_HASH}],
    )
    op.create_table(
        "audit_log",
        _id(primary_key=True, autoincrement=False),
        _utc("occurred_at"),
        _id("actor_id", nullable=True),
        sa.Column("actor_username", sa.String(60), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "occurred_at"])
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor_id", "occurred_at"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"])
    op.create_index("ix_audit_log_occurred_at", "audit_log", ["occurred_at"])

    op.create_table(
        "login_attempts",
        _id(primary_key=True),
        sa.Column("username", sa.String(60), nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        _utc("attempted_at"),
    )
    op.create_index(
        "ix_login_attempts_address_at", "login_attempts", ["ip_address", "attempted_at"]
    )
    op.create_index("ix_login_attempts_username_at", "login_attempts", ["username", "attempted_at"])

    op.create_table(
        "roles",
        _id(primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("record_scope", sa.String(8), nullable=False),
        sa.Column("is_builtin", sa.Boolean, nullable=False),
        *_edited(),
    )
    op.create_table(
        "role_permissions",
        _ref("role_id", "roles.id", nullable=False, ondelete="CASCADE"),
        sa.Column("resource", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("role_id", "resource", "action"),
    )
    op.create_table(
        "teams",
        _id(primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        _ref("parent_id", "teams.id", nullable=True, ondelete="RESTRICT"),
        *_edited(),
    )
    op.create_index("ix_teams_parent_id", "teams", ["parent_id"])

    op.create_table(
        "users",
        _id(primary_key=True),
        sa.Column("username", sa.String(60), nullable=False, unique=True),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        _ref("role_id", "roles.id", nullable=False, ondelete="RESTRICT"),
        _ref("team_id", "teams.id", nullable=True, ondelete="SET NULL"),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("locale", sa.String(8)),
        sa.Column("timezone", sa.String(64)),
        _utc("last_login_at", nullable=True),
        *_edited(),
    )
    op.create_index("ix_users_role_id", "users", ["role_id"])
    op.create_index("ix_users_team_id", "users", ["team_id"])

    op.create_table(
        "user_sessions",
        _id(primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _ref("user_id", "users.id", nullable=False, ondelete="CASCADE"),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _utc("created_at"),
        _utc("expires_at"),
        _utc("last_seen_at"),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=False),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])

    op.create_table(
        "api_tokens",
        _id(primary_key=True),
        _ref("user_id", "users.id", nullable=False, ondelete="CASCADE"),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("token_prefix", sa.String(16), nullable=False),
        _utc("created_at"),
        _utc("expires_at", nullable=True),
        _utc("last_used_at", nullable=True),
        _utc("revoked_at", nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    op.create_table(
        "record_shares",
        _id(primary_key=True),
        sa.Column("resource", sa.String(40), nullable=False),
        _id("record_id", nullable=False),
        _ref("user_id", "users.id", nullable=False, ondelete="CASCADE"),
        _ref("granted_by_id", "users.id", nullable=True, ondelete="SET NULL"),
        _utc("created_at"),
        sa.UniqueConstraint(
            "resource", "record_id", "user_id", name="uq_record_shares_record_user"
        ),
    )
    op.create_index("ix_record_shares_user_id", "record_shares", ["user_id"])

    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        _utc("updated_at"),
    )

    if op.get_bind().dialect.name == "postgresql":
        _create_job_queue_tables()


def _create_job_queue_tables() -> None:
    # Huey's PostgreSQL storage, created here so that migrations alone make the schema.
    # Mirrors huey.storage.PostgresStorage's DDL (table prefix "huey").
    op.execute(
        "create table huey_kv (queue text not null, key text not null, value bytea not null, "
        "primary key(queue, key))"
    )
    op.execute(
        "create table huey_schedule (id bigserial primary key, queue text not null, "
        "data bytea not null, timestamp double precision not null)"
    )
    op.execute("create index huey_schedule_queue_timestamp on huey_schedule (queue, timestamp)")
    op.execute(
        "create table huey_task (id bigserial primary key, queue text not null, "
        "data bytea not null, priority double precision not null default 0.0)"
    )
    op.execute("create index huey_task_queue_priority_id on huey_task (queue, priority desc, id)")
    op.execute(
        "create table huey_counter (queue text not null, key text not null, "
        "value bigint not null default 0, primary key(queue, key))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("huey_counter", "huey_task", "huey_schedule", "huey_kv"):
            op.drop_table(table)
    for table in (
        "app_settings",
        "record_shares",
        "api_tokens",
        "user_sessions",
        "users",
        "teams",
        "role_permissions",
        "roles",
        "login_attempts",
        "audit_log",
        "audit_chain_head",
    ):
        op.drop_table(table)
