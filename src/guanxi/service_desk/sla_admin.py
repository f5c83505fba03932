"""Managing SLA policies and the business calendar: the use cases behind the sla-policies and
business-calendar API and the admin pages.

Every check happens before anything changes, so a refused edit leaves the rows as they were.
Changes apply to tickets opened (and clocks restarted) afterwards; due times already stored
stay as they were computed, so an edit never silently moves a promise made to a customer.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.concurrency import ensure_version
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.service_desk import business_calendar
from guanxi.service_desk.business_calendar import CalendarError
from guanxi.service_desk.models import BusinessCalendar, CalendarDay, SlaPolicy
from guanxi.service_desk.sla_schemas import (
    CalendarDayIn,
    CalendarDayRead,
    CalendarRead,
    CalendarUpdate,
    SlaPolicyCreate,
    SlaPolicyUpdate,
)

BAD_HOURS = N_("Write working hours as HH:MM-HH:MM spans that do not overlap, e.g. 09:00-12:00.")
BAD_ZONE = N_("Unknown time zone; use a name such as Asia/Shanghai.")
MAX_DAYS_AT_ONCE = 1000

# ---------------------------------------------------------------- policies


def list_policies(session: Session) -> list[SlaPolicy]:
    """Every policy, in the order they are tried on a tie (position, then id)."""
    return list(session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)))


def get_policy(session: Session, policy_id: int) -> SlaPolicy:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(N_("Record {id} was not found."), id=policy_id)
    return policy


def create_policy(session: Session, *, actor: User, policy_in: SlaPolicyCreate) -> SlaPolicy:
    values = policy_in.model_dump()
    _check_policy(session, values, own_id=None)
    policy = SlaPolicy(**values)
    session.add(policy)
    session.flush()
    return policy


def update_policy(
    session: Session,
    *,
    actor: User,
    policy: SlaPolicy,
    policy_in: SlaPolicyUpdate,
    expected_version: int | None = None,
) -> SlaPolicy:
    """Change the fields sent; ``kind``, ``priority``, ``tier`` and ``calendar_id`` sent as
    null mean "any" (the default calendar); other fields sent as null are left alone."""
    ensure_version(
        policy.version, expected_version if expected_version is not None else policy_in.version
    )
    nullable = {"kind", "priority", "tier", "calendar_id"}
    sent = policy_in.model_fields_set - {"version"}
    changes = {
        name: getattr(policy_in, name)
        for name in sent
        if getattr(policy_in, name) is not None or name in nullable
    }
    merged = {name: getattr(policy, name) for name in SlaPolicyCreate.model_fields} | changes
    _check_policy(session, merged, own_id=policy.id)
    for name, value in changes.items():
        if getattr(policy, name) != value:
            setattr(policy, name, value)
    session.flush()
    return policy


def delete_policy(
    session: Session, *, actor: User, policy: SlaPolicy, expected_version: int | None = None
) -> None:
    """Delete a policy; tickets that used it keep their due times (their policy link empties)."""
    ensure_version(policy.version, expected_version)
    session.delete(policy)
    session.flush()


def _check_policy(session: Session, values: dict[str, Any], own_id: int | None) -> None:
    errors: list[FieldError] = []
    if values["resolution_minutes"] < values["first_response_minutes"]:
        errors.append(
            FieldError(
                "resolution_minutes",
                N_("The resolution target cannot come before the first response."),
            )
        )
    if values["warn_before_minutes"] > values["resolution_minutes"]:
        errors.append(
            FieldError(
                "warn_before_minutes",
                N_("Warn within the resolution target, not before it starts."),
            )
        )
    calendar_id = values.get("calendar_id")
    if calendar_id is not None and session.get(BusinessCalendar, calendar_id) is None:
        errors.append(FieldError("calendar_id", N_("No such business calendar.")))
    if errors:
        raise InvalidInput(
            N_("The SLA policy has fields that are missing or wrong."), errors=errors
        )
    holder = session.scalar(select(SlaPolicy.id).where(SlaPolicy.name == values["name"]))
    if holder is not None and holder != own_id:
        raise Conflict(
            N_("An SLA policy named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=values["name"],
        )


# ---------------------------------------------------------------- the calendar


def get_calendar(session: Session, calendar_id: int | None = None) -> BusinessCalendar:
    """A calendar (the default one, which every policy without its own counts on)."""
    calendar = session.get(BusinessCalendar, calendar_id or business_calendar.DEFAULT_CALENDAR_ID)
    if calendar is None:
        raise NotFound(N_("Record {id} was not found."), id=calendar_id or 1)
    return calendar


def calendar_days(session: Session, calendar: BusinessCalendar) -> list[CalendarDay]:
    return list(
        session.scalars(
            select(CalendarDay)
            .where(CalendarDay.calendar_id == calendar.id)
            .order_by(CalendarDay.day)
        )
    )


def to_read(session: Session, calendar: BusinessCalendar) -> CalendarRead:
    return CalendarRead(
        id=calendar.id,
        name=calendar.name,
        timezone=calendar.timezone,
        week={str(day): list(calendar.week.get(str(day), [])) for day in range(7)},
        days=[
            CalendarDayRead(day=d.day, kind=d.kind, name=d.name, hours=d.hours)
            for d in calendar_days(session, calendar)
        ],
        version=calendar.version,
        updated_at=calendar.updated_at,
    )


def update_calendar(
    session: Session,
    *,
    actor: User,
    calendar: BusinessCalendar,
    calendar_in: CalendarUpdate,
    expected_version: int | None = None,
) -> BusinessCalendar:
    """Change the calendar's name, time zone or working week (all checked first)."""
    ensure_version(
        calendar.version, expected_version if expected_version is not None else calendar_in.version
    )
    errors: list[FieldError] = []
    week: dict[str, list[list[str]]] | None = None
    if calendar_in.timezone is not None:
        try:
            business_calendar.zone_named(calendar_in.timezone)
        except CalendarError:
            errors.append(FieldError("timezone", BAD_ZONE))
    if calendar_in.week is not None:
        unknown = set(calendar_in.week) - {str(day) for day in range(7)}
        for key in sorted(unknown):
            errors.append(FieldError(f"week.{key}", N_("Weekdays are 0 (Monday) to 6 (Sunday).")))
        week = {}
        for day in range(7):
            try:
                spans = business_calendar.parse_spans(calendar_in.week.get(str(day), []))
            except CalendarError:
                errors.append(FieldError(f"week.{day}", BAD_HOURS))
                continue
            week[str(day)] = business_calendar.spans_as_json(spans)
        if not errors and not any(week.values()):
            errors.append(FieldError("week", N_("At least one weekday needs working hours.")))
    if calendar_in.name is not None and calendar_in.name != calendar.name:
        holder = session.scalar(
            select(BusinessCalendar.id).where(BusinessCalendar.name == calendar_in.name)
        )
        if holder is not None:
            errors.append(FieldError("name", N_("This name is taken.")))
    if errors:
        raise InvalidInput(N_("The calendar has fields that are missing or wrong."), errors=errors)
    if calendar_in.name is not None:
        calendar.name = calendar_in.name
    if calendar_in.timezone is not None:
        calendar.timezone = calendar_in.timezone
    if week is not None and week != calendar.week:
        calendar.week = week
    session.flush()
    return calendar


