"""SLA clocks on tickets: the policy chosen (VIP tighter), due times counted in business hours,
the pause while waiting on the customer, resolution, reopening and met-or-missed; on SQLite and
PostgreSQL with the seeded policies and calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from guanxi.service_desk import sla
from guanxi.service_desk.models import BusinessCalendar, CalendarDay, SlaPolicy, Ticket
from tests.conftest import People
from tests.service_desk.survey_support import customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def new_ticket(
    session: Session, people: People, *, tier: str | None = None, opened: datetime, **fields: object
) -> Ticket:
    owner = people.user("admin").user
    ticket = Ticket(
        kind=fields.pop("kind", "complaint"),
        subject="空调不制冷",
        priority=fields.pop("priority", "high"),
        customer_id=customer(session, owner, "上海明德贸易", value_tier=tier),
        created_at=opened,
        **fields,
    )
    session.add(ticket)
    sla.start(session, ticket, opened)
    session.flush()
    return ticket


def test_policy_choice_is_the_most_specific_and_vip_is_tighter(session: Session) -> None:
    vip = sla.policy_for(session, "complaint", "high", "vip")
    key = sla.policy_for(session, "complaint", "high", "key")
    ordinary = sla.policy_for(session, "complaint", "high", "ordinary")
    assert vip is not None and key is not None and ordinary is not None
    assert (vip.tier, key.tier, ordinary.tier) == ("vip", "key", None)
    assert vip.first_response_minutes < key.first_response_minutes < ordinary.first_response_minutes
    assert vip.resolution_minutes < ordinary.resolution_minutes

    # a policy that names the kind too is more specific than the seeded tier x priority one
    complaint = SlaPolicy(
        name="vip complaints",
        position=99,
        kind="complaint",
        priority="high",
        tier="vip",
        first_response_minutes=5,
        resolution_minutes=60,
    )
    session.add(complaint)
    session.flush()
    assert sla.policy_for(session, "complaint", "high", "vip") is complaint
    assert sla.policy_for(session, "inquiry", "high", "vip") is vip
    # an inactive policy is not chosen; equal specificity goes to the lowest position
    complaint.is_active = False
    rival = SlaPolicy(
        name="vip high too",
        position=-1,
        priority="high",
        tier="vip",
        first_response_minutes=7,
        resolution_minutes=70,
    )
    session.add(rival)
    session.flush()
    assert sla.policy_for(session, "complaint", "high", "vip") is rival


def test_no_matching_policy_leaves_no_due_times(session: Session, people: People) -> None:
    session.execute(update(SlaPolicy).values(is_active=False))
    ticket = new_ticket(session, people, opened=at(9, 28, 10))
    assert ticket.sla_policy_id is None
    assert ticket.first_response_due is None and ticket.resolution_due is None
    assert sla.resolution_state(ticket, at(9, 28, 11)).outcome == "none"


def test_start_counts_due_times_in_business_hours(session: Session, people: People) -> None:
    # Friday 17:00, high priority (60 / 480 minutes): response at Friday's closing (not Monday's
    # opening), resolution Monday 17:00
    ticket = new_ticket(session, people, opened=at(9, 25, 17))
    policy = session.get(SlaPolicy, ticket.sla_policy_id)
    assert policy is not None and (policy.priority, policy.tier) == ("high", None)
    assert ticket.first_response_due == at(9, 25, 18)
    assert ticket.resolution_due == at(9, 28, 17)

    vip = new_ticket(session, people, tier="vip", opened=at(9, 25, 17))
    assert vip.tier == "vip"
    assert vip.first_response_due == at(9, 25, 17, 15)  # 15 business minutes
    assert vip.resolution_due == at(9, 28, 10)  # 120 business minutes

    # the holiday calendar counts: National Day 2026 off, Saturday 10 October worked
    session.add_all(
        [CalendarDay(calendar_id=1, day=date(2026, 10, d), kind="holiday") for d in range(1, 8)]
        + [CalendarDay(calendar_id=1, day=date(2026, 10, 10), kind="workday", name="调休")]
    )
    session.flush()
    eve = new_ticket(session, people, opened=at(9, 30, 17, 30))
    assert eve.first_response_due == at(10, 8, 9, 30)
    friday = new_ticket(session, people, opened=at(10, 9, 17))
    assert friday.resolution_due == at(10, 10, 17)


def test_the_clock_stops_while_waiting_on_the_customer(session: Session, people: People) -> None:
    ticket = new_ticket(session, people, opened=at(9, 28, 9))  # Monday; resolution +480 minutes
    assert ticket.resolution_due == at(9, 28, 18)
    sla.record_first_response(ticket, at(9, 28, 9, 30))
    ticket.status = "waiting"
    sla.on_status_change(session, ticket, "in_progress", "waiting", at(9, 28, 10))
    assert ticket.resolution_left_minutes == 420
    assert ticket.paused_at == at(9, 28, 10)
    assert sla.resolution_state(ticket, at(9, 29, 12)).outcome == "paused"

    # the customer answers two days later: the 420 minutes left start again from then
    ticket.status = "in_progress"
    sla.on_status_change(session, ticket, "waiting", "in_progress", at(9, 30, 14))
    assert ticket.resolution_due == at(10, 1, 12)
    assert ticket.paused_at is None and ticket.resolution_left_minutes is None
    assert sla.resolution_state(ticket, at(9, 30, 15)).outcome == "running"

    ticket.status = "resolved"
    sla.on_status_change(session, ticket, "in_progress", "resolved", at(10, 1, 11))
    assert ticket.resolved_at == at(10, 1, 11)
    assert sla.resolution_state(ticket, at(10, 2, 9)).outcome == "met"
    assert sla.first_response_state(ticket, at(10, 2, 9)).outcome == "met"


def test_a_pause_does_not_undo_a_breach(session: Session, people: People) -> None:
    ticket = new_ticket(session, people, opened=at(9, 28, 9))
    due = ticket.first_response_due
    assert due == at(9, 28, 10)
    ticket.status = "waiting"
    sla.on_status_change(session, ticket, "new", "waiting", at(9, 28, 11))
    assert ticket.response_left_minutes == -60
    ticket.status = "assigned"
    sla.on_status_change(session, ticket, "waiting", "assigned", at(9, 29, 11))
    assert ticket.first_response_due == due
    sla.record_first_response(ticket, at(9, 29, 11, 5))
    assert sla.first_response_state(ticket, at(9, 29, 12)).outcome == "missed"


def test_reopening_gives_back_what_was_left(session: Session, people: People) -> None:
    ticket = new_ticket(session, people, opened=at(9, 28, 9))  # resolution due Monday 18:00
    ticket.status = "resolved"
    sla.on_status_change(session, ticket, "in_progress", "resolved", at(9, 28, 15))
    assert ticket.resolution_left_minutes == 180
    ticket.status = "closed"
    sla.on_status_change(session, ticket, "resolved", "closed", at(9, 29, 9))
    assert ticket.closed_at == at(9, 29, 9) and ticket.resolved_at == at(9, 28, 15)

    ticket.status = "in_progress"
    sla.on_status_change(session, ticket, "closed", "in_progress", at(9, 30, 17))
    assert ticket.resolved_at is None and ticket.closed_at is None
    assert ticket.reopened_count == 1
    assert ticket.resolution_due == at(10, 1, 11)  # 60 minutes on Wednesday, 120 on Thursday
    assert sla.resolution_state(ticket, at(10, 1, 10)).outcome == "running"
    assert sla.resolution_state(ticket, at(10, 1, 11, 30)).outcome == "overdue"

    # resolved straight from waiting: the minutes left still count, so it is met
    ticket.status = "waiting"
    sla.on_status_change(session, ticket, "in_progress", "waiting", at(10, 1, 9, 30))
    ticket.status = "resolved"
    sla.on_status_change(session, ticket, "waiting", "resolved", at(10, 5, 9))
    assert sla.resolution_state(ticket, at(10, 5, 10)).outcome == "met"


def test_first_response_is_recorded_once(session: Session, people: People) -> None:
    ticket = new_ticket(session, people, opened=at(9, 28, 9))
    sla.record_first_response(ticket, at(9, 28, 9, 20))
    sla.record_first_response(ticket, at(9, 28, 11))
    assert ticket.first_responded_at == at(9, 28, 9, 20)
    assert sla.met(ticket.first_response_due, ticket.first_responded_at) is True


def test_a_calendar_without_working_hours_takes_the_ticket_without_due_times(
    session: Session, people: People
) -> None:
    calendar = session.get(BusinessCalendar, 1)
    assert calendar is not None
    calendar.week = {}
    session.flush()
    ticket = new_ticket(session, people, opened=at(9, 28, 9))
    assert ticket.sla_policy_id is not None
    assert ticket.first_response_due is None and ticket.resolution_due is None


def test_a_new_priority_sets_new_targets_and_keeps_judging_the_answer(
    session: Session, people: People
) -> None:
    ticket = new_ticket(session, people, opened=at(9, 28, 9))  # high: response due 10:00
    sla.record_first_response(ticket, at(9, 28, 9, 45))
    ticket.priority = "urgent"  # 30 minutes: the answer at 09:45 came too late for that
    sla.start(session, ticket, at(9, 28, 10))
    assert ticket.first_response_due == at(9, 28, 9, 30)
    assert sla.first_response_state(ticket, at(9, 28, 11)).outcome == "missed"
