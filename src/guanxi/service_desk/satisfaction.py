"""Satisfaction linked to value (客户满意与价值): CSAT and NPS overall and by value tier,
lifecycle stage and saved segment, and the complaint analysis by category and root cause per
month. Every figure counts only the tickets the actor may see (``service_desk.visibility``).

CSAT is the mean of the 1-5 answers. NPS is the share of promoters (9-10) minus the share of
detractors (0-6) among the NPS answers, in percent (Reichheld 2003). The tier is the one the
ticket was opened under (what the SLA used), else the customer's current tier; the lifecycle
stage is the customer's current one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, extract, func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.errors import N_, FieldError, GuanxiError, InvalidInput, NotFound
from guanxi.marketing.segments import service as segment_service
from guanxi.pagination import Page, paginate
from guanxi.service_desk.models import Survey, Ticket
from guanxi.service_desk.visibility import ticket_clause

PROMOTER_FROM = 9
DETRACTOR_TO = 6
UNKNOWN = ""  # the key of customers not scored yet (no tier or stage)


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A half-open span of time [start, end) in UTC; either end may be open."""

    start: datetime | None = None
    end: datetime | None = None

    def clauses(self, column: Any) -> list[Any]:
        found = []
        if self.start is not None:
            found.append(column >= self.start)
        if self.end is not None:
            found.append(column < self.end)
        return found


