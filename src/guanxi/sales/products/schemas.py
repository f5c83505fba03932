"""API shapes for products: the catalogue entry as written, read and imported.

Money is ``Decimal`` from the request body to the NUMERIC(18, 2) column: a price may not be
negative and may have at most two decimal places (a fen), checked here so that the API, the form
and the import refuse the same values with the same words.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
)

from guanxi.errors import N_

# NUMERIC(18, 2): sixteen digits before the point
MAX_MONEY = Decimal(10) ** 16


def check_money(value: Decimal) -> Decimal:
    """A price or cost as stored: finite, not negative, at most two decimal places."""
    if not value.is_finite():
        raise ValueError(N_("Must be a number."))
    if value < 0:
        raise ValueError(N_("Must not be negative."))
    if value >= MAX_MONEY:
        raise ValueError(N_("The amount is too large."))
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError(N_("Use at most two decimal places."))
    return value.quantize(Decimal("0.01"))


def parse_money(text: str) -> Decimal:
    """Money as people type it into forms and spreadsheets: ``¥1,234.50``, ``1234.5``."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    cleaned = cleaned.lstrip("¥￥").replace("元", "").strip()
    try:
        return check_money(Decimal(cleaned))
    except InvalidOperation as exc:
        raise ValueError(N_("Must be a number.")) from exc


def _money_text(value: object) -> object:
    # forms post text (and may carry a currency sign or thousands separators); JSON may carry a
    # float, whose shortest text is what the client meant (19.99, not 19.989999...)
    if isinstance(value, str):
        return parse_money(value)
    if isinstance(value, float):
        return parse_money(repr(value))
    return value


def _optional_text(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


Money = Annotated[Decimal, BeforeValidator(_money_text), AfterValidator(check_money)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
Description = Annotated[str, StringConstraints(max_length=4000)]
ExternalId = Annotated[
    Annotated[str, StringConstraints(max_length=100)] | None, BeforeValidator(_optional_text)
]


class ProductUpsert(BaseModel):
    """A product as an ERP or shop sends it; its external id is in the URL."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Name
    category: Category = ""
    list_price: Money = Decimal("0.00")
    unit_cost: Money = Decimal("0.00")
    unit: Unit = ""
    description: Description = ""
    is_active: bool = True


class ProductCreate(ProductUpsert):
    """A new product; ``external_id`` names it in another system (ERP, shop) when given."""

    external_id: ExternalId = None


class ProductUpdate(BaseModel):
    """A change to a product: only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku | None = None
    name: Name | None = None
    category: Category | None = None
    list_price: Money | None = None
    unit_cost: Money | None = None
    unit: Unit | None = None
    description: Description | None = None
    is_active: bool | None = None
    external_id: ExternalId = None


class ProductRead(BaseModel):
    """A product with its margin: (list price - unit cost) / list price, in percent."""

    id: int
    sku: str
    name: str
    category: str
    list_price: Decimal
    unit_cost: Decimal
    margin_percent: Decimal | None
    unit: str
    description: str
    is_active: bool
    external_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class ImportRefusal(BaseModel):
    """One refused row: its number as the spreadsheet shows it, the column at fault, and why."""

    row: int
    column: str
    reason: str


class ProductImportResult(BaseModel):
    """What an import did (or, as a dry run, would do)."""

    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    refused: int
    mapping: dict[str, str]
    refusals: list[ImportRefusal]
