"""SLA clocks on tickets: which policy applies, when each target is due, and how the clock
stops while a ticket waits on the customer.

Rules (the ticket page, the scan and the report all follow them):

- **Policy.** The active policy whose given fields (kind, priority, tier) all match the ticket
  and that gives the most of them wins; a tie goes to the lowest ``position``, then the lowest
  id. A policy without a calendar counts on the default calendar.
- **Start.** Both targets are counted in business minutes from the ticket's ``created_at``
  (``start`` may run again when the priority changes; the targets are then the new policy's,
  still counted from the opening).
- **Pause.** Entering ``waiting`` stores the business minutes left to each target still running
  (``response_left_minutes``, ``resolution_left_minutes``; negative when already missed) and
  ``paused_at``. The due times are *kept* as they were: the scan looks only at tickets whose
  status is running (``new``, ``assigned``, ``in_progress``), so a paused ticket is never warned
  nor escalated, and the page can still show when it had been due.
- **Resume.** Leaving ``waiting`` for a running status moves each target with minutes left to
  ``now + left`` business minutes; a target that was already missed keeps its due time (a pause
  does not undo a breach).
- **Resolve / close.** ``resolved`` sets ``resolved_at`` and keeps the resolution minutes left
  at that moment; ``closed`` sets ``closed_at`` (and ``resolved_at`` when it was skipped).
- **Reopen.** Going from ``resolved``/``closed`` back to a running status clears ``resolved_at``
  and ``closed_at``, counts the reopening, and gives the resolution clock what was left at
  resolution: due = ``now + left`` business minutes, or the old due time when it had already
  been missed. Warnings and escalations are sent once per ticket and target, so a reopened
  ticket is not warned again for a target it was warned about.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.customers.models import Customer
from guanxi.service_desk import business_calendar
from guanxi.service_desk.business_calendar import Calendar, CalendarError
from guanxi.service_desk.models import SlaPolicy, Ticket

log = logging.getLogger("guanxi.service_desk.sla")

RUNNING_STATUSES: Final = ("new", "assigned", "in_progress")
"""Statuses whose clock runs; ``waiting`` stops it, ``resolved`` and ``closed`` end it."""
DONE_STATUSES: Final = ("resolved", "closed")

Outcome = Literal["met", "missed", "running", "overdue", "paused", "none"]


def policy_for(
    session: Session, kind: str | None, priority: str | None, tier: str | None
) -> SlaPolicy | None:
    """The most specific active policy matching a ticket's kind, priority and value tier."""
    wanted = {"kind": kind, "priority": priority, "tier": tier}
    best: tuple[int, int, int] | None = None
    chosen: SlaPolicy | None = None
    for policy in session.scalars(select(SlaPolicy).where(SlaPolicy.is_active.is_(True))):
        given = {name: getattr(policy, name) for name in wanted}
        if any(value is not None and value != wanted[name] for name, value in given.items()):
            continue
        specificity = sum(value is not None for value in given.values())
        rank = (-specificity, policy.position, policy.id)
        if best is None or rank < best:
            best, chosen = rank, policy
    return chosen


def calendar_for(session: Session, ticket: Ticket) -> Calendar:
    """The calendar the ticket's policy counts on (the default one without a policy)."""
    policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    return business_calendar.load(session, policy.calendar_id if policy else None)


def start(session: Session, ticket: Ticket, now: datetime) -> None:
    """Choose the ticket's policy and set its due times, counted from when it was opened.

    Fills ``ticket.tier`` from the customer's value tier when the caller left it empty."""
    if ticket.tier is None and ticket.customer_id is not None:
        ticket.tier = session.scalar(
            select(Customer.value_tier).where(Customer.id == ticket.customer_id)
        )
    policy = policy_for(session, ticket.kind, ticket.priority, ticket.tier)
    opened = ticket.created_at or now
    if policy is None:
        ticket.sla_policy_id = None
        ticket.first_response_due = ticket.resolution_due = None
        return
    ticket.sla_policy_id = policy.id
    try:
        calendar = business_calendar.load(session, policy.calendar_id)
        # also when already answered (start runs again on a change of priority): the report
        # judges the answer against the target
        ticket.first_response_due = business_calendar.add_business_minutes(
            calendar, opened, policy.first_response_minutes
        )
        ticket.resolution_due = business_calendar.add_business_minutes(
            calendar, opened, policy.resolution_minutes
        )
    except CalendarError:
        # a calendar without any working hours ahead can promise nothing: the ticket is taken
        # all the same, without due times, rather than refused
        log.warning("ticket %s: the SLA calendar has no working hours ahead", ticket.id)
        ticket.first_response_due = ticket.resolution_due = None


def _left(calendar: Calendar, now: datetime, due: datetime | None) -> int | None:
    if due is None:
        return None
    return round(business_calendar.business_minutes_between(calendar, now, due))


