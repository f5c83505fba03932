"""The append-only, hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.db import Base, BigId

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """One thing that happened. ``row_hash`` covers this row and the previous row's hash."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_actor_at", "actor_id", "occurred_at"),
        Index("ix_audit_log_action_at", "action", "occurred_at"),
        Index("ix_audit_log_occurred_at", "occurred_at"),
    )

    # assigned from the chain head, not by the database, so the hash can cover it
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(BigId)
    actor_username: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column()
    ip_address: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The single row that says where the chain ends, so a truncated tail is detected too."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigId)
    last_hash: Mapped[str] = mapped_column(String(64))


class SubjectKey(Base):
    """A data key per person the audit log speaks about. Their personal values are logged sealed
    with it; erasing the person deletes the key, so the log keeps its hashes and its business
    facts while their personal data in it can no longer be read (crypto-shredding)."""

    __tablename__ = "subject_keys"

    entity_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column()
