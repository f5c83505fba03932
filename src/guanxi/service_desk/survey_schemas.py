"""API shapes of satisfaction surveys and their summary."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SurveyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    customer_id: int
    sent_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    csat: int | None
    nps: int | None
    comment: str


class FiguresRead(BaseModel):
    """CSAT (mean of 1-5) and NPS (% promoters 9-10 minus % detractors 0-6) of a group."""

    key: str
    answered: int
    csat_count: int
    csat_mean: float | None
    nps_count: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None


class SegmentFiguresRead(FiguresRead):
    segment_id: int
    name: str


class SurveySummary(BaseModel):
    overall: FiguresRead
    by_tier: list[FiguresRead]
    by_lifecycle: list[FiguresRead]
    by_segment: list[SegmentFiguresRead]
