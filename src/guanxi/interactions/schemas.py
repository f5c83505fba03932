"""API shapes for interactions (跟进记录): logging one, changing it, and reading it back."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from guanxi.pagination import PageOut

Channel = Literal[
    "phone", "email", "sms", "wechat", "fax", "visit", "meeting", "web_chat", "call_centre"
]
Direction = Literal["inbound", "outbound"]
Source = Literal["manual", "follow_up", "email_out", "email_in", "api"]

Subject = Field(default="", max_length=200)
Notes = Field(default="", max_length=20000)
Outcome = Field(default="", max_length=40)
Duration = Field(default=None, ge=0, le=86400 * 7, description="Length of a call or visit")


class InteractionCreate(BaseModel):
    """A touchpoint to log. ``occurred_at`` defaults to now (a time without a zone is UTC);
    ``contact_id``, ``opportunity_id`` and ``order_id`` must be the customer's own records.
    ``outcome`` is short free text; the pages offer ``reached``, ``no_answer``,
    ``left_message``, ``call_back``, ``interested``, ``not_interested``, ``ordered``,
    ``complaint`` and ``resolved``."""

    customer_id: int
    channel: Channel
    direction: Direction
    subject: str = Subject
    notes: str = Notes
    outcome: str = Outcome
    occurred_at: datetime | None = None
    duration_seconds: int | None = Duration
    contact_id: int | None = None
    opportunity_id: int | None = None
    order_id: int | None = None


class InteractionUpdate(BaseModel):
    """Changes to an interaction; fields left out stay as they are, ``null`` clears a link.
    The customer, who logged it and how it was logged do not change."""

    channel: Channel | None = None
    direction: Direction | None = None
    subject: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=20000)
    outcome: str | None = Field(default=None, max_length=40)
    occurred_at: datetime | None = None
    duration_seconds: int | None = Duration
    contact_id: int | None = None
    opportunity_id: int | None = None
    order_id: int | None = None


class InteractionRead(BaseModel):
    id: int
    customer_id: int
    customer_name: str
    channel: Channel
    direction: Direction
    occurred_at: datetime
    user_id: int | None
    user_name: str
    subject: str
    notes: str
    outcome: str
    duration_seconds: int | None
    contact_id: int | None
    contact_name: str
    opportunity_id: int | None
    order_id: int | None
    source: Source
    message_id: str | None
    email_address: str
    version: int
    created_at: datetime
    updated_at: datetime


InteractionPage = PageOut[InteractionRead]
