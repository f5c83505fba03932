"""When the next occurrence of a recurring follow-up is due.

Recurrence is counted in the assignee's wall-clock time: a weekly call at 09:00 in Shanghai stays
at 09:00 across a change to summer time, and a monthly one planned on the 31st falls on the last
day of shorter months and returns to the 31st after them (the day is taken from the first
occurrence of the chain, found by one recursive query up the ``previous_id`` links).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.interactions.models import FollowUp


def next_due(
    due_at: datetime, *, recurrence: str, interval: int, day: int, zone: ZoneInfo
) -> datetime:
    """The due time ``interval`` days, weeks or months after ``due_at``, at the same wall-clock
    time in ``zone``; a monthly one falls on ``day`` or its month's last day if shorter."""
    local = due_at.astimezone(zone)
    if recurrence == "daily":
        moved = local.date() + timedelta(days=interval)
    elif recurrence == "weekly":
        moved = local.date() + timedelta(weeks=interval)
    elif recurrence == "monthly":
        months = local.year * 12 + local.month - 1 + interval
        year, month = divmod(months, 12)
        month += 1
        moved = date(year, month, min(day, calendar.monthrange(year, month)[1]))
    else:
        raise ValueError(f"not a recurrence: {recurrence}")
    return datetime.combine(moved, local.time().replace(tzinfo=None), zone).astimezone(UTC)


def next_occurrence(session: Session, done: FollowUp, *, zone: ZoneInfo) -> FollowUp | None:
    """The occurrence that follows ``done`` (not yet added to the session), or None when it
    does not repeat or the next one would fall after ``recurrence_until``."""
    if done.recurrence == "none":
        return None
    day = _chain_start(session, done).astimezone(zone).day
    due = next_due(
        done.due_at,
        recurrence=done.recurrence,
        interval=done.recurrence_interval,
        day=day,
        zone=zone,
    )
    if done.recurrence_until is not None and due > done.recurrence_until:
        return None
    return FollowUp(
        customer_id=done.customer_id,
        contact_id=done.contact_id,
        assignee_id=done.assignee_id,
        created_by_id=done.created_by_id,
        due_at=due,
        channel=done.channel,
        subject=done.subject,
        note=done.note,
        recurrence=done.recurrence,
        recurrence_interval=done.recurrence_interval,
        recurrence_until=done.recurrence_until,
        opportunity_id=done.opportunity_id,
        previous_id=done.id,
    )


def _chain_start(session: Session, follow_up: FollowUp) -> datetime:
    """The due time of the chain's first occurrence (one recursive query up the links)."""
    if follow_up.previous_id is None:
        return follow_up.due_at
    chain = (
        select(FollowUp.id, FollowUp.previous_id, FollowUp.due_at)
        .where(FollowUp.id == follow_up.id)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        select(FollowUp.id, FollowUp.previous_id, FollowUp.due_at).where(
            FollowUp.id == chain.c.previous_id
        )
    )
    first = session.scalar(select(chain.c.due_at).where(chain.c.previous_id.is_(None)))
    return first or follow_up.due_at