def _moved(
    calendar: Calendar, now: datetime, left: int | None, due: datetime | None
) -> datetime | None:
    if left is None or left <= 0:
        return due
    return business_calendar.add_business_minutes(calendar, now, left)


def on_status_change(session: Session, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    """Stop, restart or end the ticket's SLA clocks for a status change (see the module's rules)."""
    if old == new:
        return
    loaded: list[Calendar] = []

    def cal() -> Calendar:
        if not loaded:
            loaded.append(calendar_for(session, ticket))
        return loaded[0]

    if old in DONE_STATUSES and new not in DONE_STATUSES:
        _reopen(cal, ticket, now)
    elif old == "waiting" and ticket.paused_at is not None and new not in DONE_STATUSES:
        _resume(cal, ticket, now)

    if new == "waiting":
        if ticket.first_responded_at is None:
            ticket.response_left_minutes = _left(cal(), now, ticket.first_response_due)
        ticket.resolution_left_minutes = _left(cal(), now, ticket.resolution_due)
        ticket.paused_at = now
    elif new == "resolved":
        if ticket.resolved_at is None:
            _resolve(cal, ticket, now)
        ticket.closed_at = None
    elif new == "closed":
        if ticket.resolved_at is None:
            _resolve(cal, ticket, now)
        ticket.closed_at = now


def _resume(cal: Callable[[], Calendar], ticket: Ticket, now: datetime) -> None:
    if ticket.first_responded_at is None:
        ticket.first_response_due = _moved(
            cal(), now, ticket.response_left_minutes, ticket.first_response_due
        )
    ticket.resolution_due = _moved(
        cal(), now, ticket.resolution_left_minutes, ticket.resolution_due
    )
    ticket.response_left_minutes = ticket.resolution_left_minutes = None
    ticket.paused_at = None


def _reopen(cal: Callable[[], Calendar], ticket: Ticket, now: datetime) -> None:
    # the resolution clock gets back what it had left when the ticket was resolved
    ticket.resolution_due = _moved(
        cal(), now, ticket.resolution_left_minutes, ticket.resolution_due
    )
    ticket.resolution_left_minutes = None
    ticket.resolved_at = ticket.closed_at = ticket.paused_at = None
    ticket.reopened_count = (ticket.reopened_count or 0) + 1


def _resolve(cal: Callable[[], Calendar], ticket: Ticket, now: datetime) -> None:
    if ticket.paused_at is not None:
        # resolved while waiting: the clock stood still, so the target moves as if it had
        # restarted now (met when minutes were left, the old due time when already missed)
        ticket.resolution_due = _moved(
            cal(), now, ticket.resolution_left_minutes, ticket.resolution_due
        )
        ticket.paused_at = None
    ticket.response_left_minutes = None
    ticket.resolved_at = now
    ticket.resolution_left_minutes = _left(cal(), now, ticket.resolution_due)


def record_first_response(ticket: Ticket, now: datetime) -> None:
    """Note the first reply to the customer; later replies change nothing."""
    if ticket.first_responded_at is not None:
        return
    ticket.first_responded_at = now
    left = ticket.response_left_minutes
    if ticket.paused_at is not None and left is not None and left > 0 and ticket.first_response_due:
        # answered while the clock stood still with time left: met, whatever the old due time
        ticket.first_response_due = max(ticket.first_response_due, now)
    ticket.response_left_minutes = None


# ---------------------------------------------------------------- met or missed


@dataclass(frozen=True)
class TargetState:
    """Where one target of a ticket stands: ``met``/``missed`` once decided, else ``running``,
    ``overdue`` (due passed, not yet done) or ``paused``; ``none`` without a target."""

    outcome: Outcome
    due: datetime | None
    done_at: datetime | None


def first_response_state(ticket: Ticket, now: datetime) -> TargetState:
    """The first response is given by the first reply, or by the resolution when the ticket
    was resolved without one (the SLA report counts the same way)."""
    responded = ticket.first_responded_at or ticket.resolved_at
    return _state(ticket.first_response_due, responded, ticket, now)


def resolution_state(ticket: Ticket, now: datetime) -> TargetState:
    return _state(ticket.resolution_due, ticket.resolved_at, ticket, now)


def met(due: datetime | None, done_at: datetime | None) -> bool | None:
    """Whether a target was met: done at or before its due time; None while undecided or
    without a target. The report counts with the same comparison in SQL."""
    if due is None or done_at is None:
        return None
    return done_at <= due


def _state(
    due: datetime | None, done_at: datetime | None, ticket: Ticket, now: datetime
) -> TargetState:
    if due is None:
        return TargetState("none", None, done_at)
    if done_at is not None:
        return TargetState("met" if done_at <= due else "missed", due, done_at)
    if ticket.status == "waiting" and ticket.paused_at is not None:
        return TargetState("paused", due, None)
    return TargetState("overdue" if now > due else "running", due, None)
