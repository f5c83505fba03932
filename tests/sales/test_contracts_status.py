"""The status rule at its boundaries: the first day of the warning window, the end day, the
day after, and the statuses no date can change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from guanxi.sales.contracts.status import status_for, warning_date

END = date(2026, 12, 31)


@dataclass
class C:
    status: str = "active"
    end_date: date = END
    warning_days: int | None = None


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 1), "active"),
        (date(2026, 11, 30), "active"),  # the day before the window opens
        (date(2026, 12, 1), "expiring"),  # exactly end - 30 days: the threshold day
        (date(2026, 12, 31), "expiring"),  # the end day is still covered
        (date(2027, 1, 1), "expired"),  # the day after
    ],
)
def test_signed_contract_follows_the_calendar(today: date, expected: str):
    assert status_for(C(), today, 30) == expected


def test_the_company_default_applies_only_without_the_contracts_own_days():
    assert warning_date(C(), 30) == date(2026, 12, 1)
    own = C(warning_days=7)
    assert warning_date(own, 30) == date(2026, 12, 24)
    assert status_for(own, date(2026, 12, 23), 30) == "active"
    assert status_for(own, date(2026, 12, 24), 30) == "expiring"
    none = C(warning_days=0)  # no warning period: expiring only on the end day itself
    assert status_for(none, date(2026, 12, 30), 30) == "active"
    assert status_for(none, END, 30) == "expiring"


@pytest.mark.parametrize("held", ["draft", "terminated", "renewed"])
def test_draft_terminated_and_renewed_are_never_moved_by_dates(held: str):
    for today in (date(2026, 1, 1), date(2026, 12, 15), date(2030, 1, 1)):
        assert status_for(C(status=held), today, 30) == held


def test_an_expired_contract_whose_end_moves_later_is_running_again():
    assert status_for(C(status="expired", end_date=date(2027, 6, 30)), date(2027, 1, 2), 30) == (
        "active"
    )
