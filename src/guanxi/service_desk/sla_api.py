"""SLA policies, the business calendar and the SLA report over JSON: ``/api/v1/sla-policies``,
``/api/v1/business-calendar`` and ``/api/v1/sla-report``. Reading policies and the calendar
needs ``tickets:read``, changing them ``tickets:manage`` (administrators and service leads); the
report needs ``reports:read`` and counts only the tickets the caller may see."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, require
from guanxi.service_desk import sla_admin, sla_report
from guanxi.service_desk.satisfaction import parse_period
from guanxi.service_desk.sla_schemas import (
    CalendarDayIn,
    CalendarDayRead,
    CalendarRead,
    CalendarUpdate,
    SlaPolicyCreate,
    SlaPolicyRead,
    SlaPolicyUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["sla"])

Reader = Annotated[User, require("tickets", "read")]
Manager = Annotated[User, require("tickets", "manage")]


@router.get("/sla-report")
def read_sla_report(
    session: DbSession,
    actor: Annotated[User, require("reports", "read")],
    period: str = "",
) -> dict[str, Any]:
    """Shares of first-response and resolution targets met, overall and ``by`` team, queue,
    priority, kind and tier, over the tickets resolved in ``period`` (``90d``, ``2026-11`` or
    ``2026``; blank for all time) that the caller may see."""
    found = sla_report.report(session, actor=actor, period=parse_period(period))
    return found.as_json()


@router.get("/sla-policies")
def list_policies(session: DbSession, actor: Reader) -> list[SlaPolicyRead]:
    """Every policy in the order ties are settled (position, then id)."""
    return [SlaPolicyRead.model_validate(p) for p in sla_admin.list_policies(session)]


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED)
def create_policy(
    body: SlaPolicyCreate, response: Response, session: DbSession, actor: Manager
) -> SlaPolicyRead:
    """A policy: ``{"name", "kind", "priority", "tier", "first_response_minutes",
    "resolution_minutes", "warn_before_minutes"}``; a null kind, priority or tier matches any."""
    policy = sla_admin.create_policy(session, actor=actor, policy_in=body)
    response.headers["ETag"] = etag(policy.version)
    return SlaPolicyRead.model_validate(policy)


@router.get("/sla-policies/{policy_id:int}")
def read_policy(
    policy_id: int, response: Response, session: DbSession, actor: Reader
) -> SlaPolicyRead:
    policy = sla_admin.get_policy(session, policy_id)
    response.headers["ETag"] = etag(policy.version)
    return SlaPolicyRead.model_validate(policy)


@router.patch("/sla-policies/{policy_id:int}")
def update_policy(
    policy_id: int,
    body: SlaPolicyUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Manager,
) -> SlaPolicyRead:
    """Change the fields sent; a stale ``version`` (or If-Match) answers 412."""
    policy = sla_admin.get_policy(session, policy_id)
    policy = sla_admin.update_policy(
        session, actor=actor, policy=policy, policy_in=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(policy.version)
    return SlaPolicyRead.model_validate(policy)


@router.delete("/sla-policies/{policy_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_policy(
    policy_id: int, session: DbSession, expected_version: IfMatch, actor: Manager
) -> None:
    policy = sla_admin.get_policy(session, policy_id)
    sla_admin.delete_policy(session, actor=actor, policy=policy, expected_version=expected_version)


@router.get("/business-calendar")
def read_calendar(response: Response, session: DbSession, actor: Reader) -> CalendarRead:
    """The default business calendar: the working week and its holidays and make-up days."""
    calendar = sla_admin.get_calendar(session)
    response.headers["ETag"] = etag(calendar.version)
    return sla_admin.to_read(session, calendar)


@router.patch("/business-calendar")
def update_calendar(
    body: CalendarUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Manager,
) -> CalendarRead:
    """Change the time zone or the working week: ``{"week": {"0": [["09:00", "12:00"]], ...}}``
    (a weekday left out has no hours)."""
    calendar = sla_admin.get_calendar(session)
    calendar = sla_admin.update_calendar(
        session,
        actor=actor,
        calendar=calendar,
        calendar_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(calendar.version)
    return sla_admin.to_read(session, calendar)


@router.post("/business-calendar/days")
def add_days(
    body: list[CalendarDayIn], session: DbSession, actor: Manager
) -> list[CalendarDayRead]:
    """Add holidays and make-up working days (a day already there is replaced):
    ``[{"day": "2026-10-01", "kind": "holiday", "name": "国庆节"}, ...]``."""
    calendar = sla_admin.get_calendar(session)
    saved = sla_admin.set_days(session, actor=actor, calendar=calendar, days=body)
    return [CalendarDayRead(day=d.day, kind=d.kind, name=d.name, hours=d.hours) for d in saved]


@router.delete("/business-calendar/days/{day}", status_code=status.HTTP_204_NO_CONTENT)
def remove_day(day: date, session: DbSession, actor: Manager) -> None:
    calendar = sla_admin.get_calendar(session)
    sla_admin.remove_day(session, actor=actor, calendar=calendar, day=day)
