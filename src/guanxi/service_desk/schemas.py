"""API shapes for tickets: opening one, changing it, moving its status, notes and replies,
merging, and what a client reads back (the ticket, its messages, attachments and history)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

TicketKind = Literal["complaint", "inquiry", "suggestion", "service_request"]
TicketPriority = Literal["low", "normal", "high", "urgent"]
TicketStatus = Literal["new", "assigned", "in_progress", "waiting", "resolved", "closed"]
TicketChannel = Literal["phone", "email", "web", "portal", "visit", "sms", "chat", "other"]


class Location(BaseModel):
    """Where the problem is (WGS-84); a service request goes to the station nearest to it."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class TicketCreate(BaseModel):
    """A new ticket. Routing picks the queue, the agent and (for a service request) the station
    when they are not given; the SLA policy sets the due times."""

    customer_id: int
    kind: TicketKind
    subject: str = Field(min_length=1, max_length=200)
    priority: TicketPriority = "normal"
    description: str = Field(default="", max_length=20000)
    location: Location | None = None
    channel: TicketChannel = "phone"
    category: str = Field(default="", max_length=80)
    language: str = Field(default="zh", min_length=2, max_length=8)
    contact_id: int | None = None
    product_id: int | None = None
    order_id: int | None = None
    owned_item_id: int | None = None
    queue_id: int | None = None
    assignee_id: int | None = None


class TicketUpdate(BaseModel):
    """Changes to a ticket; fields left out stay as they are. The status moves through
    ``POST /tickets/{id}/status`` only, so the flow's rules apply."""

    subject: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    priority: TicketPriority | None = None
    channel: TicketChannel | None = None
    category: str | None = Field(default=None, max_length=80)
    root_cause: str | None = Field(default=None, max_length=80)
    language: str | None = Field(default=None, min_length=2, max_length=8)
    contact_id: int | None = None
    product_id: int | None = None
    order_id: int | None = None
    owned_item_id: int | None = None
    queue_id: int | None = None
    assignee_id: int | None = None
    station_id: int | None = None


class StatusChange(BaseModel):
    status: TicketStatus


class NoteIn(BaseModel):
    """An internal note: staff see it, the customer never does."""

    body: str = Field(min_length=1, max_length=20000)


class ReplyIn(BaseModel):
    """A reply to the customer, e-mailed through the touch centre and logged as an interaction.
    ``to`` is one of the customer's addresses (default: the ticket's contact's, else the
    customer's primary one); ``subject`` defaults to the ticket's."""

    body: str = Field(min_length=1, max_length=20000)
    to: str | None = Field(default=None, max_length=320)
    subject: str | None = Field(default=None, max_length=200)


class MergeIn(BaseModel):
    """Merge this ticket (the duplicate) into ``into_id``, a ticket of the same customer."""

    into_id: int


class StationRef(BaseModel):
    id: int
    name: str


class TicketRead(BaseModel):
    id: int
    kind: TicketKind
    status: TicketStatus
    priority: TicketPriority
    channel: str
    category: str
    root_cause: str
    subject: str
    description: str
    language: str
    customer_id: int
    customer_name: str
    contact_id: int | None
    product_id: int | None
    order_id: int | None
    owned_item_id: int | None
    queue_id: int | None
    assignee_id: int | None
    created_by_id: int | None
    station: StationRef | None
    location: Location | None
    tier: str | None
    sla_policy_id: int | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    paused_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_count: int
    merged_into_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class MessageRead(BaseModel):
    id: int
    ticket_id: int
    kind: str
    body: str
    author_id: int | None
    interaction_id: int | None
    created_at: datetime


class AttachmentRead(BaseModel):
    id: int
    ticket_id: int
    message_id: int | None
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int | None
    created_at: datetime


class ChangeRead(BaseModel):
    """One line of a ticket's history: who (a user, or "customer" / "system"), when, what."""

    id: int
    at: datetime
    actor_id: int | None
    actor: str
    field: str
    old_value: str
    new_value: str
