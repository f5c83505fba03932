"""What the funnel analysis answers: the stage funnel of a cohort, win rates by owner, source or
product, and the weighted pipeline forecast by month. Money is Decimal; rates are fractions 0-1
(None where there is nothing to divide by)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

WinRateBy = Literal["owner", "source", "product"]


class FunnelFilters(BaseModel):
    """Narrowing applied to every figure, on top of what the viewer may see."""

    owner_id: int | None = None
    team_id: int | None = None
    source: str | None = None
    product_id: int | None = None


class FunnelStage(BaseModel):
    """One open stage of the funnel and the step from it to the next stage (or to won)."""

    stage_id: int
    key: str
    label: str
    position: int
    reached: int  # opportunities of the cohort that got at least this far
    reached_amount: Decimal
    share_of_created: float | None  # reached / created
    next_label: str  # the stage after this one, or "Won" for the last open stage
    converted: int  # of those, how many got to the next stage
    conversion: float | None  # converted / reached
    dropped: int  # reached - converted
    drop_off: float | None  # 1 - conversion
    exits: int  # moves out of the stage that the average time is taken over
    average_days: float | None  # mean days between entering the stage and leaving it


class FunnelReport(BaseModel):
    period_start: date
    period_end: date
    filters: FunnelFilters
    created: int  # the cohort: opportunities created in the period
    created_amount: Decimal
    stages: list[FunnelStage]
    won: int
    won_amount: Decimal
    lost: int
    lost_amount: Decimal
    open: int
    open_amount: Decimal
    win_rate_closed: float | None  # won / (won + lost)
    win_rate_created: float | None  # won / created


class WinRateRow(BaseModel):
    key: str  # owner or product id as text, or the source code; "" when none was recorded
    label: str
    won: int
    lost: int
    open: int  # still open, of those created in the period
    win_rate: float | None  # won / (won + lost)
    won_amount: Decimal


class WinRates(BaseModel):
    by: WinRateBy
    period_start: date
    period_end: date
    filters: FunnelFilters
    rows: list[WinRateRow]
    total: WinRateRow


class ForecastMonth(BaseModel):
    month: date  # the first day of the month
    count: int  # open opportunities expected to close in the month
    amount: Decimal
    weighted_amount: Decimal  # sum of amount x probability / 100, exact
    won_amount: Decimal  # won and closed in the month already


class Forecast(BaseModel):
    months: list[ForecastMonth]
    filters: FunnelFilters
    count: int
    amount: Decimal
    weighted_amount: Decimal
    won_amount: Decimal
