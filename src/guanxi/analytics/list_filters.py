"""The mining centre's customer-list filters: a customer's scores in the latest run (tier,
lifecycle stage, RFM, CLV, churn risk...), their stage in the run before, and the orders they
placed in a period or through a channel.

They are registered with the customer list (``customers.search.register_filter``), so a drill-down
from a dashboard, a saved segment, the list page, the customer API and exports all read the same
URL parameters and apply the same rule: ``/customers?tier=vip,key&churn_risk_min=0.6``.

- choice filters take one value or several separated by commas (``stage=decline,lost``);
- a number ``x`` is filtered with ``x_min`` (at least) and ``x_under`` (less than), so adjacent
  histogram bars never share a customer;
- ``cohort`` is the month of the first purchase (``2026-03``);
- ``stage_before`` is the stage in the run before the latest (the flows between stages);
- ``bought_from``, ``bought_to`` (days in the company's clock, both whole) and ``channel``
  together mean "placed at least one order in that period through that channel".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from guanxi.analytics import lifecycle, nba, rfm, tiers
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.customers import search
from guanxi.customers.models import Customer
from guanxi.db import company_zone
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.web.i18n import gettext

MAX_CHOICES = 20


@dataclass(frozen=True)
class ChoiceFilter:
    param: str
    label: str
    column: Any
    choices: Mapping[str, str]  # key -> English msgid


@dataclass(frozen=True)
class RangeFilter:
    name: str
    label: str
    column: Any
    kind: str  # money | share | count


CHOICE_FILTERS: tuple[ChoiceFilter, ...] = (
    ChoiceFilter("tier", N_("Value tier"), CustomerScore.tier, tiers.TIERS),
    ChoiceFilter("stage", N_("Lifecycle stage"), CustomerScore.lifecycle_stage, lifecycle.STAGES),
    ChoiceFilter("rfm", N_("RFM segment"), CustomerScore.rfm_segment, rfm.SEGMENTS),
    ChoiceFilter(
        "r", N_("Recency score"), CustomerScore.r_score, {str(i): str(i) for i in range(1, 6)}
    ),
    ChoiceFilter(
        "f", N_("Frequency score"), CustomerScore.f_score, {str(i): str(i) for i in range(1, 6)}
    ),
    ChoiceFilter(
        "m", N_("Monetary score"), CustomerScore.m_score, {str(i): str(i) for i in range(1, 6)}
    ),
    ChoiceFilter(
        "next_action",
        N_("Next best action"),
        CustomerScore.next_action,
        {key: title for key, (title, _) in nba.ACTIONS.items()},
    ),
)

RANGE_FILTERS: tuple[RangeFilter, ...] = (
    RangeFilter("clv", N_("CLV"), CustomerScore.clv, "money"),
    RangeFilter("profit", N_("Profit"), CustomerScore.profit, "money"),
    RangeFilter("revenue", N_("Revenue"), CustomerScore.revenue, "money"),
    RangeFilter("churn_risk", N_("Churn risk"), CustomerScore.churn_risk, "share"),
    RangeFilter("p_alive", N_("P(alive)"), CustomerScore.p_alive, "share"),
    RangeFilter(
        "expected_purchases", N_("Expected purchases"), CustomerScore.expected_purchases, "count"
    ),
    RangeFilter("orders", N_("Orders"), CustomerScore.orders, "count"),
)


def latest_run_id() -> Any:
    """The latest succeeded run's id, as a scalar subquery (readers always use that run)."""
    return (
        select(func.max(AnalysisRun.id)).where(AnalysisRun.status == "succeeded").scalar_subquery()
    )


def previous_run_id() -> Any:
    """The succeeded run before the latest, as a scalar subquery."""
    return (
        select(AnalysisRun.id)
        .where(AnalysisRun.status == "succeeded")
        .order_by(AnalysisRun.id.desc())
        .offset(1)
        .limit(1)
        .scalar_subquery()
    )


def _refuse(param: str, message: str) -> InvalidInput:
    return InvalidInput(N_("This filter cannot be used."), errors=[FieldError(param, message)])


def _choices(param: str, raw: str, allowed: Mapping[str, str]) -> list[str]:
    chosen = [part.strip() for part in raw.split(",") if part.strip()]
    if len(chosen) > MAX_CHOICES or any(c not in allowed for c in chosen):
        raise _refuse(param, N_("Choose from the listed values."))
    return chosen


