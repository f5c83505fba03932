"""The audit log page for administrators: filter by user, entity, action and time."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from guanxi.audit import service as audit_service
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)
Auditor = Annotated[User, require("audit", "read")]

ACTIONS = ("create", "update", "delete", "login", "logout", "export", "import", "role.permissions")


def _day(value: str, field: str, request: Request) -> datetime | None:
    """A yyyy-mm-dd filter as the start of that day in the server's time zone."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise InvalidInput(
            N_("Write dates as 2026-11-23."), errors=[FieldError(field, N_("Not a date."))]
        ) from exc
    return datetime.combine(day, time.min, tzinfo=request.app.state.settings.zone)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: DbSession,
    _: Auditor,
    actor: str = "",
    entity_type: str = "",
    entity_id: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    filters = {
        "actor": actor,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "since": since,
        "until": until,
    }
    end = _day(until, "until", request)
    page = audit_service.list_entries(
        session=session,
        actor=actor or None,
        entity_type=entity_type or None,
        entity_id=entity_id or None,
        action=action or None,
        since=_day(since, "since", request),
        until=end + timedelta(days=1) if end else None,  # "until" includes that whole day
        cursor=cursor,
    )
    next_url = (
        "/admin/audit?" + urlencode({**filters, "cursor": page.next_cursor})
        if page.next_cursor
        else None
    )
    return render(
        request,
        "audit/log.html",
        {
            "entries": [
                (e, audit_service.readable_changes(session=session, entry=e)) for e in page.items
            ],
            "filters": filters,
            "entity_types": audit_service.entity_types(session=session),
            "actions": ACTIONS,
            "next_url": next_url,
        },
    )


@router.get("/admin/audit/verify", response_class=HTMLResponse)
def audit_verify(request: Request, session: DbSession, _: Auditor) -> HTMLResponse:
    report = audit_service.verify(session=session)
    return render(request, "audit/verify.html", {"report": report})
