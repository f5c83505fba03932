"""The signed-in user's notifications page: newest first, each in the viewer's language, with
buttons to open one (which marks it read) or mark everything read."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.deps import CurrentUser, DbSession
from guanxi.errors import N_
from guanxi.notifications import service
from guanxi.web.pages import safe_next
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request,
    session: DbSession,
    actor: CurrentUser,
    unread: bool = False,
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    page = service.list_for(
        session=session, user=actor, unread_only=unread, limit=PAGE_SIZE, cursor=cursor
    )
    next_url = None
    if page.next_cursor:
        params = {"cursor": page.next_cursor, **({"unread": "true"} if unread else {})}
        next_url = f"/notifications?{urlencode(params)}"
    return render(
        request,
        "notifications/list.html",
        {
            "items": [(n, service.text_of(n)) for n in page.items],
            "unread_only": unread,
            "next_url": next_url,
        },
    )


@router.post("/notifications/{notification_id:int}/read")
def notification_read(
    notification_id: int, request: Request, session: DbSession, actor: CurrentUser
) -> Response:
    """Mark one read and go where it points (or back to the list)."""
    notification = service.mark_read(session=session, user=actor, notification_id=notification_id)
    target = safe_next(notification.link) if notification.link else "/notifications"
    return redirect(request, target)


@router.post("/notifications/read-all")
def notifications_read_all(request: Request, session: DbSession, actor: CurrentUser) -> Response:
    count = service.mark_all_read(session=session, user=actor)
    return redirect(
        request, "/notifications", flash=N_("{count} notifications marked read."), count=count
    )
