"""JSON API for the signed-in user's notifications: list, mark one read, mark all read.

Every route acts on the caller's own notifications only; another user's id answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from guanxi.deps import CurrentUser, DbSession
from guanxi.notifications import service
from guanxi.notifications.models import Notification
from guanxi.pagination import PageOut

router = APIRouter(prefix="/api/v1", tags=["notifications"])


class NotificationRead(BaseModel):
    """A notification; ``text`` is ``message`` translated for the caller with ``values`` in it."""

    id: int
    kind: str
    message: str
    values: dict[str, Any]
    text: str
    link: str
    created_at: datetime
    read_at: datetime | None


class ReadAllResult(BaseModel):
    marked: int
    unread: int


def _read(notification: Notification) -> NotificationRead:
    return NotificationRead(
        id=notification.id,
        kind=notification.kind,
        message=notification.message,
        values=dict(notification.values or {}),
        text=service.text_of(notification),
        link=notification.link,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


@router.get("/me/notifications")
def list_notifications(
    session: DbSession,
    actor: CurrentUser,
    unread: Annotated[bool, Query(description="Only those not read yet")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> PageOut[NotificationRead]:
    """The caller's notifications, newest first."""
    page = service.list_for(
        session=session, user=actor, unread_only=unread, limit=limit, cursor=cursor
    )
    return PageOut(items=[_read(n) for n in page.items], next_cursor=page.next_cursor)


@router.post("/me/notifications/{notification_id:int}/read")
def read_notification(
    notification_id: int, session: DbSession, actor: CurrentUser
) -> NotificationRead:
    return _read(service.mark_read(session=session, user=actor, notification_id=notification_id))


@router.post("/me/notifications/read-all")
def read_all_notifications(session: DbSession, actor: CurrentUser) -> ReadAllResult:
    marked = service.mark_all_read(session=session, user=actor)
    return ReadAllResult(
        marked=marked, unread=service.unread_count(session=session, user_id=actor.id)
    )
