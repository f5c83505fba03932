"""Use cases for follow-ups (跟进计划): plan, read, list, change, reschedule, cancel and complete
them, and the assignee's "my day".

A follow-up belongs to a customer and is seen by whoever may see the customer, like the
customer's interactions; every read and list goes through ``visible_follow_ups``. Completing one
records what came of it as an interaction (through ``interactions.service.log``, the one way to
record a touchpoint) and, for a recurring one, opens the next occurrence as a row of its own, so
reminders, the calendar feed and "my day" treat every occurrence alike.

The next occurrence's due time is worked out in ``interactions.followups.recurrence``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import ensure_may_hand_to, restrict
from guanxi.concurrency import ensure_version
from guanxi.customers import service as customer_service
from guanxi.customers.models import Contact, Customer
from guanxi.db import as_utc, utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.interactions import service as interaction_service
from guanxi.interactions.followups import recurrence
from guanxi.interactions.followups.schemas import (
    FollowUpComplete,
    FollowUpCreate,
    FollowUpRead,
    FollowUpUpdate,
)
from guanxi.interactions.models import CHANNELS, RECURRENCES, FollowUp
from guanxi.notifications import service as notifications
from guanxi.pagination import DEFAULT_LIMIT, Page, paginate_sorted
from guanxi.sales.models import Opportunity

UPCOMING_DAYS = 7
_NOT_EMPTIABLE = ("assignee_id", "channel", "recurrence", "recurrence_interval", "subject", "note")
RECURRENCE_LABELS = {
    "none": N_("Once"),
    "daily": N_("Daily"),
    "weekly": N_("Weekly"),
    "monthly": N_("Monthly"),
}
ASSIGNED = N_("{by} gave you a follow-up with {customer}: {subject}")
STATUS_LABELS = {"open": N_("Open"), "done": N_("Done"), "cancelled": N_("Cancelled")}


# ---------------------------------------------------------------- reading


def visible_follow_ups(actor: User) -> Select[Any]:
    """A select of the follow-ups of live customers the actor may see."""
    stmt = (
        select(FollowUp)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .where(Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
    )
    return restrict(stmt, Customer, actor)


def get(*, session: Session, actor: User, follow_up_id: int) -> FollowUp:
    """A follow-up the actor may see (through its customer), or NotFound."""
    found = session.scalars(
        visible_follow_ups(actor).where(FollowUp.id == follow_up_id)
    ).one_or_none()
    if found is None:
        raise NotFound(N_("Record {id} was not found."), id=follow_up_id)
    return found


def list_follow_ups(
    *,
    session: Session,
    actor: User,
    assignee_id: int | None = None,
    customer_id: int | None = None,
    status: str | None = None,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[FollowUp]:
    """Follow-ups the actor may see, soonest due first; ``due_to`` is exclusive."""
    stmt = visible_follow_ups(actor)
    if assignee_id is not None:
        stmt = stmt.where(FollowUp.assignee_id == assignee_id)
    if customer_id is not None:
        stmt = stmt.where(FollowUp.customer_id == customer_id)
    if status:
        stmt = stmt.where(FollowUp.status == status)
    if due_from is not None:
        stmt = stmt.where(FollowUp.due_at >= as_utc(due_from))
    if due_to is not None:
        stmt = stmt.where(FollowUp.due_at < as_utc(due_to))
    return paginate_sorted(session, stmt, FollowUp.due_at, FollowUp.id, limit=limit, cursor=cursor)


def open_for_customer(
    *, session: Session, actor: User, customer_id: int, limit: int = 10
) -> list[FollowUp]:
    """The customer's open follow-ups, soonest first (the 360 page's panel)."""
    stmt = (
        visible_follow_ups(actor)
        .where(FollowUp.customer_id == customer_id, FollowUp.status == "open")
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def customer_names(session: Session, follow_ups: list[FollowUp]) -> dict[int, str]:
    """The names of the follow-ups' customers, in one query."""
    ids = {f.customer_id for f in follow_ups}
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {row.id: row.name for row in rows}


def to_read(follow_up: FollowUp, names: dict[int, str]) -> FollowUpRead:
    """The API shape, with the customer's name from ``customer_names``."""
    read = FollowUpRead.model_validate(follow_up)
    read.customer_name = names.get(follow_up.customer_id, "")
    return read


def to_reads(session: Session, follow_ups: list[FollowUp]) -> list[FollowUpRead]:
    names = customer_names(session, follow_ups)
    return [to_read(f, names) for f in follow_ups]


@dataclass(frozen=True)
class Day:
    """A user's open follow-ups around one day in their time zone."""

    date: date
    zone: ZoneInfo
    overdue: list[FollowUp]
    today: list[FollowUp]
    upcoming: list[FollowUp]


