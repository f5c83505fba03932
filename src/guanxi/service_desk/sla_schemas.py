"""API shapes for SLA policies and the business calendar.

A policy's ``kind``, ``priority`` and ``tier`` are each a value or null (null matches any);
targets are business minutes. The calendar's ``week`` maps ``"0"`` (Monday) .. ``"6"`` to
``[["09:00", "12:00"], ["13:00", "18:00"]]``; a day is a ``holiday`` (no hours) or a make-up
``workday`` (调休), with hours of its own or, without, an ordinary weekday's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Kind = Literal["complaint", "inquiry", "suggestion", "service_request"]
Priority = Literal["low", "normal", "high", "urgent"]
Tier = Literal["vip", "key", "ordinary", "unprofitable"]
DayKind = Literal["holiday", "workday"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
DayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
# a year of business minutes is far beyond any target; a bound keeps the arithmetic sane
Minutes = Annotated[int, Field(ge=1, le=525_600)]
WarnMinutes = Annotated[int, Field(ge=0, le=525_600)]
Spans = list[tuple[str, str]]


class SlaPolicyCreate(BaseModel):
    name: Name
    position: int = 0
    kind: Kind | None = None
    priority: Priority | None = None
    tier: Tier | None = None
    first_response_minutes: Minutes
    resolution_minutes: Minutes
    warn_before_minutes: WarnMinutes = 60
    calendar_id: int | None = None
    is_active: bool = True


class SlaPolicyUpdate(BaseModel):
    """Only the fields sent change; ``null`` for kind, priority or tier means "any".
    ``version`` (or an If-Match header) guards against overwriting someone else's change."""

    name: Name | None = None
    position: int | None = None
    kind: Kind | None = None
    priority: Priority | None = None
    tier: Tier | None = None
    first_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    warn_before_minutes: WarnMinutes | None = None
    calendar_id: int | None = None
    is_active: bool | None = None
    version: int | None = None


class SlaPolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    position: int
    kind: str | None
    priority: str | None
    tier: str | None
    first_response_minutes: int
    resolution_minutes: int
    warn_before_minutes: int
    calendar_id: int | None
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class CalendarDayIn(BaseModel):
    day: date
    kind: DayKind
    name: DayName = ""
    hours: Spans | None = Field(
        default=None, description="A make-up day's own hours; none for a weekday's"
    )


class CalendarDayRead(BaseModel):
    day: date
    kind: str
    name: str
    hours: list[list[str]] | None


class CalendarUpdate(BaseModel):
    """Only the fields sent change."""

    name: Name | None = None
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    week: dict[str, Spans] | None = None
    version: int | None = None


class CalendarRead(BaseModel):
    id: int
    name: str
    timezone: str
    week: dict[str, list[list[str]]]
    days: list[CalendarDayRead]
    version: int
    updated_at: datetime
