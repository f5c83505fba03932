"""In-app notifications: tell one user something (a contract about to expire, later a follow-up
that is due) and let them mark it read.

A notification stores its message as an English catalog id with ``{placeholders}`` and the
values apart, so each reader sees it in their own language at display time. Every read goes
through the user it belongs to: nobody can see or mark another person's notifications.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.db import utcnow
from guanxi.errors import N_, NotFound
from guanxi.notifications.models import Notification
from guanxi.pagination import DEFAULT_LIMIT, Page, paginate
from guanxi.web import i18n


def notify(
    session: Session,
    *,
    user_id: int,
    kind: str,
    message: str,
    values: dict[str, Any] | None = None,
    link: str = "",
) -> Notification:
    """Leave ``message`` (an ``N_()`` msgid with ``{placeholders}`` filled from ``values``) for
    the user; ``link`` is the page it is about. The caller's unit of work commits it."""
    notification = Notification(
        user_id=user_id, kind=kind, message=message, values=dict(values or {}), link=link
    )
    session.add(notification)
    session.flush()
    return notification


def unread_count(session: Session, *, user_id: int) -> int:
    """How many notifications the user has not read (one count over the unread index)."""
    stmt = select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(stmt) or 0)


def list_for(
    *,
    session: Session,
    user: User,
    unread_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Notification]:
    """The user's notifications, newest first, a page at a time."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return paginate(session, stmt, Notification.id, limit=limit, cursor=cursor, descending=True)


def get_own(*, session: Session, user: User, notification_id: int) -> Notification:
    """One of the user's own notifications; someone else's is "not found"."""
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound(N_("Record {id} was not found."), id=notification_id)
    return notification


def mark_read(*, session: Session, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read; marking it again keeps the first time."""
    notification = get_own(session=session, user=user, notification_id=notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.flush()
    return notification


def mark_all_read(*, session: Session, user: User) -> int:
    """Mark every unread notification of the user read; returns how many there were."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def text_of(notification: Notification) -> str:
    """The message in the current language, its values filled in."""
    try:
        return i18n.translate_template(notification.message, dict(notification.values or {}))
    except (KeyError, IndexError, ValueError):
        # a message whose values do not fit (an older wording) is still shown, untranslated
        return notification.message
