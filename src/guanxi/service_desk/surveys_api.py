"""Satisfaction surveys over JSON: /api/v1/surveys, and their summary by value."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.pagination import PageOut
from guanxi.service_desk import satisfaction
from guanxi.service_desk.survey_schemas import (
    FiguresRead,
    SegmentFiguresRead,
    SurveyRead,
    SurveySummary,
)

router = APIRouter(prefix="/api/v1", tags=["surveys"])
Reader = Annotated[User, require("tickets", "read")]
PeriodQuery = Annotated[
    str,
    Query(description="90d (the last 90 days), 2026-11 (a month) or 2026 (a year); blank: all"),
]


def _figures(figures: satisfaction.Figures) -> FiguresRead:
    return FiguresRead(
        key=figures.key,
        answered=figures.answered,
        csat_count=figures.csat_count,
        csat_mean=figures.csat_mean,
        nps_count=figures.nps_count,
        promoters=figures.promoters,
        passives=figures.passives,
        detractors=figures.detractors,
        nps=figures.nps,
    )


@router.get("/surveys")
def list_surveys(
    session: DbSession,
    actor: Reader,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    answered: bool | None = None,
    period: PeriodQuery = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> PageOut[SurveyRead]:
    """Surveys of the tickets the caller may see, newest first; ``period`` is when sent."""
    page = satisfaction.list_surveys(
        session,
        actor=actor,
        ticket_id=ticket_id,
        customer_id=customer_id,
        answered=answered,
        period=satisfaction.parse_period(period),
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[SurveyRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/surveys/summary")
def survey_summary(session: DbSession, actor: Reader, period: PeriodQuery = "") -> SurveySummary:
    """CSAT and NPS overall and by value tier, lifecycle stage and saved segment, with counts,
    over the answers (answered in ``period``) to the tickets the caller may see."""
    found = satisfaction.summary(session, actor=actor, period=satisfaction.parse_period(period))
    return SurveySummary(
        overall=_figures(found.overall),
        by_tier=[_figures(f) for f in found.by_tier],
        by_lifecycle=[_figures(f) for f in found.by_lifecycle],
        by_segment=[
            SegmentFiguresRead(
                segment_id=s.segment_id, name=s.name, **_figures(s.figures).model_dump()
            )
            for s in found.by_segment
        ],
    )


@router.get("/surveys/{survey_id}")
def get_survey(session: DbSession, actor: Reader, survey_id: int) -> SurveyRead:
    return SurveyRead.model_validate(
        satisfaction.get_survey(session, actor=actor, survey_id=survey_id)
    )
