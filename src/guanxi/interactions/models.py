"""The touch centre (触发中心, 跟进管理): every touchpoint with a customer, follow-up plans with
their reminders, personal calendar feeds, e-mail templates and web behaviour events.

Interactions and follow-ups belong to a customer and are seen by whoever may see the customer (the
material's point: whoever picks up the phone sees everything). Web events are high-volume
behaviour data, written in bulk and kept for a configurable number of days; they are not audited
row by row (each ingested batch is).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from guanxi.audit.tracking import Audited
from guanxi.db import Base, BigId, Timestamped, Versioned, utcnow

# Channels of a touchpoint (phone, e-mail, SMS, WeChat, fax, visit, meeting, web chat, call centre).
CHANNELS = (
    "phone",
    "email",
    "sms",
    "wechat",
    "fax",
    "visit",
    "meeting",
    "web_chat",
    "call_centre",
)
DIRECTIONS = ("inbound", "outbound")
FOLLOW_UP_STATUSES = ("open", "done", "cancelled")
RECURRENCES = ("none", "daily", "weekly", "monthly")
EVENT_KINDS = ("page_view", "product_view")


class Interaction(Timestamped, Versioned, Audited, Base):
    """One contact between the company and a customer (跟进记录): who, when, on which channel,
    what was said and what came of it.

    ``source`` says how it was logged: ``manual`` (a person), ``follow_up`` (completing a
    follow-up), ``email_out`` / ``email_in`` (the mail service, with ``message_id``), ``api``.
    The unique (customer, message id) keeps a mail logged once per customer however often the
    mailbox is read.
    """

    __tablename__ = "interactions"
    __audit_entity__ = "interaction"
    # what people wrote about the customer: sealed in the audit log, shredded on erasure
    __audit_personal__ = frozenset({"subject", "notes", "email_address"})
    __table_args__ = (
        UniqueConstraint("customer_id", "message_id"),
        Index("ix_interactions_customer_occurred", "customer_id", "occurred_at", "id"),
        # the timeline filtered by a channel the customer seldom uses reads only that channel
        Index(
            "ix_interactions_customer_channel_occurred",
            "customer_id",
            "channel",
            "occurred_at",
            "id",
        ),
        Index("ix_interactions_occurred", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(40), default="")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    opportunity_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(16), default="manual")
    message_id: Mapped[str | None] = mapped_column(String(255))
    # the address the mail went to or came from (e-mail interactions only)
    email_address: Mapped[str] = mapped_column(String(320), default="")


class FollowUp(Timestamped, Versioned, Audited, Base):
    """A planned follow-up (跟进计划): who will contact the customer, when, how and why.

    Completing one records its outcome as an ``Interaction`` (``interaction_id``); a recurring one
    (``recurrence`` daily, weekly or monthly, every ``recurrence_interval``) then opens its next
    occurrence, until ``recurrence_until`` if set.
    """

    __tablename__ = "follow_ups"
    __audit_entity__ = "follow_up"
    __audit_personal__ = frozenset({"subject", "note"})
    __table_args__ = (
        Index("ix_follow_ups_assignee_status_due", "assignee_id", "status", "due_at"),
        Index("ix_follow_ups_status_due", "status", "due_at"),
        Index("ix_follow_ups_customer_due", "customer_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    subject: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    recurrence: Mapped[str] = mapped_column(String(10), default="none")
    recurrence_interval: Mapped[int] = mapped_column(Integer, default=1)
    recurrence_until: Mapped[datetime | None] = mapped_column()
    opportunity_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    completed_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(40), default="")
    interaction_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    # the occurrence this one follows (recurring follow-ups form a chain)
    previous_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("follow_ups.id", ondelete="SET NULL"), index=True
    )


class FollowUpReminder(Base):
    """One reminder of a follow-up being due: at most one per follow-up and due time, so a
    restarted worker or a second one cannot remind twice (the unique key refuses the copy).
    Rescheduling gives a new due time and so a new reminder.

    ``emailed_at`` is claimed by a conditional UPDATE before the mail is sent (see
    ``interactions.followups.reminders``)."""

    __tablename__ = "follow_up_reminders"
    __table_args__ = (UniqueConstraint("follow_up_id", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("follow_ups.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column()
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column()


class CalendarFeed(Base):
    """A user's personal iCalendar feed (RFC 5545) at a secret URL.

    The token is looked up by its SHA-256 (``token_hash``) and kept encrypted
    (``token_encrypted``, guanxi.crypto) so the profile page can show the URL again; revoking sets
    ``revoked_at`` and the URL answers 404 from then on. One live feed per user.
    """

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class MailTemplate(Timestamped, Versioned, Audited, Base):
    """An e-mail template with the customer's fields (``{{ customer.name }}``), rendered in a
    sandbox."""

    __tablename__ = "mail_templates"
    __audit_entity__ = "mail_template"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)


class WebEvent(Base):
    """A page or product view (网页浏览) from the shop's pages: a visitor's browser session, the
    URL or product, when and how long. ``customer_id`` is set when the visitor is known, at
    ingestion or later when the visitor logs in (``VisitorLink``)."""

    __tablename__ = "web_events"
    __table_args__ = (
        Index("ix_web_events_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_web_events_visitor", "visitor_id"),
        Index("ix_web_events_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    visitor_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2000), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    referrer: Mapped[str] = mapped_column(String(2000), default="")
    product_id: Mapped[int | None] = mapped_column(
        BigInteger
    )  # no FK: the shop may lag the catalogue
    product_sku: Mapped[str] = mapped_column(String(64), default="")
    dwell_seconds: Mapped[int | None] = mapped_column(Integer)


class VisitorLink(Base):
    """A shop visitor (the snippet's anonymous id) known to be a customer, from their login."""

    __tablename__ = "visitor_links"

    visitor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
