"""The weighted pipeline forecast: open amounts by month of expected close, weighted by each
opportunity's probability, beside what was already won in the month."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.exact_sums import hundredths
from guanxi.sales.funnel.schemas import Forecast, ForecastMonth, FunnelFilters
from guanxi.sales.funnel.scope import Stages, conditions, load_stages, money
from guanxi.sales.models import Opportunity

MAX_FORECAST_MONTHS = 24


def _month_starts(first: date, count: int) -> list[date]:
    starts = []
    year, month = first.year, first.month
    for _ in range(count + 1):
        starts.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def forecast(
    *,
    session: Session,
    actor: User,
    months: int = 6,
    owner_id: int | None = None,
    team_id: int | None = None,
    source: str | None = None,
    product_id: int | None = None,
    today: date | None = None,
) -> Forecast:
    """Per month from the current one: the open pipeline expected to close in it (count, amount,
    amount weighted by each opportunity's probability) and what was already won in it."""
    if not 1 <= months <= MAX_FORECAST_MONTHS:
        raise InvalidInput(
            N_("Choose a valid number of months."),
            errors=[FieldError("months", N_("Between 1 and 24 months."))],
        )
    filters = FunnelFilters(
        owner_id=owner_id, team_id=team_id, source=source, product_id=product_id
    )
    stages = load_stages(session)
    kept = conditions(session, actor, filters)
    today = today or datetime.now(UTC).date()
    starts = _month_starts(today.replace(day=1), months)
    index = {start: i for i, start in enumerate(starts[:-1])}
    count = [0] * months
    amount: list[Any] = [0] * months
    weighted: list[Any] = [0] * months
    # grouped by day (at most 31 a month) and folded into months here: no dialect's month function
    by_day = session.execute(
        select(
            Opportunity.expected_close_date,
            func.count(),
            func.sum(hundredths(Opportunity.amount)),
            func.sum(hundredths(Opportunity.amount * Opportunity.probability)),
        )
        .where(
            Opportunity.expected_close_date >= starts[0],
            Opportunity.expected_close_date < starts[-1],
            Opportunity.stage_id.not_in(stages.closed_ids),
            *kept,
        )
        .group_by(Opportunity.expected_close_date)
    ).all()
    for day, n, cents, weighted_cents in by_day:
        i = index[day.replace(day=1)]
        count[i] += n
        amount[i] += cents or 0
        weighted[i] += weighted_cents or 0
    won = _won_by_month(session, stages, kept, starts)
    rows = [
        ForecastMonth(
            month=starts[i],
            count=count[i],
            amount=money(amount[i]),
            # amount x percent: hundredths x 100, so four places, exact
            weighted_amount=money(weighted[i], places=4),
            won_amount=money(won[i]),
        )
        for i in range(months)
    ]
    return Forecast(
        months=rows,
        filters=filters,
        count=sum(count),
        amount=money(sum(amount)),
        weighted_amount=money(sum(weighted), places=4),
        won_amount=money(sum(won)),
    )


def _won_by_month(
    session: Session, stages: Stages, kept: list[ColumnElement[bool]], starts: list[date]
) -> list[Any]:
    """Won amounts closed in each month, as one row of conditional sums."""
    bounds = [datetime.combine(s, time(), tzinfo=UTC) for s in starts]
    sums = [
        func.sum(
            case(
                (
                    and_(Opportunity.closed_at >= low, Opportunity.closed_at < high),
                    hundredths(Opportunity.amount),
                ),
                else_=0,
            )
        )
        for low, high in pairwise(bounds)
    ]
    row = session.execute(
        select(*sums).where(
            Opportunity.closed_at >= bounds[0],
            Opportunity.closed_at < bounds[-1],
            Opportunity.stage_id.in_(stages.won_ids),
            *kept,
        )
    ).one()
    return [value or 0 for value in row]
