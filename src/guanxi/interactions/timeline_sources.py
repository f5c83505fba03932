"""What the touch centre adds to the customer timeline: interactions on every channel, e-mails
(their own kind, so they can be shown alone), follow-ups and browsing sessions.

Listed in ``guanxi.customers.extensions.EXTENSION_MODULES``. Interactions, e-mails and
follow-ups page themselves by the timeline's cursor (``timeline.register_paged``): each answers a
page with one query over its (customer, time, id) index, so a customer with ten thousand calls
loads as fast as one with ten. All of them are shown only to users who may read interactions.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import timeline
from guanxi.customers.models import Customer
from guanxi.customers.timeline import TimelineEntry, Window
from guanxi.db import utcnow
from guanxi.errors import N_
from guanxi.interactions.events.service import sessions_for_customer
from guanxi.interactions.labels import CHANNEL_LABELS, DIRECTION_LABELS, OUTCOME_LABELS
from guanxi.interactions.models import CHANNELS, FollowUp, Interaction

RESOURCE = "interactions"
EXCERPT = 160  # characters of the notes shown on the timeline; the whole text is one click away
INTERACTION_KEY = "interaction:"
FOLLOW_UP_KEY = "follow_up:"


def _excerpt(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def _detail(notes: str, outcome: str) -> tuple[str, dict[str, Any], set[str]]:
    """The detail template, its params and which of them are labels, for notes and an outcome
    (a known outcome code is shown with its label, any other text as it is)."""
    params: dict[str, Any] = {}
    labels: set[str] = set()
    if outcome:
        params["outcome"] = OUTCOME_LABELS.get(outcome, outcome)
        if outcome in OUTCOME_LABELS:
            labels.add("outcome")
    if notes.strip():
        params["notes"] = _excerpt(notes)
    if "outcome" in params and "notes" in params:
        return N_("Outcome: {outcome}. {notes}"), params, labels
    if "outcome" in params:
        return N_("Outcome: {outcome}"), params, labels
    if "notes" in params:
        return N_("Notes: {notes}"), params, labels
    return "", params, labels


def _who(display_name: str | None, username: str | None) -> str:
    return display_name or username or ""


# ---------------------------------------------------------------- interactions and e-mails


def _interaction_rows(
    session: Session, customer: Customer, actor: User | None, window: Window, *, emails: bool
) -> list[Row[Any]]:
    """A page of the customer's interactions (``emails`` True: e-mails only, False: every
    other channel), read with one query; none when the window's channel rules them out."""
    if actor is None or not actor.can(RESOURCE, "read"):
        return []  # a script without a user sees no touchpoints
    if window.channel is not None and (window.channel == "email") != emails:
        return []
    stmt = (
        select(
            Interaction.id,
            Interaction.occurred_at,
            Interaction.channel,
            Interaction.direction,
            Interaction.subject,
            Interaction.notes,
            Interaction.outcome,
            Interaction.email_address,
            User.display_name,
            User.username,
        )
        .outerjoin(User, User.id == Interaction.user_id)
        .where(Interaction.customer_id == customer.id)
    )
    if window.channel is not None:
        stmt = stmt.where(Interaction.channel == window.channel)
    elif emails:
        stmt = stmt.where(Interaction.channel == "email")
    else:
        stmt = stmt.where(Interaction.channel != "email")
    older = window.older_than(Interaction.occurred_at, Interaction.id, INTERACTION_KEY)
    if older is not None:
        stmt = stmt.where(older)
    stmt = stmt.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
    return list(session.execute(stmt.limit(window.limit)))


def _interactions_source(
    session: Session, customer: Customer, actor: User | None, window: Window
) -> list[TimelineEntry]:
    entries = []
    for row in _interaction_rows(session, customer, actor, window, emails=False):
        detail, params, labels = _detail(row.notes, row.outcome)
        params |= {
            "channel": CHANNEL_LABELS.get(row.channel, row.channel),
            "direction": DIRECTION_LABELS.get(row.direction, row.direction),
        }
        if row.subject:
            params["subject"] = row.subject
        entries.append(
            TimelineEntry(
                at=row.occurred_at,
                kind="interactions",
                title=N_("{channel} ({direction}): {subject}")
                if row.subject
                else N_("{channel} ({direction})"),
                key=f"{INTERACTION_KEY}{row.id:012d}",
                detail=detail,
                actor=_who(row.display_name, row.username),
                link=f"/interactions/{row.id}",
                params=params,
                labels=frozenset(labels | {"channel", "direction"}),
            )
        )
    return entries