_DAYS = re.compile(r"^(\d{1,4})d$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(value: str | None, *, now: datetime | None = None) -> Period:
    """``90d`` (the last 90 days), ``2026-11`` (a month) or ``2026`` (a year); blank is all
    time. Anything else is refused naming ``period``."""
    text = (value or "").strip()
    if not text:
        return Period()
    moment = now or utcnow()
    if match := _DAYS.match(text):
        days = int(match.group(1))
        if days > 0:
            return Period(moment - timedelta(days=days), None)
    if match := _MONTH.match(text):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12 and year >= 1900:
            following = date(year + month // 12, month % 12 + 1, 1)
            return Period(_midnight(date(year, month, 1)), _midnight(following))
    if match := _YEAR.match(text):
        year = int(match.group(1))
        if year >= 1900:
            return Period(_midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1)))
    raise InvalidInput(
        N_("The period is not one we know."),
        errors=[FieldError("period", N_("Use 90d (the last days), 2026-11 (a month) or 2026."))],
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# ---------------------------------------------------------------- surveys the actor sees


def visible_surveys(actor: User) -> Select[Survey]:
    """Surveys of the tickets ``actor`` may see."""
    stmt = select(Survey).join(Ticket, Ticket.id == Survey.ticket_id)
    clause = ticket_clause(actor)
    return stmt if clause is None else stmt.where(clause)


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    """CSAT and NPS of a group of answered surveys."""

    key: str
    answered: int
    csat_count: int
    csat_mean: float | None
    nps_count: int
    promoters: int
    detractors: int

    @property
    def passives(self) -> int:
        return self.nps_count - self.promoters - self.detractors

    @property
    def nps(self) -> float | None:
        if not self.nps_count:
            return None
        return round(100.0 * (self.promoters - self.detractors) / self.nps_count, 1)


@dataclass(frozen=True)
class SegmentFigures:
    segment_id: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class SatisfactionSummary:
    overall: Figures
    by_tier: list[Figures]
    by_lifecycle: list[Figures]
    by_segment: list[SegmentFigures] = field(default_factory=list)


def _measures() -> list[Any]:
    return [
        func.count(Survey.id),
        func.count(Survey.csat),
        func.avg(Survey.csat),
        func.count(Survey.nps),
        func.sum(case((Survey.nps >= PROMOTER_FROM, 1), else_=0)),
        func.sum(case((Survey.nps <= DETRACTOR_TO, 1), else_=0)),
    ]


def _figures(key: str, row: Any) -> Figures:
    answered, csat_count, csat_mean, nps_count, promoters, detractors = row
    return Figures(
        key=key,
        answered=int(answered or 0),
        csat_count=int(csat_count or 0),
        csat_mean=round(float(csat_mean), 2) if csat_mean is not None else None,
        nps_count=int(nps_count or 0),
        promoters=int(promoters or 0),
        detractors=int(detractors or 0),
    )


def _answered(actor: User, period: Period) -> Select[Any]:
    """The answered surveys ``actor`` sees, answered in ``period``, with their customer."""
    stmt = (
        select(*_measures())
        .select_from(Survey)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .join(Customer, Customer.id == Survey.customer_id)
        .where(Survey.answered_at.is_not(None), *period.clauses(Survey.answered_at))
    )
    clause = ticket_clause(actor)
    return stmt if clause is None else stmt.where(clause)


def summary(
    session: Session, *, actor: User, period: Period | None = None, segments: bool = True
) -> SatisfactionSummary:
    """CSAT and NPS overall, by tier, by lifecycle stage and (``segments``) by saved segment."""
    span = period or Period()
    base = _answered(actor, span)
    overall = _figures("", session.execute(base).one())
    tier = func.coalesce(Ticket.tier, Customer.value_tier, UNKNOWN)
    stage = func.coalesce(Customer.lifecycle_stage, UNKNOWN)

    def grouped(column: Any) -> list[Figures]:
        rows = session.execute(base.add_columns(column).group_by(column))
        return [_figures(str(row[-1]), row[:-1]) for row in rows]

    by_tier = grouped(tier)
    by_lifecycle = grouped(stage)
    found = SatisfactionSummary(
        overall=overall,
        by_tier=sorted(by_tier, key=lambda f: _order(f.key, TIER_ORDER)),
        by_lifecycle=sorted(by_lifecycle, key=lambda f: _order(f.key, STAGE_ORDER)),
    )
    if segments:
        found.by_segment.extend(_by_segment(session, actor, base))
    return found


TIER_ORDER = ("vip", "key", "ordinary", "unprofitable")
STAGE_ORDER = ("prospect", "exploration", "formation", "stability", "decline", "lost")


def _order(key: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(key) if key in order else len(order), key)


def _by_segment(session: Session, actor: User, base: Select[Any]) -> list[SegmentFigures]:
    found = []
    for segment in segment_service.list_segments(session=session):
        try:
            members = segment_service.members(session=session, actor=actor, segment=segment)
            ids = members.with_only_columns(Customer.id).order_by(None)
            row = session.execute(base.where(Survey.customer_id.in_(ids))).one()
        except GuanxiError:  # a definition that no longer works hides only itself
            continue
        found.append(SegmentFigures(segment.id, segment.name, _figures(str(segment.id), row)))
    return found


# ---------------------------------------------------------------- complaints


@dataclass(frozen=True)
class ComplaintAnalysis:
    """Complaints opened per month (``YYYY-MM``), by category and by root cause."""

    months: list[str]
    by_category: dict[str, dict[str, int]]  # category -> month -> count
    by_root_cause: dict[str, dict[str, int]]
    total: int

    def category_totals(self) -> list[tuple[str, int]]:
        return _totals(self.by_category)

    def root_cause_totals(self) -> list[tuple[str, int]]:
        return _totals(self.by_root_cause)


def _totals(table: dict[str, dict[str, int]]) -> list[tuple[str, int]]:
    return sorted(
        ((key, sum(months.values())) for key, months in table.items()),
        key=lambda item: (-item[1], item[0]),
    )


def complaints(session: Session, *, actor: User, period: Period | None = None) -> ComplaintAnalysis:
    """Complaints (tickets of kind complaint, merged duplicates left out) the actor may see,
    opened in ``period``, counted per month by category and by root cause."""
    span = period or Period()
    # months of the UTC calendar: PostgreSQL would otherwise read them in its session's zone
    created: Any = Ticket.created_at
    if session.get_bind().dialect.name == "postgresql":
        created = func.timezone("UTC", Ticket.created_at)
    year = extract("year", created)
    month = extract("month", created)
    conditions = [
        Ticket.kind == "complaint",
        Ticket.merged_into_id.is_(None),
        *span.clauses(Ticket.created_at),
    ]
    clause = ticket_clause(actor)
    if clause is not None:
        conditions.append(clause)

    def count_by(column: Any) -> dict[str, dict[str, int]]:
        stmt = (
            select(year, month, column, func.count(Ticket.id))
            .where(and_(*conditions))
            .group_by(year, month, column)
        )
        table: dict[str, dict[str, int]] = {}
        for y, m, key, count in session.execute(stmt):
            table.setdefault(key or UNKNOWN, {})[f"{int(y):04d}-{int(m):02d}"] = int(count)
        return table

    by_category = count_by(Ticket.category)
    by_root_cause = count_by(Ticket.root_cause)
    months = sorted({m for table in by_category.values() for m in table})
    total = sum(sum(table.values()) for table in by_category.values())
    return ComplaintAnalysis(months, by_category, by_root_cause, total)


# ---------------------------------------------------------------- reading surveys


def list_surveys(
    session: Session,
    *,
    actor: User,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    answered: bool | None = None,
    period: Period | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Survey]:
    """Surveys of the tickets ``actor`` sees, newest first; ``period`` is when they were sent."""
    stmt = visible_surveys(actor)
    if ticket_id is not None:
        stmt = stmt.where(Survey.ticket_id == ticket_id)
    if customer_id is not None:
        stmt = stmt.where(Survey.customer_id == customer_id)
    if answered is not None:
        stmt = stmt.where(
            Survey.answered_at.is_not(None) if answered else Survey.answered_at.is_(None)
        )
    stmt = stmt.where(*(period or Period()).clauses(Survey.sent_at))
    return paginate(session, stmt, Survey.id, limit=limit, cursor=cursor, descending=True)


def get_survey(session: Session, *, actor: User, survey_id: int) -> Survey:
    """One survey of a ticket ``actor`` sees; NotFound otherwise, also when it exists."""
    found = session.scalars(visible_surveys(actor).where(Survey.id == survey_id)).one_or_none()
    if found is None:
        raise NotFound(N_("Record {id} was not found."), id=survey_id)
    return found