def set_days(
    session: Session, *, actor: User, calendar: BusinessCalendar, days: list[CalendarDayIn]
) -> list[CalendarDay]:
    """Add holidays and make-up working days, replacing what a day said before."""
    if len(days) > MAX_DAYS_AT_ONCE:
        raise InvalidInput(N_("Send at most {count} days at once."), count=MAX_DAYS_AT_ONCE)
    errors: list[FieldError] = []
    normalised: dict[date, tuple[str, str, list[list[str]] | None]] = {}
    for index, item in enumerate(days):
        hours: list[list[str]] | None = None
        if item.hours:
            if item.kind == "holiday":
                errors.append(FieldError(f"{index}.hours", N_("A holiday has no working hours.")))
                continue
            try:
                hours = business_calendar.spans_as_json(business_calendar.parse_spans(item.hours))
            except CalendarError:
                errors.append(FieldError(f"{index}.hours", BAD_HOURS))
                continue
        normalised[item.day] = (item.kind, item.name, hours)
    if errors:
        raise InvalidInput(N_("Some days are wrong; nothing was saved."), errors=errors)
    existing = {d.day: d for d in calendar_days(session, calendar) if d.day in normalised}
    saved: list[CalendarDay] = []
    for day, (kind, name, hours) in sorted(normalised.items()):
        row = existing.get(day)
        if row is None:
            row = CalendarDay(calendar_id=calendar.id, day=day, kind=kind, name=name, hours=hours)
            session.add(row)
        else:
            row.kind, row.name, row.hours = kind, name, hours
        saved.append(row)
    session.flush()
    return saved


