"""Business-hours arithmetic on a working week and its holidays (节假日) and make-up working days
(调休上班): how far a number of working minutes reaches, and how many lie between two moments.

Times come and go in UTC; the counting happens in the calendar's own time zone, day by day.
Days that give no hours are skipped whole, and runs of ordinary weeks are skipped a week at a
time, so a month of holidays or a target of weeks costs a few dozen steps, never a minute-by-minute
walk. A span's minutes are elapsed minutes: on a daylight-saving day a span is as long as the
clock says it really is.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.service_desk.models import BusinessCalendar, CalendarDay

Span = tuple[int, int]
"""Working hours of a day as minutes after local midnight: ``(540, 720)`` is 09:00-12:00."""

DEFAULT_CALENDAR_ID = 1
# A calendar that stays without working hours this long can never meet a target.
MAX_IDLE_DAYS = 3 * 366
MAX_WEEKS_AT_ONCE = 20
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class CalendarError(ValueError):
    """A week, a day's hours or a time zone that cannot be counted on."""


@dataclass(frozen=True)
class Calendar:
    """A business calendar loaded for counting: the week's spans per weekday (0 = Monday) and
    the days that override the week (a holiday has no spans)."""

    zone: ZoneInfo
    week: tuple[tuple[Span, ...], ...]
    days: Mapping[date, tuple[Span, ...]] = field(default_factory=dict)
    _sorted_days: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError("a week has seven days")
        object.__setattr__(self, "_sorted_days", tuple(sorted(self.days)))

    @property
    def week_minutes(self) -> int:
        return sum(end - start for spans in self.week for start, end in spans)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """The working spans of a local calendar day."""
        override = self.days.get(day)
        return override if override is not None else self.week[day.weekday()]

    def next_override(self, day: date) -> date | None:
        """The first overriding day on or after ``day``."""
        index = bisect.bisect_left(self._sorted_days, day)
        return self._sorted_days[index] if index < len(self._sorted_days) else None


# ---------------------------------------------------------------- parsing and loading


def parse_clock(value: str) -> int:
    """``"09:30"`` as minutes after midnight; ``"24:00"`` is the end of the day."""
    match = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise CalendarError(f"not a time of day (HH:MM): {value!r}")
    minutes = int(match[1]) * 60 + int(match[2])
    if minutes > 24 * 60:
        raise CalendarError(f"not a time of day (HH:MM): {value!r}")
    return minutes


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_spans(value: Any) -> tuple[Span, ...]:
    """``[["09:00", "12:00"], ["13:00", "18:00"]]`` as sorted spans; overlapping, empty or
    reversed spans are refused."""
    if not isinstance(value, list | tuple):
        raise CalendarError("working hours are a list of [start, end] pairs")
    spans: list[Span] = []
    for pair in value:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise CalendarError("working hours are a list of [start, end] pairs")
        start, end = parse_clock(pair[0]), parse_clock(pair[1])
        if end <= start:
            raise CalendarError(f"a span ends before it starts: {pair[0]}-{pair[1]}")
        spans.append((start, end))
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start < end:
            raise CalendarError("working hours overlap")
    return tuple(spans)


def spans_as_json(spans: Iterable[Span]) -> list[list[str]]:
    return [[format_clock(start), format_clock(end)] for start, end in spans]


def parse_week(value: Any) -> tuple[tuple[Span, ...], ...]:
    """A stored week (``{"0": [[start, end], ...], ..., "6": [...]}``, Monday first); a
    weekday left out has no working hours."""
    if not isinstance(value, Mapping):
        raise CalendarError("a week maps weekdays 0 (Monday) to 6 (Sunday) to working hours")
    unknown = set(map(str, value)) - {str(day) for day in range(7)}
    if unknown:
        raise CalendarError(f"not a weekday (0-6): {', '.join(sorted(unknown))}")
    return tuple(parse_spans(value.get(str(day), value.get(day, []))) for day in range(7))


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CalendarError(f"unknown time zone: {name!r}") from error


def build(
    timezone: str, week: Any, days: Iterable[tuple[date, str, Sequence[Any] | None]] = ()
) -> Calendar:
    """A calendar from stored values: ``days`` are ``(day, "holiday" | "workday", hours)``;
    a make-up working day without hours works an ordinary weekday's (Monday's, else the first
    weekday with hours)."""
    parsed_week = parse_week(week)
    ordinary = next((spans for spans in parsed_week[:5] if spans), ()) or next(
        (spans for spans in parsed_week if spans), ()
    )
    overrides: dict[date, tuple[Span, ...]] = {}
    for day, kind, hours in days:
        if kind == "holiday":
            overrides[day] = ()
        elif kind == "workday":
            overrides[day] = parse_spans(hours) if hours else ordinary
        else:
            raise CalendarError(f"a calendar day is a holiday or a workday, not {kind!r}")
    return Calendar(zone=zone_named(timezone), week=parsed_week, days=overrides)


