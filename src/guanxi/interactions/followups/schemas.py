"""API shapes of follow-ups (跟进计划), their completion, "my day" and the calendar URL.

Times go out as aware UTC; a time that comes in without a zone is taken as UTC (the pages
convert the user's local input before it gets here).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Recurrence = Literal["none", "daily", "weekly", "monthly"]
FollowUpStatus = Literal["open", "done", "cancelled"]
Direction = Literal["inbound", "outbound"]


class FollowUpCreate(BaseModel):
    customer_id: int
    due_at: datetime
    assignee_id: int | None = Field(None, description="Default: the caller")
    channel: str = Field("phone", max_length=20)
    subject: str = Field("", max_length=200)
    note: str = Field("", max_length=20000)
    contact_id: int | None = None
    opportunity_id: int | None = None
    recurrence: Recurrence = "none"
    recurrence_interval: int = Field(1, ge=1, le=366)
    recurrence_until: datetime | None = None


class FollowUpUpdate(BaseModel):
    """The fields to change; leave out what stays."""

    due_at: datetime | None = None
    assignee_id: int | None = None
    channel: str | None = Field(None, max_length=20)
    subject: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=20000)
    contact_id: int | None = None
    opportunity_id: int | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: int | None = Field(None, ge=1, le=366)
    recurrence_until: datetime | None = None


class FollowUpComplete(BaseModel):
    """What came of the follow-up; it is logged as an interaction."""

    outcome: str = Field(min_length=1, max_length=40)
    notes: str = Field("", max_length=20000)
    channel: str | None = Field(None, max_length=20, description="Default: the planned channel")
    direction: Direction = "outbound"


class FollowUpReschedule(BaseModel):
    due_at: datetime


class FollowUpRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    customer_name: str = ""
    contact_id: int | None
    assignee_id: int | None
    created_by_id: int | None
    due_at: datetime
    channel: str
    subject: str
    note: str
    status: FollowUpStatus
    recurrence: Recurrence
    recurrence_interval: int
    recurrence_until: datetime | None
    opportunity_id: int | None
    completed_at: datetime | None
    outcome: str
    interaction_id: int | None
    previous_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class FollowUpCompletion(BaseModel):
    """A completed follow-up, the interaction it became and, if recurring, the next one."""

    follow_up: FollowUpRead
    interaction_id: int
    next: FollowUpRead | None = None


class MyDay(BaseModel):
    """The caller's open follow-ups: overdue, due later today, and in the next days."""

    date: date
    timezone: str
    overdue: list[FollowUpRead]
    today: list[FollowUpRead]
    upcoming: list[FollowUpRead]


class CalendarUrl(BaseModel):
    url: str
