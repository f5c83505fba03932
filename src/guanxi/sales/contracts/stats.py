"""Contract statistics (合同统计): value and count by status, what expires in the next 30, 60
and 90 days, and the renewal rate. Everything counts only the contracts the actor may see and
skips deleted ones, so a figure never reveals a contract its reader could not open.

Definitions (also shown on the statistics page):

- **Value** is the sum of ``amount`` (one company currency).
- **Expiring within N days**: running contracts (``active`` or ``expiring``) whose end date is
  between today and today + N days, both included.
- **Renewal rate** over a period ``[from, to]``: of the contracts whose end date falls in the
  period and whose outcome is known, the share that was renewed::

      rate = renewed / (renewed + expired + terminated_at_end)

  *renewed*: status ``renewed``; *expired*: status ``expired`` (ran out, nobody renewed it);
  *terminated at end*: status ``terminated`` with ``terminated_on`` on or after the end date
  (closed at the end instead of renewed). Contracts terminated *before* their end date are left
  out (they were ended early, not up for renewal), as are drafts and contracts still running.
  No such contract: no rate (null). The default period is the 365 days up to today.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.config import Settings
from guanxi.exact_sums import from_hundredths, hundredths
from guanxi.sales.contracts.schemas import (
    ContractStats,
    ExpiringFigure,
    RenewalFigure,
    StatusFigure,
)
from guanxi.sales.contracts.service import today_in
from guanxi.sales.contracts.status import STATUSES
from guanxi.sales.models import Contract

EXPIRING_WINDOWS = (30, 60, 90)
ZERO = Decimal("0.00")


def contract_stats(
    *,
    session: Session,
    actor: User,
    settings: Settings,
    period_from: date | None = None,
    period_to: date | None = None,
    today: date | None = None,
) -> ContractStats:
    day = today or today_in(settings)
    to = period_to or day
    start = period_from or to - timedelta(days=365)
    live = Contract.deleted_at.is_(None)

    by_status_rows = session.execute(
        restrict(
            select(
                Contract.status, func.count(Contract.id), func.sum(hundredths(Contract.amount))
            ).where(live),
            Contract,
            actor,
        ).group_by(Contract.status)
    ).all()
    found = {status: (count, value) for status, count, value in by_status_rows}
    by_status = [
        StatusFigure(
            status=status,
            count=found.get(status, (0, None))[0],
            value=_money(found.get(status, (0, None))[1]),
        )
        for status in STATUSES
    ]

    running = and_(live, Contract.status.in_(("active", "expiring")), Contract.end_date >= day)
    expiring = []
    for days in EXPIRING_WINDOWS:
        count, value = session.execute(
            restrict(
                select(func.count(Contract.id), func.sum(hundredths(Contract.amount))).where(
                    running, Contract.end_date <= day + timedelta(days=days)
                ),
                Contract,
                actor,
            )
        ).one()
        expiring.append(ExpiringFigure(within_days=days, count=count, value=_money(value)))

    renewed, expired, at_end = session.execute(
        restrict(
            select(
                func.count(case((Contract.status == "renewed", 1))),
                func.count(case((Contract.status == "expired", 1))),
                func.count(
                    case(
                        (
                            and_(
                                Contract.status == "terminated",
                                Contract.terminated_on >= Contract.end_date,
                            ),
                            1,
                        )
                    )
                ),
            ).where(live, Contract.end_date >= start, Contract.end_date <= to),
            Contract,
            actor,
        )
    ).one()
    decided = renewed + expired + at_end
    rate = (Decimal(renewed) / Decimal(decided)).quantize(Decimal("0.0001")) if decided else None
    return ContractStats(
        by_status=by_status,
        expiring=expiring,
        renewal=RenewalFigure(
            period_from=start,
            period_to=to,
            renewed=renewed,
            expired=expired,
            terminated_at_end=at_end,
            rate=rate,
        ),
        total_count=sum(f.count for f in by_status),
        total_value=sum((f.value for f in by_status), ZERO),
    )


def _money(value: object) -> Decimal:
    return from_hundredths(value)
