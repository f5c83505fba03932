"""Reading and checking the audit log. Writing happens in ``tracking`` and ``chain``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit import chain, personal
from guanxi.audit.models import AuditEntry
from guanxi.pagination import Page, paginate


def list_entries(
    *,
    session: Session,
    actor: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    entity_ids: Sequence[str] | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditEntry]:
    """Newest first, filtered by who, what, which record and when."""
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor_username == actor.strip().lower())
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if entity_ids is not None:
        stmt = stmt.where(AuditEntry.entity_id.in_(entity_ids))
    if action:
        # "login" matches login.failed, login.succeeded and login.throttled
        stmt = stmt.where(
            (AuditEntry.action == action) | AuditEntry.action.startswith(action + ".")
        )
    if since is not None:
        stmt = stmt.where(AuditEntry.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.occurred_at < until)
    return paginate(session, stmt, AuditEntry.id, limit=limit, cursor=cursor, descending=True)


def readable_changes(*, session: Session, entry: AuditEntry) -> dict[str, Any]:
    """The entry's changes with personal values unsealed (or "[erased]" after erasure)."""
    return personal.unseal_changes(session, entry.entity_type, entry.entity_id, entry.changes)


def entity_types(*, session: Session) -> list[str]:
    return list(
        session.scalars(select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type))
    )


def verify(*, session: Session) -> chain.ChainReport:
    return chain.verify(session.connection())