def load(session: Session, calendar_id: int | None = None) -> Calendar:
    """A stored calendar with its days, read once for a run of counting; the default calendar
    when none is named (or the named one is gone)."""
    row = session.get(BusinessCalendar, calendar_id or DEFAULT_CALENDAR_ID)
    if row is None:
        row = session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.id)).first()
    if row is None:
        raise CalendarError("no business calendar is defined")
    days = session.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.hours).where(
            CalendarDay.calendar_id == row.id
        )
    ).all()
    return build(row.timezone, row.week, [(day, kind, hours) for day, kind, hours in days])


# ---------------------------------------------------------------- counting


def _local_day(calendar: Calendar, moment: datetime) -> date:
    return moment.astimezone(calendar.zone).date()


def _span_in_utc(calendar: Calendar, day: date, span: Span) -> tuple[datetime, datetime]:
    def at(minutes: int) -> datetime:
        midnight = datetime.combine(day, time(0), tzinfo=calendar.zone)
        # wall-clock minutes after midnight, resolved in the zone (fold=0 on a repeated hour)
        wall = midnight.replace(tzinfo=None) + timedelta(minutes=minutes)
        return wall.replace(tzinfo=calendar.zone).astimezone(UTC)

    return at(span[0]), at(span[1])


def _midnight(calendar: Calendar, day: date) -> datetime:
    return _span_in_utc(calendar, day, (0, 0))[0]


def _whole_weeks(calendar: Calendar, day: date, most: int) -> int:
    """How many ordinary weeks (no overriding day in them) can be counted at once from the
    local midnight of ``day``, at most ``most``.

    Capped at ``MAX_WEEKS_AT_ONCE`` and only when the zone's UTC offset is the same at both
    ends, so a daylight-saving change never falls in a skipped run (its week is counted
    day by day) and elapsed minutes equal wall-clock minutes."""
    if calendar.week_minutes <= 0 or most <= 0:
        return 0
    weeks = min(most, MAX_WEEKS_AT_ONCE)
    override = calendar.next_override(day)
    if override is not None:
        weeks = min(weeks, (override - day).days // 7)
    if weeks <= 0:
        return 0
    start, end = _midnight(calendar, day), _midnight(calendar, day + timedelta(weeks=weeks))
    if (end - start) != timedelta(weeks=weeks):
        return 0
    return weeks


def add_business_minutes(calendar: Calendar, start: datetime, minutes: float) -> datetime:
    """The moment (UTC) when ``minutes`` working minutes counted from ``start`` are used up.

    A target that ends exactly at the close of a span is due at that close, not at the next
    opening. Zero minutes is ``start`` itself. Raises :class:`CalendarError` for negative
    minutes or a calendar that never works again."""
    if minutes < 0:
        raise CalendarError("business minutes cannot be negative")
    cursor = start.astimezone(UTC)
    if minutes == 0:
        return cursor
    remaining = float(minutes)
    day = _local_day(calendar, cursor)
    idle_days = 0
    while True:
        if cursor <= _midnight(calendar, day) and calendar.week_minutes > 0:
            # keep the last week to the day-by-day walk, so the due time lands inside it
            weeks = _whole_weeks(calendar, day, int(remaining // calendar.week_minutes) - 1)
            if weeks:
                remaining -= weeks * calendar.week_minutes
                day += timedelta(weeks=weeks)
                cursor = _midnight(calendar, day)
                idle_days = 0
                continue
        spans = calendar.spans_on(day)
        idle_days = idle_days + 1 if not spans else 0
        if idle_days > MAX_IDLE_DAYS:
            raise CalendarError("the calendar has no working hours ahead")
        for span in spans:
            span_start, span_end = _span_in_utc(calendar, day, span)
            if span_end <= cursor:
                continue
            begin = max(cursor, span_start)
            available = (span_end - begin).total_seconds() / 60
            if remaining <= available:
                return begin + timedelta(minutes=remaining)
            remaining -= available
            cursor = span_end
        day += timedelta(days=1)
        cursor = max(cursor, _midnight(calendar, day))


def business_minutes_between(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Working minutes from ``start`` to ``end``; negative when ``end`` comes first (a target
    already missed by that much)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end < start:
        return -business_minutes_between(calendar, end, start)
    total = 0.0
    day = _local_day(calendar, start)
    last = _local_day(calendar, end)
    while day <= last:
        # whole weeks that lie entirely between the two moments count without a walk
        whole = (last - day).days // 7 if start <= _midnight(calendar, day) else 0
        weeks = _whole_weeks(calendar, day, whole)
        if weeks:
            total += weeks * calendar.week_minutes
            day += timedelta(days=7 * weeks)
            continue
        for span in calendar.spans_on(day):
            span_start, span_end = _span_in_utc(calendar, day, span)
            begin, finish = max(start, span_start), min(end, span_end)
            if finish > begin:
                total += (finish - begin).total_seconds() / 60
        day += timedelta(days=1)
    return total
