"""JSON API for reading and checking the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from guanxi.audit import service as audit_service
from guanxi.audit.schemas import AuditEntryRead, ChainReportRead
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.pagination import PageOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("")
def list_audit_entries(
    session: DbSession,
    _: Annotated[User, require("audit", "read")],
    actor: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> PageOut[AuditEntryRead]:
    """Newest first. ``action=login`` matches every sign-in outcome."""
    page = audit_service.list_entries(
        session=session,
        actor=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    items = [
        AuditEntryRead.model_validate(e).model_copy(
            update={"changes": audit_service.readable_changes(session=session, entry=e)}
        )
        for e in page.items
    ]
    return PageOut(items=items, next_cursor=page.next_cursor)


@router.get("/verify")
def verify_audit_chain(
    session: DbSession, _: Annotated[User, require("audit", "read")]
) -> ChainReportRead:
    """Walk the whole chain and report the first entry that was edited, deleted or reordered."""
    report = audit_service.verify(session=session)
    problem = report.problem
    return ChainReportRead(
        intact=report.intact,
        checked=report.checked,
        first_bad_entry=problem.entry_id if problem else None,
        reason=problem.reason if problem else None,
    )
