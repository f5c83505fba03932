"""Business-hours arithmetic: weekends, lunch breaks, Chinese public holidays and make-up working
days, checked against hand-counted answers and a minute-by-minute reference count."""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from guanxi.service_desk import business_calendar as bc
from guanxi.service_desk.business_calendar import Calendar, CalendarError

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = [["09:00", "12:00"], ["13:00", "18:00"]]
WEEK = {str(day): DAY if day < 5 else [] for day in range(7)}
# National Day 2026: 1-7 October off, Saturday 10 October worked instead (调休)
NATIONAL_DAY = [(date(2026, 10, d), "holiday", None) for d in range(1, 8)]
MAKE_UP = [(date(2026, 10, 10), "workday", None)]


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    """A Shanghai wall-clock time in 2026 as UTC, as the columns hold it."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def calendar() -> Calendar:
    return bc.build("Asia/Shanghai", WEEK, [*NATIONAL_DAY, *MAKE_UP])


def reference_minutes(calendar: Calendar, start: datetime, end: datetime) -> int:
    """Working minutes counted one minute at a time in local wall-clock time: slow, obvious."""
    count, moment = 0, start
    while moment < end:
        local = moment.astimezone(calendar.zone)
        minute = local.hour * 60 + local.minute
        if any(a <= minute < b for a, b in calendar.spans_on(local.date())):
            count += 1
        moment += timedelta(minutes=1)
    return count


def test_counts_across_a_weekend(calendar: Calendar) -> None:
    friday = at(25, 17, month=9)  # Friday 25 September 2026, 17:00
    assert bc.add_business_minutes(calendar, friday, 120) == at(28, 10, month=9)
    assert bc.business_minutes_between(calendar, friday, at(28, 10, month=9)) == 120
    # a start on Saturday counts from Monday's opening
    assert bc.add_business_minutes(calendar, at(26, 15, month=9), 30) == at(28, 9, 30, month=9)


def test_skips_the_lunch_break_and_ends_at_closing_not_next_opening(calendar: Calendar) -> None:
    assert bc.add_business_minutes(calendar, at(28, 11, 30, month=9), 60) == at(28, 13, 30, month=9)
    assert bc.add_business_minutes(calendar, at(28, 17, month=9), 60) == at(28, 18, month=9)
    assert bc.add_business_minutes(calendar, at(28, 17, month=9), 61) == at(29, 9, 1, month=9)
    assert bc.add_business_minutes(calendar, at(28, 12, 10, month=9), 0) == at(28, 12, 10, month=9)


def test_a_public_holiday_week_counts_nothing(calendar: Calendar) -> None:
    wednesday = at(30, 17, month=9)  # the eve of National Day
    assert bc.add_business_minutes(calendar, wednesday, 120) == at(8, 10)
    assert bc.business_minutes_between(calendar, at(1, 0), at(8, 0)) == 0
    assert bc.business_minutes_between(calendar, wednesday, at(8, 10)) == 120


def test_a_make_up_working_day_counts_like_a_weekday(calendar: Calendar) -> None:
    friday = at(9, 17)
    # Saturday 10 October is worked (调休), so the target falls on it, not on Monday the 12th
    assert bc.add_business_minutes(calendar, friday, 120) == at(10, 10)
    assert bc.business_minutes_between(calendar, at(10, 0), at(11, 0)) == 480
    # without the make-up day the same target reaches Monday
    plain = bc.build("Asia/Shanghai", WEEK, NATIONAL_DAY)
    assert bc.add_business_minutes(plain, friday, 120) == at(12, 10)


def test_a_make_up_day_may_have_hours_of_its_own() -> None:
    short = bc.build("Asia/Shanghai", WEEK, [(date(2026, 10, 10), "workday", [["10:00", "12:00"]])])
    assert bc.add_business_minutes(short, at(10, 8), 150) == at(12, 9, 30)


def test_between_is_negative_for_a_missed_target(calendar: Calendar) -> None:
    assert bc.business_minutes_between(calendar, at(8, 11), at(8, 10)) == -60


def test_agrees_with_a_minute_by_minute_count(calendar: Calendar) -> None:
    rng = random.Random(20261207)
    base = at(1, 0, month=9)
    for _ in range(60):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 50))
        minutes = rng.randrange(1, 480 * 12)
        due = bc.add_business_minutes(calendar, start, minutes)
        assert reference_minutes(calendar, start, due) == minutes
        # nothing earlier would do: one minute before the due time the target is not used up
        assert reference_minutes(calendar, start, due - timedelta(minutes=1)) == minutes - 1
        assert bc.business_minutes_between(calendar, start, due) == minutes


def test_weeks_skipped_at_once_agree_with_the_walk_across_daylight_saving() -> None:
    berlin = bc.build("Europe/Berlin", {str(d): [["00:30", "03:30"]] for d in range(7)})
    start = datetime(2026, 1, 5, tzinfo=UTC)
    due = bc.add_business_minutes(berlin, start, 180 * 7 * 30)
    assert reference_minutes(berlin, start, due) == 180 * 7 * 30
    assert bc.business_minutes_between(berlin, start, due) == 180 * 7 * 30


def test_long_targets_and_long_holidays_are_fast() -> None:
    # a whole month of holiday and a target of a year: no minute-by-minute loop
    holidays = [(date(2026, 1, 1) + timedelta(days=d), "holiday", None) for d in range(31)]
    calendar = bc.build("Asia/Shanghai", WEEK, holidays)
    began = clock.perf_counter()
    due = bc.add_business_minutes(calendar, at(1, 9, month=1), 480 * 250)
    elapsed = clock.perf_counter() - began
    assert bc.business_minutes_between(calendar, at(1, 9, month=1), due) == 480 * 250
    assert elapsed < 0.05


def test_a_calendar_without_working_hours_is_refused() -> None:
    idle = bc.build("Asia/Shanghai", {})
    with pytest.raises(CalendarError):
        bc.add_business_minutes(idle, at(1, 9), 10)
    assert bc.business_minutes_between(idle, at(1, 9), at(9, 9)) == 0


@pytest.mark.parametrize(
    "spans",
    [
        [["09:00", "12:00"], ["11:00", "13:00"]],  # overlapping
        [["18:00", "09:00"]],  # reversed
        [["09:00", "09:00"]],  # empty
        [["9am", "5pm"]],  # not HH:MM
        [["09:00", "25:00"]],
        [["09:00"]],
        "09:00-18:00",
    ],
)
def test_bad_working_hours_are_refused(spans: object) -> None:
    with pytest.raises(CalendarError):
        bc.parse_spans(spans)


def test_bad_weeks_zones_and_minutes_are_refused(calendar: Calendar) -> None:
    with pytest.raises(CalendarError):
        bc.build("Mars/Olympus_Mons", WEEK)
    with pytest.raises(CalendarError):
        bc.parse_week({"7": DAY})
    with pytest.raises(CalendarError):
        bc.add_business_minutes(calendar, at(8, 9), -5)
    assert bc.parse_spans([["13:00", "18:00"], ["09:00", "12:00"]]) == ((540, 720), (780, 1080))
    assert bc.parse_spans([["00:00", "24:00"]]) == ((0, 1440),)
