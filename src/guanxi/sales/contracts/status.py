"""The contract status rule, in one pure function that the service, the job and the tests share.

A contract runs from its start date to the end of its end date. Once signed (activated) its
status follows the calendar: ``active`` until the warning window opens, ``expiring`` from
``end_date - warning_days`` up to and including ``end_date``, and ``expired`` from the day after.
``draft`` stays draft until someone activates it; ``terminated`` and ``renewed`` are final.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final, Protocol

STATUSES: Final[tuple[str, ...]] = (
    "draft",
    "active",
    "expiring",
    "expired",
    "terminated",
    "renewed",
)
# statuses no date can change
HELD: Final[frozenset[str]] = frozenset({"draft", "terminated", "renewed"})
# statuses the calendar moves a contract through
LIVE: Final[tuple[str, ...]] = ("active", "expiring", "expired")


class Dated(Protocol):
    status: str
    end_date: date
    warning_days: int | None


def calendar_status(end_date: date, today: date, warning_days: int) -> str:
    """What the calendar says for a signed contract ending on ``end_date``."""
    if today > end_date:
        return "expired"
    if today >= end_date - timedelta(days=warning_days):
        return "expiring"
    return "active"


def effective_warning_days(contract: Dated, default_days: int) -> int:
    """The contract's own warning period, or the company default when it has none."""
    return default_days if contract.warning_days is None else contract.warning_days


def status_for(contract: Dated, today: date, warning_days: int) -> str:
    """The status ``contract`` should have on ``today``; ``warning_days`` is the company
    default, used when the contract does not set its own."""
    if contract.status in HELD:
        return contract.status
    return calendar_status(contract.end_date, today, effective_warning_days(contract, warning_days))


def warning_date(contract: Dated, warning_days: int) -> date:
    """The first day of the warning window (the company default applies as in ``status_for``)."""
    return contract.end_date - timedelta(days=effective_warning_days(contract, warning_days))