def remove_day(session: Session, *, actor: User, calendar: BusinessCalendar, day: date) -> None:
    row = session.get(CalendarDay, (calendar.id, day))
    if row is None:
        raise NotFound(N_("{day} is not on the calendar."), day=day.isoformat())
    session.delete(row)
    session.flush()


# ---------------------------------------------------------------- pasted lines

_HOLIDAY_WORDS = {"holiday", "off", "假", "休", "休息", "放假", "节假日"}
_WORKDAY_WORDS = {"workday", "work", "班", "上班", "补班", "调休", "调休上班"}
_SPAN_TEXT = re.compile(r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}(,\d{1,2}:\d{2}-\d{1,2}:\d{2})*$")


def parse_hours_text(text: str) -> list[list[str]]:
    """``"09:00-12:00, 13:00-18:00"`` as ``[["09:00", "12:00"], ["13:00", "18:00"]]``;
    blank is no hours. Raises :class:`CalendarError` for anything else."""
    compact = re.sub(r"\s+", "", text.replace("，", ","))
    if not compact:
        return []
    if not _SPAN_TEXT.match(compact):
        raise CalendarError(f"not working hours: {text!r}")
    spans = [piece.split("-") for piece in compact.split(",")]
    pairs = [[start.zfill(5), end.zfill(5)] for start, end in spans]
    return business_calendar.spans_as_json(business_calendar.parse_spans(pairs))


def parse_day_lines(text: str) -> list[CalendarDayIn]:
    """Days pasted one a line: ``2026-10-01 holiday 国庆节`` or ``2026-10-10 workday
    [09:00-12:00,13:00-18:00] 国庆调休``; Chinese words (假, 休, 班, 上班, 调休) do too.
    Blank lines and lines starting with ``#`` are skipped; every bad line is named."""
    days: list[CalendarDayIn] = []
    errors: list[FieldError] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=2)
        rest = parts[2] if len(parts) > 2 else ""
        hours: list[list[str]] | None = None
        try:
            day = date.fromisoformat(parts[0])
            word = parts[1].lower() if len(parts) > 1 else ""
            if word in _HOLIDAY_WORDS:
                kind = "holiday"
            elif word in _WORKDAY_WORDS:
                kind = "workday"
                first, _, after = rest.partition(" ")
                if first and first[0].isdigit():
                    hours = parse_hours_text(first)
                    rest = after
            else:
                raise ValueError(word)
            days.append(CalendarDayIn(day=day, kind=kind, name=rest.strip()[:120], hours=hours))
        except (ValueError, CalendarError, ValidationError):
            errors.append(
                FieldError(
                    f"line {number}",
                    N_(
                        "Write each line as: 2026-10-01 holiday 国庆节, or 2026-10-10 workday 调休."
                    ),
                )
            )
    if errors:
        raise InvalidInput(N_("Some lines could not be read; nothing was saved."), errors=errors)
    return days
