"""Funnel analysis (漏斗分析): how far the opportunities created in a period got through the open
stages, where they dropped out, how long they stayed in each stage, who and what wins
(``win_rates``), and the weighted pipeline forecast by month (``forecast``). The method is
described in docs/analytics-funnel.md.

Every figure is a handful of SQL aggregates (GROUP BY over at most stages x positions groups), never
a loop over opportunities in Python, so a report over a million opportunities takes about as long
as the store needs to scan the period once. Every query goes through the viewer's visibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.errors import N_
from guanxi.exact_sums import hundredths
from guanxi.sales.funnel.forecast import MAX_FORECAST_MONTHS, forecast
from guanxi.sales.funnel.schemas import FunnelFilters, FunnelReport, FunnelStage
from guanxi.sales.funnel.scope import (
    Stages,
    check_period,
    conditions,
    instants,
    load_stages,
    money,
    ratio,
)
from guanxi.sales.funnel.win_rates import win_rates
from guanxi.sales.models import Opportunity, OpportunityStageChange

__all__ = ["MAX_FORECAST_MONTHS", "check_period", "forecast", "funnel", "win_rates"]

WON_LABEL = N_("Won")


def funnel(
    *,
    session: Session,
    actor: User,
    period_start: date,
    period_end: date,
    owner_id: int | None = None,
    team_id: int | None = None,
    source: str | None = None,
    product_id: int | None = None,
) -> FunnelReport:
    """The stage funnel of the opportunities created in the period (the cohort): how many
    reached each open stage, converted to the next, dropped out, and were won or lost."""
    check_period(period_start, period_end)
    filters = FunnelFilters(
        owner_id=owner_id, team_id=team_id, source=source, product_id=product_id
    )
    stages = load_stages(session)
    begin, end = instants(period_start, period_end)
    cohort = [
        Opportunity.created_at >= begin,
        Opportunity.created_at < end,
        *conditions(session, actor, filters),
    ]
    # one row per (furthest position, current stage): a few dozen groups at most
    groups = session.execute(
        select(
            Opportunity.furthest_stage_position,
            Opportunity.stage_id,
            func.count(),
            func.sum(hundredths(Opportunity.amount)),
        )
        .where(*cohort)
        .group_by(Opportunity.furthest_stage_position, Opportunity.stage_id)
    ).all()
    won_ids, lost_ids = set(stages.won_ids), set(stages.lost_ids)
    totals: dict[str, list[Any]] = {k: [0, 0] for k in ("all", "won", "lost", "open")}
    for _, stage_id, count, cents in groups:
        kind = "won" if stage_id in won_ids else "lost" if stage_id in lost_ids else "open"
        for key in ("all", kind):
            totals[key][0] += count
            totals[key][1] += cents or 0

    def reached(position: int) -> tuple[int, Any]:
        # a won opportunity went through every open stage, whatever position it recorded
        hits = [
            (count, cents or 0)
            for furthest, stage_id, count, cents in groups
            if furthest >= position or stage_id in won_ids
        ]
        return sum(c for c, _ in hits), sum(m for _, m in hits)

    days = _average_days(session, stages, cohort)
    rows: list[FunnelStage] = []
    reach = [reached(stage.position) for stage in stages.open]
    for index, stage in enumerate(stages.open):
        count, cents = reach[index]
        last = index == len(stages.open) - 1
        converted = totals["won"][0] if last else reach[index + 1][0]
        exits, average = days.get(stage.id, (0, None))
        rows.append(
            FunnelStage(
                stage_id=stage.id,
                key=stage.key,
                label=stage.label,
                position=stage.position,
                reached=count,
                reached_amount=money(cents),
                share_of_created=ratio(count, totals["all"][0]),
                next_label=WON_LABEL if last else stages.open[index + 1].label,
                converted=converted,
                conversion=ratio(converted, count),
                dropped=count - converted,
                drop_off=None if not count else 1 - converted / count,
                exits=exits,
                average_days=average,
            )
        )
    won, lost = totals["won"][0], totals["lost"][0]
    return FunnelReport(
        period_start=period_start,
        period_end=period_end,
        filters=filters,
        created=totals["all"][0],
        created_amount=money(totals["all"][1]),
        stages=rows,
        won=won,
        won_amount=money(totals["won"][1]),
        lost=lost,
        lost_amount=money(totals["lost"][1]),
        open=totals["open"][0],
        open_amount=money(totals["open"][1]),
        win_rate_closed=ratio(won, won + lost),
        win_rate_created=ratio(won, totals["all"][0]),
    )


def _average_days(
    session: Session, stages: Stages, cohort: Sequence[ColumnElement[bool]]
) -> dict[int, tuple[int, float | None]]:
    """Per open stage: how many times a cohort opportunity left it, and the mean days it had
    spent there each time (the move out's ``seconds_in_stage``)."""
    change = OpportunityStageChange
    rows = session.execute(
        select(
            change.from_stage_id,
            func.count(),
            func.avg(change.seconds_in_stage) / 86400.0,
        )
        .join(Opportunity, Opportunity.id == change.opportunity_id)
        .where(
            change.from_stage_id.in_([s.id for s in stages.open]),
            change.seconds_in_stage.is_not(None),
            *cohort,
        )
        .group_by(change.from_stage_id)
    ).all()
    return {
        stage_id: (count, None if avg is None else round(float(avg), 2))
        for stage_id, count, avg in rows
        if stage_id is not None
    }
