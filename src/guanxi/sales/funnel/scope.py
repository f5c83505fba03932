"""What every funnel figure shares: the period as UTC instants, the pipeline's stages by outcome,
the opportunities a viewer may count, and exact money from SQL sums of hundredths."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import resolved_visibility_clause
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.exact_sums import from_hundredths
from guanxi.sales.funnel.schemas import FunnelFilters
from guanxi.sales.models import Opportunity, PipelineStage

MAX_PERIOD_YEARS = 5


def check_period(period_start: date, period_end: date) -> None:
    """Refuse a period that ends before it starts or spans more than five years."""
    if period_end < period_start:
        raise InvalidInput(
            N_("Choose a valid period."),
            errors=[FieldError("end", N_("The end must not be before the start."))],
        )
    if period_end >= add_years(period_start, MAX_PERIOD_YEARS):
        raise InvalidInput(
            N_("Choose a valid period."),
            errors=[FieldError("end", N_("A period may span at most five years."))],
        )


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a year without one
        return day.replace(year=day.year + years, day=28)


def instants(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """The period as half-open UTC instants: from the start day's midnight to the midnight
    after the end day, so both named days are whole."""
    start = datetime.combine(period_start, time(), tzinfo=UTC)
    return start, datetime.combine(period_end + timedelta(days=1), time(), tzinfo=UTC)


@dataclass(frozen=True)
class Stages:
    open: list[PipelineStage]  # active open stages in funnel order
    won_ids: list[int]
    lost_ids: list[int]

    @property
    def closed_ids(self) -> list[int]:
        return self.won_ids + self.lost_ids


def load_stages(session: Session) -> Stages:
    stages = list(session.scalars(select(PipelineStage).order_by(PipelineStage.position)))
    return Stages(
        open=[s for s in stages if s.outcome == "open" and s.is_active],
        # inactive won/lost stages still hold closed opportunities
        won_ids=[s.id for s in stages if s.outcome == "won"],
        lost_ids=[s.id for s in stages if s.outcome == "lost"],
    )


def conditions(session: Session, actor: User, filters: FunnelFilters) -> list[ColumnElement[bool]]:
    """What every query keeps: live opportunities the actor may see, narrowed by the filters."""
    kept: list[ColumnElement[bool]] = [Opportunity.deleted_at.is_(None)]
    visible = resolved_visibility_clause(session, Opportunity, actor)
    if visible is not None:
        kept.append(visible)
    if filters.owner_id is not None:
        kept.append(Opportunity.owner_id == filters.owner_id)
    if filters.team_id is not None:
        kept.append(Opportunity.team_id == filters.team_id)
    if filters.source:
        kept.append(Opportunity.source == filters.source)
    if filters.product_id is not None:
        kept.append(Opportunity.product_id == filters.product_id)
    return kept


money = from_hundredths  # the funnel's modules import it from here


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
