"""Personal iCalendar feeds: the secret URL (GET /api/v1/me/calendar), revoking it, and the feed
itself at /calendar/{token}.ics, which calendar apps fetch without signing in (the token is the
credential)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from guanxi.auth.models import User
from guanxi.deps import DbSession, SettingsDep, public, require
from guanxi.interactions.followups import calendar_feed
from guanxi.interactions.followups.schemas import CalendarUrl

router = APIRouter(tags=["calendar"])


@router.get("/api/v1/me/calendar")
def my_calendar_url(
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "read")],
) -> CalendarUrl:
    """The caller's feed URL, made on the first call; later calls answer the same URL."""
    return CalendarUrl(url=calendar_feed.ensure_url(session=session, settings=settings, user=actor))


@router.delete("/api/v1/me/calendar", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_calendar(
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
) -> Response:
    """Turn the feed URL off (it answers 404 from now on); the next GET makes a new one."""
    calendar_feed.revoke(session=session, user=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/calendar/{token}.ics", dependencies=[public], include_in_schema=False)
def calendar_feed_file(
    token: str,
    session: DbSession,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    reply = calendar_feed.build_for_token(
        session=session, settings=settings, token=token, if_none_match=if_none_match
    )
    headers = {"ETag": reply.etag, "Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex"}
    if reply.body is None:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(reply.body, media_type="text/calendar; charset=utf-8", headers=headers)
