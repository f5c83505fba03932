"""API shapes of the ERP / shop upserts: an order as a shop or ERP system sends it, identified by
its external id, and what a bulk request did."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from guanxi.errors import N_

ErpStatus = Literal["draft", "confirmed", "invoiced", "shipped", "completed", "cancelled"]
Channel = Literal["store", "web", "phone", "distributor", "field", "marketplace", "other"]
Money = Decimal

ONE_PRODUCT = N_("Give exactly one of sku, product_external_id and product_id.")
ONE_CUSTOMER = N_("Give exactly one of customer_id and customer_external_id.")


class ErpLineIn(BaseModel):
    """One line: the product by its SKU, its external id or Guanxi's id (exactly one; checked
    while the order is planned, which costs less than a Python validator per line)."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(None, min_length=1, max_length=64)
    product_external_id: str | None = Field(None, min_length=1, max_length=100)
    product_id: int | None = Field(None, ge=1)
    description: str = Field("", max_length=200, description="Default: the product's name")
    quantity: Decimal = Field(gt=0, max_digits=15, decimal_places=3)
    unit_price: Money = Field(ge=0, max_digits=16, decimal_places=2)
    unit_cost: Money | None = Field(
        None, ge=0, max_digits=16, decimal_places=2, description="Default: the product's cost"
    )
    discount: Money = Field(
        Decimal("0"), ge=0, max_digits=16, decimal_places=2, description="Money off the line"
    )


class ErpOrderIn(BaseModel):
    """An order as a shop or ERP system sends it; Guanxi computes the totals from the lines.
    The customer is given by ``customer_id`` or ``customer_external_id``, exactly one."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int | None = Field(None, ge=1)
    customer_external_id: str | None = Field(None, min_length=1, max_length=100)
    channel: Channel = "web"
    status: ErpStatus = "confirmed"
    ordered_at: AwareDatetime
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    notes: str = Field("", max_length=10_000)
    lines: list[ErpLineIn] = Field(min_length=1, max_length=1000)


class ErpBulkOrderIn(ErpOrderIn):
    """An order of a bulk request, carrying its own external id."""

    external_id: str = Field(min_length=1, max_length=100)


class ErpBulkIn(BaseModel):
    """Up to 10,000 orders with up to 50,000 lines in all. Items are checked one by one: a
    refused item is reported and the others are written."""

    orders: list[Any] = Field(
        description="Orders shaped like the PUT body (ErpOrderIn), each with its external_id"
    )


class ErpLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    line_no: int
    product_id: int | None
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    discount: Decimal


class ErpOrderRead(BaseModel):
    """An order as stored, with the totals Guanxi computed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    external_id: str | None
    customer_id: int
    channel: str
    status: str
    ordered_at: datetime
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    cost_total: Decimal
    refunded: Decimal
    notes: str
    owner_id: int | None
    team_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[ErpLineRead]


class Refused(BaseModel):
    """One item a bulk request did not write: its place in the request, its external id (when it
    had one), the field at fault (``lines[2].quantity``) and why."""

    index: int
    external_id: str | None
    field: str
    reason: str


class ErpBulkResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    refused: int
    refusals: list[Refused]


def field_path(loc: tuple[int | str, ...]) -> str:
    """Pydantic's error location as clients write it: ``lines[2].quantity``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "body"
