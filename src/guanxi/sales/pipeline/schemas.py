"""API shapes for opportunities, their stage moves and history, the board and the stages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["open", "won", "lost"]
OUTCOMES: tuple[str, ...] = ("open", "won", "lost")

Money = Field(default=Decimal("0.00"), ge=0, max_digits=18, decimal_places=2)


class OpportunityFields(BaseModel):
    """What a person types about an opportunity (every field optional: an update sends some)."""

    title: str = Field(default="", min_length=1, max_length=200)
    amount: Decimal = Money
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    expected_close_date: date | None = None
    # without it the stage's default probability applies
    probability: int | None = Field(default=None, ge=0, le=100)
    source: str = Field(default="", max_length=60)
    product_id: int | None = None
    notes: str = Field(default="", max_length=20_000)
    external_id: str | None = Field(default=None, max_length=100)
    owner_id: int | None = None
    stage_id: int | None = None
    # required when the stage is a lost one
    lost_reason: str = Field(default="", max_length=2000)


class OpportunityCreate(OpportunityFields):
    customer_id: int
    title: str = Field(min_length=1, max_length=200)


class OpportunityUpdate(OpportunityFields):
    customer_id: int | None = None


class OpportunityRead(BaseModel):
    id: int
    customer_id: int
    title: str
    amount: Decimal
    currency: str
    expected_close_date: date | None
    probability: int
    stage_id: int
    stage_key: str
    stage_label: str
    outcome: str
    source: str
    product_id: int | None
    lost_reason: str
    notes: str
    owner_id: int | None
    team_id: int | None
    stage_changed_at: datetime
    furthest_stage_position: int
    closed_at: datetime | None
    external_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class OpportunityMove(BaseModel):
    """Move to another stage; ``version`` is the one the client last saw (stale: 409)."""

    stage_id: int
    lost_reason: str = Field(default="", max_length=2000)
    version: int | None = None


class OpportunityWin(BaseModel):
    create_order: bool = False
    version: int | None = None


class WinResult(BaseModel):
    opportunity: OpportunityRead
    order_id: int | None = None


class StageChangeRead(BaseModel):
    id: int
    from_stage_id: int | None
    from_stage_label: str | None
    to_stage_id: int
    to_stage_label: str
    changed_by_id: int | None
    changed_by: str | None
    changed_at: datetime
    from_stage_entered_at: datetime | None
    # how long the opportunity stayed in the stage it left
    seconds_in_stage: int | None


class OpportunityCard(BaseModel):
    id: int
    title: str
    customer_id: int
    customer_name: str
    amount: Decimal
    currency: str
    probability: int
    expected_close_date: date | None
    owner_id: int | None
    version: int


class BoardColumn(BaseModel):
    stage_id: int
    key: str
    label: str
    outcome: str
    count: int
    amount: Decimal
    weighted: Decimal
    cards: list[OpportunityCard]
    # more opportunities are in the stage than the cards shown (the totals count them all)
    more: int


class Board(BaseModel):
    columns: list[BoardColumn]
    count: int
    amount: Decimal
    weighted: Decimal


class StageCreate(BaseModel):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1, max_length=80)
    probability: int = Field(default=0, ge=0, le=100)
    outcome: Outcome = "open"
    position: int | None = Field(default=None, ge=0)


class StageUpdate(BaseModel):
    label: str | None = Field(default=None, min_length=1, max_length=80)
    probability: int | None = Field(default=None, ge=0, le=100)
    outcome: Outcome | None = None
    is_active: bool | None = None
    position: int | None = Field(default=None, ge=0)


class StageOrder(BaseModel):
    """Every stage id, in the order the board should show them."""

    stage_ids: list[int] = Field(min_length=1)


class StageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    label: str
    position: int
    probability: int
    outcome: str
    is_active: bool
    version: int