def _emails_source(
    session: Session, customer: Customer, actor: User | None, window: Window
) -> list[TimelineEntry]:
    entries = []
    for row in _interaction_rows(session, customer, actor, window, emails=True):
        detail, params, labels = _detail(row.notes, row.outcome)
        params |= {"subject": row.subject or "—", "address": row.email_address or "—"}
        entries.append(
            TimelineEntry(
                at=row.occurred_at,
                kind="emails",
                title=N_("E-mail received from {address}: {subject}")
                if row.direction == "inbound"
                else N_("E-mail sent to {address}: {subject}"),
                key=f"{INTERACTION_KEY}{row.id:012d}",
                detail=detail,
                actor=_who(row.display_name, row.username),
                link=f"/interactions/{row.id}",
                params=params,
                labels=frozenset(labels),
            )
        )
    return entries


# ---------------------------------------------------------------- follow-ups


def _follow_up_title(status: str, due_at: datetime, now: datetime) -> str:
    if status == "done":
        return N_("Follow-up done: {subject}")
    if status == "cancelled":
        return N_("Follow-up cancelled: {subject}")
    if due_at < now:
        return N_("Follow-up overdue: {subject}")
    return N_("Follow-up planned: {subject}")


def _follow_ups_source(
    session: Session, customer: Customer, actor: User | None, window: Window
) -> list[TimelineEntry]:
    """Planned, done and cancelled follow-ups at their due time, so a planned call shows at the
    top of the timeline until it is made."""
    if actor is None or not actor.can(RESOURCE, "read"):
        return []
    stmt = (
        select(
            FollowUp.id,
            FollowUp.due_at,
            FollowUp.status,
            FollowUp.channel,
            FollowUp.subject,
            FollowUp.note,
            FollowUp.outcome,
            User.display_name,
            User.username,
        )
        .outerjoin(User, User.id == FollowUp.assignee_id)
        .where(FollowUp.customer_id == customer.id)
    )
    older = window.older_than(FollowUp.due_at, FollowUp.id, FOLLOW_UP_KEY)
    if older is not None:
        stmt = stmt.where(older)
    rows = session.execute(
        stmt.order_by(FollowUp.due_at.desc(), FollowUp.id.desc()).limit(window.limit)
    )
    now = utcnow()
    entries = []
    for row in rows:
        detail, params, labels = _detail(row.note, row.outcome)
        if row.subject:
            params["subject"] = row.subject
        else:  # nothing to say but how: "Follow-up planned: Phone"
            params["subject"] = CHANNEL_LABELS.get(row.channel, row.channel)
            labels.add("subject")
        entries.append(
            TimelineEntry(
                at=row.due_at,
                kind="follow_ups",
                title=_follow_up_title(row.status, row.due_at, now),
                key=f"{FOLLOW_UP_KEY}{row.id:012d}",
                detail=detail,
                actor=_who(row.display_name, row.username),
                link=f"/interactions/follow-ups/{row.id}",
                params=params,
                labels=frozenset(labels),
            )
        )
    return entries


# ---------------------------------------------------------------- browsing sessions


def _browsing_source(
    session: Session,
    customer: Customer,
    actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    if actor is None or not actor.can(RESOURCE, "read"):
        return []
    entries = []
    for visit in sessions_for_customer(
        session, customer_id=customer.id, before=before, limit=limit
    ):
        seconds = max(visit.dwell_seconds, (visit.ended_at - visit.started_at).total_seconds())
        entries.append(
            TimelineEntry(
                at=visit.started_at,
                kind="browsing",
                title=N_("Browsed {pages} pages, viewed {products} products, {minutes} min"),
                key=f"browsing:{visit.session_id}",
                detail=N_("Started on {url}") if visit.first_url else "",
                params={
                    "pages": visit.page_views,
                    "products": visit.product_views,
                    "minutes": round(seconds / 60) if seconds >= 60 else (1 if seconds else 0),
                    "url": visit.first_url,
                },
            )
        )
    return entries


timeline.register_paged(
    "interactions",
    N_("Interactions"),
    _interactions_source,
    resource=RESOURCE,
    channels=[(c, CHANNEL_LABELS[c]) for c in CHANNELS if c != "email"],
)
timeline.register_paged(
    "emails",
    N_("E-mail messages"),
    _emails_source,
    resource=RESOURCE,
    channels=[("email", CHANNEL_LABELS["email"])],
)
timeline.register_paged("follow_ups", N_("Follow-ups"), _follow_ups_source, resource=RESOURCE)
timeline.register("browsing", N_("Web browsing"), _browsing_source, resource=RESOURCE)
