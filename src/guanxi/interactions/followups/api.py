"""Follow-ups API: plan, reschedule, complete, cancel and list follow-ups, and "my day"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.db import utcnow
from guanxi.deps import DbSession, IfMatch, SettingsDep, require
from guanxi.errors import N_, PermissionDenied
from guanxi.interactions.followups import service as followups
from guanxi.interactions.followups.schemas import (
    FollowUpComplete,
    FollowUpCompletion,
    FollowUpCreate,
    FollowUpRead,
    FollowUpReschedule,
    FollowUpStatus,
    FollowUpUpdate,
    MyDay,
)
from guanxi.interactions.models import FollowUp
from guanxi.pagination import PageOut

router = APIRouter(prefix="/api/v1/follow-ups", tags=["follow-ups"])
Limit = Annotated[int, Query(ge=1, le=500)]


def _read(session: DbSession, follow_up: FollowUp, response: Response) -> FollowUpRead:
    response.headers["ETag"] = etag(follow_up.version)
    return followups.to_reads(session, [follow_up])[0]


@router.get("")
def list_follow_ups(
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
    assignee_id: int | None = None,
    customer_id: int | None = None,
    status: FollowUpStatus | None = None,
    due_from: Annotated[
        datetime | None, Query(description="Due at or after (UTC if no zone)")
    ] = None,
    due_to: Annotated[datetime | None, Query(description="Due before (UTC if no zone)")] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[FollowUpRead]:
    """Follow-ups of customers the caller may see, soonest due first."""
    page = followups.list_follow_ups(
        session=session,
        actor=actor,
        assignee_id=assignee_id,
        customer_id=customer_id,
        status=status,
        due_from=due_from,
        due_to=due_to,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=followups.to_reads(session, list(page.items)), next_cursor=page.next_cursor
    )


@router.get("/my-day")
def my_day(
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "read")],
) -> MyDay:
    """The caller's open follow-ups: overdue, due later today and in the next 7 days; "today"
    is the caller's day in their own time zone (else the company's)."""
    zone = actor.zone(settings.zone)
    day = followups.my_day(session=session, user=actor, now=utcnow(), zone=zone)
    return MyDay(
        date=day.date,
        timezone=str(zone),
        overdue=followups.to_reads(session, day.overdue),
        today=followups.to_reads(session, day.today),
        upcoming=followups.to_reads(session, day.upcoming),
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_follow_up(
    body: FollowUpCreate,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("interactions", "create")],
) -> FollowUpRead:
    follow_up = followups.create(session=session, actor=actor, follow_up_in=body)
    response.headers["Location"] = f"/api/v1/follow-ups/{follow_up.id}"
    return _read(session, follow_up, response)


@router.get("/{follow_up_id:int}")
def read_follow_up(
    follow_up_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
) -> FollowUpRead:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    return _read(session, follow_up, response)


@router.patch("/{follow_up_id:int}")
def update_follow_up(
    follow_up_id: int,
    body: FollowUpUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "update")],
) -> FollowUpRead:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    followups.update(
        session=session,
        actor=actor,
        follow_up=follow_up,
        follow_up_in=body,
        expected_version=expected_version,
    )
    return _read(session, follow_up, response)


@router.delete("/{follow_up_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_follow_up(
    follow_up_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "delete")],
) -> Response:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    followups.delete(session=session, follow_up=follow_up, expected_version=expected_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{follow_up_id:int}/complete")
def complete_follow_up(
    follow_up_id: int,
    body: FollowUpComplete,
    session: DbSession,
    settings: SettingsDep,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "update")],
) -> FollowUpCompletion:
    """Close the follow-up with its outcome, logged as an interaction; a recurring one opens
    its next occurrence (``next``)."""
    if not actor.can("interactions", "create"):
        # completing records an interaction too, so it needs both rights
        raise PermissionDenied(N_("Your role may not log interactions."))
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    done = followups.complete(
        session=session,
        actor=actor,
        follow_up=follow_up,
        completion_in=body,
        zone=actor.zone(settings.zone),
        expected_version=expected_version,
    )
    reads = followups.to_reads(session, [done.follow_up] + ([done.next] if done.next else []))
    return FollowUpCompletion(
        follow_up=reads[0], interaction_id=done.interaction_id, next=reads[1] if done.next else None
    )


@router.post("/{follow_up_id:int}/reschedule")
def reschedule_follow_up(
    follow_up_id: int,
    body: FollowUpReschedule,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "update")],
) -> FollowUpRead:
    """Move the due time; the new time is reminded of again."""
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    followups.reschedule(
        session=session, follow_up=follow_up, due_at=body.due_at, expected_version=expected_version
    )
    return _read(session, follow_up, response)


@router.post("/{follow_up_id:int}/cancel")
def cancel_follow_up(
    follow_up_id: int,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("interactions", "update")],
) -> FollowUpRead:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    followups.cancel(session=session, follow_up=follow_up, expected_version=expected_version)
    return _read(session, follow_up, response)