def my_day(*, session: Session, user: User, now: datetime, zone: ZoneInfo) -> Day:
    """The user's open follow-ups: overdue (due before ``now``), the rest of today, and the
    next ``UPCOMING_DAYS`` days, where "today" is the user's calendar day in ``zone``."""
    now = as_utc(now)
    local_today = now.astimezone(zone).date()
    end_of_today = datetime.combine(local_today + timedelta(days=1), time(), zone)
    horizon = end_of_today + timedelta(days=UPCOMING_DAYS)
    rows = list(
        session.scalars(
            visible_follow_ups(user)
            .where(
                FollowUp.assignee_id == user.id,
                FollowUp.status == "open",
                FollowUp.due_at < horizon.astimezone(UTC),
            )
            .order_by(FollowUp.due_at, FollowUp.id)
        )
    )
    return Day(
        date=local_today,
        zone=zone,
        overdue=[f for f in rows if f.due_at < now],
        today=[f for f in rows if now <= f.due_at < end_of_today],
        upcoming=[f for f in rows if f.due_at >= end_of_today],
    )


# ---------------------------------------------------------------- writing


def create(*, session: Session, actor: User, follow_up_in: FollowUpCreate) -> FollowUp:
    """Plan a follow-up of a customer the actor may see, for someone the actor may hand work to
    (the actor when no assignee is given)."""
    customer = customer_service.get(
        session=session, actor=actor, customer_id=follow_up_in.customer_id
    )
    assignee_id = follow_up_in.assignee_id or actor.id
    errors = _check(
        session,
        actor,
        customer_id=customer.id,
        assignee_id=assignee_id,
        channel=follow_up_in.channel,
        recurrence=follow_up_in.recurrence,
        contact_id=follow_up_in.contact_id,
        opportunity_id=follow_up_in.opportunity_id,
    )
    errors += _check_until(follow_up_in.due_at, follow_up_in.recurrence_until)
    if errors:
        raise InvalidInput(N_("The follow-up could not be saved."), errors=errors)
    follow_up = FollowUp(
        customer_id=customer.id,
        contact_id=follow_up_in.contact_id,
        assignee_id=assignee_id,
        created_by_id=actor.id,
        due_at=as_utc(follow_up_in.due_at),
        channel=follow_up_in.channel,
        subject=follow_up_in.subject.strip(),
        note=follow_up_in.note,
        recurrence=follow_up_in.recurrence,
        recurrence_interval=follow_up_in.recurrence_interval,
        recurrence_until=(
            as_utc(follow_up_in.recurrence_until) if follow_up_in.recurrence_until else None
        ),
        opportunity_id=follow_up_in.opportunity_id,
    )
    session.add(follow_up)
    session.flush()
    _tell_assignee(session, actor, follow_up, customer.name)
    return follow_up


def update(
    *,
    session: Session,
    actor: User,
    follow_up: FollowUp,
    follow_up_in: FollowUpUpdate,
    expected_version: int | None = None,
) -> FollowUp:
    """Change the given fields of an open follow-up; the same checks as ``create``."""
    ensure_version(follow_up.version, expected_version)
    _ensure_open(follow_up)
    changes = follow_up_in.model_dump(exclude_unset=True)
    if changes.get("due_at", follow_up.due_at) is None:
        raise InvalidInput(
            N_("The follow-up could not be saved."),
            errors=[FieldError("due_at", N_("This field is required."))],
        )
    errors = _check(
        session,
        actor,
        customer_id=follow_up.customer_id,
        assignee_id=(changes["assignee_id"] if changes.get("assignee_id") is not None else None),
        channel=changes.get("channel") or follow_up.channel,
        recurrence=changes.get("recurrence") or follow_up.recurrence,
        contact_id=changes.get("contact_id"),
        opportunity_id=changes.get("opportunity_id"),
    )
    errors += _check_until(
        changes.get("due_at") or follow_up.due_at,
        changes.get("recurrence_until", follow_up.recurrence_until),
    )
    if errors:
        raise InvalidInput(N_("The follow-up could not be saved."), errors=errors)
    handed_over = changes.get("assignee_id") not in (None, follow_up.assignee_id)
    for name, value in changes.items():
        if name in ("due_at", "recurrence_until") and value is not None:
            value = as_utc(value)
        if value is None and name in _NOT_EMPTIABLE:
            continue  # these cannot be emptied; null means "unchanged"
        if name == "subject":
            value = value.strip()
        setattr(follow_up, name, value)
    session.flush()
    if handed_over:
        names = customer_names(session, [follow_up])
        _tell_assignee(session, actor, follow_up, names.get(follow_up.customer_id, ""))
    return follow_up


