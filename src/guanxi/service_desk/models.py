"""Customer service (客户服务管理): tickets with their history, messages and attachments; queues
and agents; service stations (服务网点); routing rules; SLA policies counted on a business
calendar; satisfaction surveys; and the customer self-service portal's sign-in.

Ticket due times are stored, not derived on read: the SLA scan and the queue page sort and filter
on them with an index. While a ticket waits on the customer its clock is stopped: the business
minutes left to each target are kept in ``*_left_minutes`` and turned back into due times when
the ticket moves on. Breach warnings and escalations are recorded on the ticket itself
(``*_warned_at``, ``*_escalated_at``) and claimed with a conditional UPDATE, so each is sent once
however many workers run and however often they restart.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from guanxi.audit.tracking import Audited
from guanxi.customers.models import GramList
from guanxi.db import Base, BigId, Timestamped, Versioned, utcnow
from guanxi.service_desk import subject_terms

KINDS: Final = ("complaint", "inquiry", "suggestion", "service_request")
PRIORITIES: Final = ("low", "normal", "high", "urgent")
STATUSES: Final = ("new", "assigned", "in_progress", "waiting", "resolved", "closed")
OPEN_STATUSES: Final = ("new", "assigned", "in_progress", "waiting")
CHANNELS: Final = ("phone", "email", "web", "portal", "visit", "sms", "chat", "other")
MESSAGE_KINDS: Final = ("note", "reply", "customer")
CALENDAR_DAY_KINDS: Final = ("holiday", "workday")


class ServiceQueue(Timestamped, Versioned, Audited, Base):
    """Where tickets wait for an agent (队列); ``manager_id`` is told when a ticket breaches."""

    __tablename__ = "service_queues"
    __audit_entity__ = "service_queue"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    team_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    manager_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)


class QueueMember(Audited, Base):
    """An agent of a queue, with the skills routing may ask for and whether they take work now."""

    __tablename__ = "queue_members"
    __audit_entity__ = "queue_member"

    queue_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("service_queues.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    skills: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["repair", "en", "aircon"]
    available: Mapped[bool] = mapped_column(default=True)


class ServiceStation(Timestamped, Versioned, Audited, Base):
    """A service station (服务网点) where repairs are done, located by its coordinates (WGS-84)."""

    __tablename__ = "service_stations"
    __audit_entity__ = "service_station"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    region: Mapped[str] = mapped_column(String(60), default="")
    city: Mapped[str] = mapped_column(String(60), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("service_queues.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True, index=True)


class RoutingRule(Timestamped, Versioned, Audited, Base):
    """A routing rule as data: the first active rule (by ``position``) whose every given
    condition matches sends the ticket to ``queue_id``; ``skill`` is what the agent must have.

    ``conditions`` holds any of ``kind``, ``category``, ``product_id``, ``region``, ``tier``,
    ``language`` (each a value or a list of values) and ``keywords`` (a list; any one found in the
    subject or description matches)."""

    __tablename__ = "routing_rules"
    __audit_entity__ = "routing_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0, index=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    queue_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("service_queues.id", ondelete="CASCADE"), index=True
    )
    skill: Mapped[str] = mapped_column(String(60), default="")
    is_active: Mapped[bool] = mapped_column(default=True)


class BusinessCalendar(Timestamped, Versioned, Audited, Base):
    """Working hours per weekday in a time zone; ``week`` maps ``"0"`` (Monday) .. ``"6"`` to a
    list of ``["09:00", "18:00"]`` spans. Days in ``calendar_days`` override the week."""

    __tablename__ = "business_calendars"
    __audit_entity__ = "business_calendar"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    week: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CalendarDay(Audited, Base):
    """A public holiday (节假日, no working hours) or a make-up working day (调休上班, the hours
    of ``hours`` or else of an ordinary weekday) on a business calendar."""

    __tablename__ = "calendar_days"
    __audit_entity__ = "calendar_day"

    calendar_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("business_calendars.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str] = mapped_column(String(120), default="")
    hours: Mapped[list[Any] | None] = mapped_column(default=None)


class SlaPolicy(Timestamped, Versioned, Audited, Base):
    """Targets in business minutes for the tickets it matches: a blank ``kind``, ``priority`` or
    ``tier`` matches any; the most specific matching policy wins, then the lowest ``position``."""

    __tablename__ = "sla_policies"
    __audit_entity__ = "sla_policy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(8))
    tier: Mapped[str | None] = mapped_column(String(16))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    # the assignee is warned this many business minutes before a target is missed
    warn_before_minutes: Mapped[int] = mapped_column(Integer, default=60)
    calendar_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("business_calendars.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)


class Ticket(Timestamped, Versioned, Audited, Base):
    """A complaint (投诉), inquiry (咨询), suggestion (建议) or service request (服务请求)."""

    __tablename__ = "tickets"
    __audit_entity__ = "ticket"
    __audit_personal__ = frozenset({"subject", "description"})
    __audit_ignored__ = frozenset({"search_grams"})
    __table_args__ = (
        Index("ix_tickets_queue_status", "queue_id", "status", "id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status", "id"),
        # the queue page's "soonest due first", walked per (queue or assignee, status) and merged
        Index("ix_tickets_queue_status_due", "queue_id", "status", "resolution_due", "id"),
        Index("ix_tickets_assignee_status_due", "assignee_id", "status", "resolution_due", "id"),
        # "my queues, urgent": a priority picks one in twelve of a queue's tickets, too few to
        # find by walking the queue's own order
        Index(
            "ix_tickets_queue_priority_due",
            "queue_id",
            "priority",
            "status",
            "resolution_due",
            "id",
        ),
        Index("ix_tickets_customer_created", "customer_id", "created_at", "id"),
        Index("ix_tickets_status_response_due", "status", "first_response_due"),
        Index("ix_tickets_status_resolution_due", "status", "resolution_due"),
        Index("ix_tickets_created", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="new")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    channel: Mapped[str] = mapped_column(String(12), default="phone")
    category: Mapped[str] = mapped_column(String(80), default="")
    root_cause: Mapped[str] = mapped_column(String(80), default="")
    subject: Mapped[str] = mapped_column(String(200))
    # the subject's search terms (subject_terms), kept by _index_subject
    search_grams: Mapped[list[str]] = mapped_column(GramList(), default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="zh")
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    owned_item_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("owned_items.id", ondelete="SET NULL"), index=True
    )
    queue_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("service_queues.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    station_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("service_stations.id", ondelete="SET NULL"), index=True
    )
    # where the problem is, when given on the ticket (WGS-84)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # the customer's value tier when the ticket was opened (the SLA policy and reports use it)
    tier: Mapped[str | None] = mapped_column(String(16))
    sla_policy_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("sla_policies.id", ondelete="SET NULL"), index=True
    )
    first_response_due: Mapped[datetime | None] = mapped_column()
    resolution_due: Mapped[datetime | None] = mapped_column()
    response_left_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_left_minutes: Mapped[int | None] = mapped_column(Integer)
    paused_at: Mapped[datetime | None] = mapped_column()
    first_responded_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    response_warned_at: Mapped[datetime | None] = mapped_column()
    response_escalated_at: Mapped[datetime | None] = mapped_column()
    resolution_warned_at: Mapped[datetime | None] = mapped_column()
    resolution_escalated_at: Mapped[datetime | None] = mapped_column()
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )

    @validates("subject")
    def _index_subject(self, _key: str, subject: str) -> str:
        # whoever writes the subject (form, API, portal, merge, erasure) keeps its index current
        self.search_grams = subject_terms.terms(subject or "")
        return subject


class TicketChange(Base):
    """One change to a ticket (status, assignee, queue, priority, ...): who, when, from, to."""

    __tablename__ = "ticket_changes"
    __table_args__ = (Index("ix_ticket_changes_ticket", "ticket_id", "at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    # who, when no staff user acted: "customer" (portal), "system" (routing, SLA scan)
    actor_label: Mapped[str] = mapped_column(String(40), default="")
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str] = mapped_column(String(200), default="")
    new_value: Mapped[str] = mapped_column(String(200), default="")


class TicketMessage(Base):
    """An internal note (``note``), a reply to the customer (``reply``, e-mailed and logged as
    an interaction) or the customer's own message (``customer``, from the portal or e-mail)."""

    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_ticket", "ticket_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    interaction_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketAttachment(Base):
    """A file on a ticket, stored under the data directory by its SHA-256 checksum."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("ticket_messages.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Survey(Base):
    """A satisfaction survey (客户满意) sent after a ticket is resolved: answered once, through a
    signed link that expires; CSAT 1-5, NPS 0-10 and a comment."""

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_answered", "answered_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    email_address: Mapped[str] = mapped_column(String(320), default="")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")


class PortalLoginLink(Base):
    """A one-time sign-in link for the customer portal, mailed to an address on the record."""

    __tablename__ = "portal_login_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    email_address: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class PortalLoginRequest(Base):
    """Each sign-in link asked for, known address or not: the rate limit counts these."""

    __tablename__ = "portal_login_requests"
    __table_args__ = (
        Index("ix_portal_login_requests_address", "address_hash", "at"),
        Index("ix_portal_login_requests_ip", "ip_address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64))
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PortalSession(Base):
    """A signed-in portal customer; its cookie is not the staff session's and opens nothing else."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    email_address: Mapped[str] = mapped_column(String(320))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
