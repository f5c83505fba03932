"""API shapes for saved segments and their previews.

A definition is the customer list's URL parameters as ``[[name, value], ...]`` pairs, in the
order they were given: ``[["tier", "vip,key"], ["city", "上海"], ["tag", "VIP"]]``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

MAX_CONDITIONS = 60


def _as_text(value: object) -> object:
    # a script may send a number as a number (["clv_min", 1000])
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


Value = Annotated[str, BeforeValidator(_as_text)]
Pair = tuple[Annotated[str, StringConstraints(max_length=60)], Value]
Params = Annotated[list[Pair], Field(max_length=MAX_CONDITIONS)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class SegmentCreate(BaseModel):
    name: Name
    description: Description = ""
    params: Params


class SegmentUpdate(BaseModel):
    """Only the fields sent change."""

    name: Name | None = None
    description: Description | None = None
    params: Params | None = None


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    params: list[tuple[str, str]]
    query: str = Field(description="The parameters as a query string for /customers")
    owner_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class PreviewIn(BaseModel):
    params: Params = []


class SegmentValue(BaseModel):
    """Totals over the members that the latest run scored."""

    revenue: float
    profit: float
    clv: float
    mean_clv: float | None


class TierCount(BaseModel):
    tier: str
    customers: int


class TrendPoint(BaseModel):
    run_id: int
    observation_end: date
    size: int
    clv: float


class SegmentPreview(BaseModel):
    size: int = Field(description="Members among the customers the caller may see")
    list_url: str
    run_id: int | None = Field(description="The latest succeeded scoring run, if any")
    observation_end: date | None
    scored: int = Field(description="Members the latest run scored")
    value: SegmentValue | None = Field(description="None without a run or analytics access")
    tiers: list[TierCount]
    trend: list[TrendPoint] = Field(
        description="Members scored by each of the last runs (oldest first): the profile "
        "conditions as they are now, the score conditions on that run's scores"
    )