def reschedule(
    *,
    session: Session,
    follow_up: FollowUp,
    due_at: datetime,
    expected_version: int | None = None,
) -> FollowUp:
    """Move an open follow-up to a new due time; the new time gets a reminder of its own."""
    ensure_version(follow_up.version, expected_version)
    _ensure_open(follow_up)
    follow_up.due_at = as_utc(due_at)
    session.flush()
    return follow_up


def cancel(
    *, session: Session, follow_up: FollowUp, expected_version: int | None = None
) -> FollowUp:
    """Call off an open follow-up (a recurring one stops here: no next occurrence)."""
    ensure_version(follow_up.version, expected_version)
    _ensure_open(follow_up)
    follow_up.status = "cancelled"
    session.flush()
    return follow_up


def delete(*, session: Session, follow_up: FollowUp, expected_version: int | None = None) -> None:
    ensure_version(follow_up.version, expected_version)
    session.delete(follow_up)
    session.flush()


@dataclass(frozen=True)
class Completion:
    follow_up: FollowUp
    interaction_id: int
    next: FollowUp | None


def complete(
    *,
    session: Session,
    actor: User,
    follow_up: FollowUp,
    completion_in: FollowUpComplete,
    zone: ZoneInfo,
    expected_version: int | None = None,
) -> Completion:
    """Record what came of an open follow-up as an interaction, close it, and open the next
    occurrence of a recurring one (counted in ``zone``, the assignee's time zone)."""
    ensure_version(follow_up.version, expected_version)
    _ensure_open(follow_up)
    interaction = interaction_service.log(
        session,
        actor=actor,
        customer_id=follow_up.customer_id,
        channel=completion_in.channel or follow_up.channel,
        direction=completion_in.direction,
        subject=follow_up.subject,
        notes=completion_in.notes,
        outcome=completion_in.outcome,
        contact_id=follow_up.contact_id,
        opportunity_id=follow_up.opportunity_id,
        source="follow_up",
    )
    follow_up.status = "done"
    follow_up.completed_at = utcnow()
    follow_up.outcome = interaction.outcome
    follow_up.interaction_id = interaction.id
    following = recurrence.next_occurrence(session, follow_up, zone=zone)
    if following is not None:
        session.add(following)
    session.flush()
    return Completion(follow_up, interaction.id, following)


def _tell_assignee(session: Session, actor: User, follow_up: FollowUp, customer: str) -> None:
    """Let the assignee know when somebody else gives them a follow-up."""
    if follow_up.assignee_id is None or follow_up.assignee_id == actor.id:
        return
    notifications.notify(
        session,
        user_id=follow_up.assignee_id,
        kind="follow_up_assigned",
        message=ASSIGNED,
        values={"by": actor.label, "customer": customer, "subject": follow_up.subject},
        link=f"/interactions/follow-ups/{follow_up.id}",
    )


# ---------------------------------------------------------------- checks


def _ensure_open(follow_up: FollowUp) -> None:
    if follow_up.status != "open":
        raise Conflict(N_("The follow-up is already done or cancelled."))


def _check(
    session: Session,
    actor: User,
    *,
    customer_id: int,
    assignee_id: int | None,
    channel: str,
    recurrence: str,
    contact_id: int | None,
    opportunity_id: int | None,
) -> list[FieldError]:
    errors: list[FieldError] = []
    if channel not in CHANNELS:
        errors.append(FieldError("channel", N_("Not one of the known channels.")))
    if recurrence not in RECURRENCES:
        errors.append(FieldError("recurrence", N_("Not one of the known recurrences.")))
    if assignee_id is not None:
        errors += _check_assignee(session, actor, assignee_id)
    links: tuple[tuple[str, Any, int | None], ...] = (
        ("contact_id", Contact, contact_id),
        ("opportunity_id", Opportunity, opportunity_id),
    )
    for field, model, record_id in links:
        if record_id is None:
            continue
        owner = session.scalar(select(model.customer_id).where(model.id == record_id))
        if owner != customer_id:
            errors.append(FieldError(field, N_("Not a record of this customer.")))
    return errors


def _check_until(due_at: datetime, until: datetime | None) -> list[FieldError]:
    if until is not None and as_utc(until) < as_utc(due_at):
        return [FieldError("recurrence_until", N_("Must not be before the due time."))]
    return []


def _check_assignee(session: Session, actor: User, assignee_id: int) -> list[FieldError]:
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.is_active:
        return [FieldError("assignee_id", N_("No such active user."))]
    try:
        ensure_may_hand_to(session, actor, assignee)
    except InvalidInput:
        return [FieldError("assignee_id", N_("Outside your team."))]
    return []
