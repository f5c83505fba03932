"""JSON API for the funnel analysis and the weighted pipeline forecast.

All three read opportunities, so they need ``opportunities:read`` (the analyst role has it); what
they count is what the caller may see: a sales rep's own and shared opportunities, a manager's
team's, everything for an administrator or an analyst.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.sales.funnel import service
from guanxi.sales.funnel.schemas import Forecast, FunnelReport, WinRateBy, WinRates

router = APIRouter(prefix="/api/v1", tags=["funnel"])

DEFAULT_DAYS = 90

Start = Annotated[
    date | None, Query(description="First day of the period (UTC); default 89 days before end")
]
End = Annotated[date | None, Query(description="Last day of the period (UTC); default today")]
OwnerId = Annotated[int | None, Query(description="Only this owner's opportunities")]
TeamId = Annotated[int | None, Query(description="Only this team's opportunities")]
Source = Annotated[str | None, Query(max_length=60, description="Only this source")]
ProductId = Annotated[int | None, Query(description="Only this product's opportunities")]


def default_period(start: date | None, end: date | None) -> tuple[date, date]:
    """The last 90 days up to today, for whichever end was not given."""
    end = end or datetime.now(UTC).date()
    return start or end - timedelta(days=DEFAULT_DAYS - 1), end


@router.get("/funnel")
def read_funnel(
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
    start: Start = None,
    end: End = None,
    owner_id: OwnerId = None,
    team_id: TeamId = None,
    source: Source = None,
    product_id: ProductId = None,
) -> FunnelReport:
    """The stage funnel of the opportunities created in the period: reached, conversion and
    drop-off per stage, average days in stage, won and lost, and the win rates."""
    period_start, period_end = default_period(start, end)
    return service.funnel(
        session=session,
        actor=actor,
        period_start=period_start,
        period_end=period_end,
        owner_id=owner_id,
        team_id=team_id,
        source=source,
        product_id=product_id,
    )


@router.get("/funnel/win-rates")
def read_win_rates(
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
    by: WinRateBy = "owner",
    start: Start = None,
    end: End = None,
    owner_id: OwnerId = None,
    team_id: TeamId = None,
    source: Source = None,
    product_id: ProductId = None,
) -> WinRates:
    """Won, lost and open per owner, source or product for the opportunities closed in the
    period, with win rate = won / (won + lost)."""
    period_start, period_end = default_period(start, end)
    return service.win_rates(
        session=session,
        actor=actor,
        by=by,
        period_start=period_start,
        period_end=period_end,
        owner_id=owner_id,
        team_id=team_id,
        source=source,
        product_id=product_id,
    )


@router.get("/funnel/forecast")
def read_forecast(
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
    months: Annotated[int, Query(ge=1, le=service.MAX_FORECAST_MONTHS)] = 6,
    owner_id: OwnerId = None,
    team_id: TeamId = None,
    source: Source = None,
    product_id: ProductId = None,
) -> Forecast:
    """The open pipeline by month of expected close from the current month, weighted by each
    opportunity's probability, beside what was won in each month."""
    return service.forecast(
        session=session,
        actor=actor,
        months=months,
        owner_id=owner_id,
        team_id=team_id,
        source=source,
        product_id=product_id,
    )