def _number(param: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise _refuse(param, N_("Must be a number.")) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _refuse(param, N_("Must be a number."))
    return value


def _month(param: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip() + "-01")
    except ValueError:
        raise _refuse(param, N_("Write a month as 2026-03.")) from None


def _day(param: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise _refuse(param, N_("Write dates as 2026-11-23.")) from None


def score_conditions(values: Mapping[str, str], score: Any = CustomerScore) -> list[Any]:
    """Conditions on a score row (``score``, CustomerScore or an alias) for the score parameters
    in ``values``; the segment explorer applies them to earlier runs for a segment's trend."""
    conditions: list[Any] = []
    for choice in CHOICE_FILTERS:
        raw = values.get(choice.param)
        if raw:
            chosen = _choices(choice.param, raw, choice.choices)
            column = getattr(score, choice.column.key)
            if choice.param in ("r", "f", "m"):
                conditions.append(column.in_([int(c) for c in chosen]))
            else:
                conditions.append(column.in_(chosen))
    for ranged in RANGE_FILTERS:
        column = getattr(score, ranged.column.key)
        low, high = values.get(f"{ranged.name}_min"), values.get(f"{ranged.name}_under")
        if low:
            conditions.append(column >= _number(f"{ranged.name}_min", low))
        if high:
            conditions.append(column < _number(f"{ranged.name}_under", high))
    if values.get("cohort"):
        conditions.append(score.cohort_month == _month("cohort", values["cohort"]))
    return conditions


SCORE_PARAMS: tuple[str, ...] = (
    *(c.param for c in CHOICE_FILTERS),
    *(f"{r.name}_{end}" for r in RANGE_FILTERS for end in ("min", "under")),
    "cohort",
)


def _scores_clause(session: Session, values: Mapping[str, str]) -> ColumnElement[bool]:
    return Customer.id.in_(
        select(CustomerScore.customer_id).where(
            CustomerScore.run_id == latest_run_id(), *score_conditions(values)
        )
    )


def _stage_before_clause(session: Session, values: Mapping[str, str]) -> ColumnElement[bool]:
    chosen = _choices("stage_before", values["stage_before"], lifecycle.STAGES)
    return Customer.id.in_(
        select(CustomerScore.customer_id).where(
            CustomerScore.run_id == previous_run_id(),
            CustomerScore.lifecycle_stage.in_(chosen),
        )
    )


def order_conditions(session: Session, values: Mapping[str, str]) -> list[Any]:
    """Conditions on an order for the period and channel parameters in ``values``."""
    from guanxi.analytics.sources import NOT_SALES
    from guanxi.sales.models import Order

    zone = company_zone(session)
    conditions: list[Any] = [Order.status.not_in(NOT_SALES)]
    start = _day("bought_from", values["bought_from"]) if values.get("bought_from") else None
    end = _day("bought_to", values["bought_to"]) if values.get("bought_to") else None
    if start and end and end < start:
        raise _refuse("bought_to", N_("The end must not be before the start."))
    if start:
        conditions.append(Order.ordered_at >= _midnight(start, zone))
    if end:
        conditions.append(Order.ordered_at < _midnight(end + dt.timedelta(days=1), zone))
    if values.get("channel"):
        conditions.append(Order.channel == values["channel"])
    return conditions


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _orders_clause(session: Session, values: Mapping[str, str]) -> ColumnElement[bool]:
    from guanxi.sales.models import Order

    return exists().where(Order.customer_id == Customer.id, *order_conditions(session, values))


def _describe_scores(session: Session, values: Mapping[str, str]) -> str:
    parts = []
    for choice in CHOICE_FILTERS:
        if values.get(choice.param):
            chosen = [gettext(choice.choices.get(c, c)) for c in values[choice.param].split(",")]
            parts.append(f"{gettext(choice.label)}: {', '.join(chosen)}")
    for ranged in RANGE_FILTERS:
        low, high = values.get(f"{ranged.name}_min"), values.get(f"{ranged.name}_under")
        if low or high:
            parts.append(f"{gettext(ranged.label)} {_span(low, high)}")
    if values.get("cohort"):
        parts.append(f"{gettext(N_('First purchase in'))} {values['cohort']}")
    return "; ".join(parts)


def _span(low: str | None, high: str | None) -> str:
    if low and high:
        return f"{low} – <{high}"
    return f"≥ {low}" if low else f"< {high}"


def _describe_stage_before(session: Session, values: Mapping[str, str]) -> str:
    chosen = [gettext(lifecycle.STAGES.get(c, c)) for c in values["stage_before"].split(",")]
    return f"{gettext(N_('Stage in the run before'))}: {', '.join(chosen)}"


def _describe_orders(session: Session, values: Mapping[str, str]) -> str:
    parts = [gettext(N_("Bought"))]
    if values.get("bought_from") or values.get("bought_to"):
        parts.append(f"{values.get('bought_from', '…')} – {values.get('bought_to', '…')}")
    if values.get("channel"):
        parts.append(f"{gettext(N_('through'))} {values['channel']}")
    return " ".join(parts)


def _register(
    name: str,
    params: tuple[str, ...],
    clause: Callable[[Session, Mapping[str, str]], ColumnElement[bool]],
    describe: Callable[[Session, Mapping[str, str]], str],
) -> None:
    search.register_filter(search.ListFilter(name, params, clause, describe))


# one filter (and one chip) per score, so each condition can be removed on its own
for _choice in CHOICE_FILTERS:
    _register(_choice.param, (_choice.param,), _scores_clause, _describe_scores)
for _ranged in RANGE_FILTERS:
    _register(
        _ranged.name,
        (f"{_ranged.name}_min", f"{_ranged.name}_under"),
        _scores_clause,
        _describe_scores,
    )
_register("cohort", ("cohort",), _scores_clause, _describe_scores)
_register("stage_before", ("stage_before",), _stage_before_clause, _describe_stage_before)
_register("orders", ("bought_from", "bought_to", "channel"), _orders_clause, _describe_orders)
