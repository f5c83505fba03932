"""API shapes for contracts, their termination and renewal, and contract statistics."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from guanxi.errors import N_

ContractStatus = Literal["draft", "active", "expiring", "expired", "terminated", "renewed"]
Money = Field(default=Decimal("0.00"), ge=0, max_digits=18, decimal_places=2)
WarningDays = Field(default=None, ge=0, le=3650)


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isalpha():
        raise ValueError(N_("Write the currency as a three-letter code, like CNY."))
    return value.upper()


class ContractFields(BaseModel):
    """What people type about a contract; create takes all of them, update only those sent."""

    title: str = Field(min_length=1, max_length=200)
    customer_id: int
    our_party: str = Field(default="", max_length=200)
    counterparty_signatory: str = Field(default="", max_length=200)
    amount: Decimal = Money
    currency: str = "CNY"
    start_date: date
    end_date: date
    signed_on: date | None = None
    warning_days: int | None = WarningDays
    opportunity_id: int | None = None
    owner_id: int | None = None
    notes: str = Field(default="", max_length=10000)

    _check_currency = field_validator("currency")(_currency)


def _dates_in_order(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError(N_("The end date must not be before the start date."))


class ContractCreate(ContractFields):
    """A new contract. Without ``number`` one is made (``HT-2026-000123``). With ``signed_on``
    it starts active (or expiring, expired) at once; without it, as a draft to activate later."""

    number: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _dates(self) -> ContractCreate:
        _dates_in_order(self.start_date, self.end_date)
        return self


class ContractUpdate(BaseModel):
    """Changes to a contract; fields left out stay as they are. The status is not set here:
    activate, terminate and renew do that, and the calendar does the rest."""

    number: str | None = Field(default=None, min_length=1, max_length=40)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    customer_id: int | None = None
    our_party: str | None = Field(default=None, max_length=200)
    counterparty_signatory: str | None = Field(default=None, max_length=200)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    signed_on: date | None = None
    warning_days: int | None = WarningDays
    opportunity_id: int | None = None
    owner_id: int | None = None
    notes: str | None = Field(default=None, max_length=10000)

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        return None if value is None else _currency(value)

    @model_validator(mode="after")
    def _dates(self) -> ContractUpdate:
        _dates_in_order(self.start_date, self.end_date)
        return self


class ContractRenew(BaseModel):
    """The contract that follows an old one. Anything left out is taken from the old contract;
    by default the new one starts the day after the old one ends and runs as long."""

    number: str | None = Field(default=None, min_length=1, max_length=40)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2)
    start_date: date | None = None
    end_date: date | None = None
    signed_on: date | None = None
    warning_days: int | None = WarningDays
    notes: str | None = Field(default=None, max_length=10000)

    @model_validator(mode="after")
    def _dates(self) -> ContractRenew:
        _dates_in_order(self.start_date, self.end_date)
        return self


class ContractTerminate(BaseModel):
    """Ending a contract early (or closing it at its end without renewal)."""

    reason: str = Field(min_length=1, max_length=2000)
    terminated_on: date | None = None  # default: today


class ContractActivate(BaseModel):
    signed_on: date | None = None  # default: today


class ContractRead(BaseModel):
    id: int
    number: str
    title: str
    customer_id: int
    customer_name: str
    our_party: str
    counterparty_signatory: str
    amount: Decimal
    currency: str
    start_date: date
    end_date: date
    signed_on: date | None
    status: ContractStatus
    warning_days: int | None
    effective_warning_days: int
    renewed_from_id: int | None
    renewed_by_id: int | None
    opportunity_id: int | None
    terminated_on: date | None
    termination_reason: str
    notes: str
    owner_id: int | None
    team_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class StatusFigure(BaseModel):
    status: ContractStatus
    count: int
    value: Decimal


class ExpiringFigure(BaseModel):
    within_days: int
    count: int
    value: Decimal


class RenewalFigure(BaseModel):
    """Contracts whose end date falls in ``[period_from, period_to]``, by what became of them;
    ``rate`` = renewed / (renewed + expired + terminated_at_end), null when none ended."""

    period_from: date
    period_to: date
    renewed: int
    expired: int
    terminated_at_end: int
    rate: Decimal | None


class ContractStats(BaseModel):
    by_status: list[StatusFigure]
    expiring: list[ExpiringFigure]
    renewal: RenewalFigure
    total_count: int
    total_value: Decimal
