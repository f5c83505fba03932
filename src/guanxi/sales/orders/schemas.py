"""API shapes for orders, their lines, invoices, shipments and returns.

Money is ``Decimal`` in and out (JSON strings such as ``"59.97"``), never float. Prices and
discounts have at most two decimals (the columns' scale), quantities at most three.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from guanxi.errors import N_
from guanxi.sales.models import ORDER_CHANNELS, ORDER_STATUSES
from guanxi.sales.orders.money import money

Channel = Literal[ORDER_CHANNELS]  # type: ignore[valid-type]
Status = Literal[ORDER_STATUSES]  # type: ignore[valid-type]
Money = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]

DISCOUNT_TOO_BIG = N_("The discount cannot be more than quantity x unit price.")


class OrderLineIn(BaseModel):
    """One line to sell. Without ``unit_price`` or ``unit_cost`` the product's list price and
    unit cost apply; a line without a product needs its price and a description or SKU."""

    model_config = ConfigDict(extra="forbid")

    product_id: int | None = None
    sku: str = Field(default="", max_length=64)
    description: str = Field(default="", max_length=200)
    quantity: Quantity
    unit_price: Money | None = None
    unit_cost: Money | None = None
    discount: Money = Decimal("0")

    @model_validator(mode="after")
    def _discount_within_price(self) -> OrderLineIn:
        if self.unit_price is not None and self.discount > money(self.quantity * self.unit_price):
            raise ValueError(DISCOUNT_TOO_BIG)
        return self


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int
    channel: Channel = "store"
    ordered_at: AwareDatetime | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    notes: str = ""
    opportunity_id: int | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    owner_id: int | None = None
    status: Literal["draft", "confirmed"] = "draft"
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1000)


class OrderUpdate(BaseModel):
    """A change to a draft order; fields left out stay as they are, ``lines`` replaces all."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel | None = None
    ordered_at: AwareDatetime | None = None
    notes: str | None = None
    owner_id: int | None = None
    lines: list[OrderLineIn] | None = Field(default=None, min_length=1, max_length=1000)


class OrderCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class OrderLineRead(BaseModel):
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
    amount: Decimal  # what the customer pays for the line (quantity x price - discount)
    shipped_quantity: Decimal
    returned_quantity: Decimal


class OrderRead(BaseModel):
    id: int
    number: str
    external_id: str | None
    customer_id: int
    opportunity_id: int | None
    channel: str
    status: str
    ordered_at: datetime
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    invoiced_total: Decimal
    refunded: Decimal
    net_revenue: Decimal  # total - refunded
    cost_total: Decimal
    margin: Decimal  # net revenue - cost
    left_to_invoice: Decimal
    fully_shipped: bool
    notes: str
    cancel_reason: str
    owner_id: int | None
    team_id: int | None
    confirmed_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    lines: list[OrderLineRead]


class OrderSummary(BaseModel):
    """An order in a list: the header without its lines."""

    id: int
    number: str
    customer_id: int
    channel: str
    status: str
    ordered_at: datetime
    currency: str
    total: Decimal
    invoiced_total: Decimal
    refunded: Decimal
    owner_id: int | None


class InvoiceCreate(BaseModel):
    """An invoice for part or all of what is left to invoice (all of it without ``amount``)."""

    model_config = ConfigDict(extra="forbid")

    amount: PositiveMoney | None = None
    issued_on: date | None = None
    tax_number: str = Field(default="", max_length=40)
    notes: str = ""


class InvoiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    number: str
    kind: str
    amount: Decimal
    issued_on: date
    tax_number: str
    notes: str
    created_at: datetime


class DocumentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_line_id: int
    quantity: Quantity


class ShipmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[DocumentLineIn] = Field(min_length=1, max_length=1000)
    shipped_on: date | None = None
    carrier: str = Field(default="", max_length=80)
    tracking_number: str = Field(default="", max_length=80)
    notes: str = ""


class ShipmentLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_line_id: int
    quantity: Decimal


class ShipmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    number: str
    shipped_on: date
    carrier: str
    tracking_number: str
    notes: str
    created_at: datetime
    lines: list[ShipmentLineRead]


class ReturnCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[DocumentLineIn] = Field(min_length=1, max_length=1000)
    returned_on: date | None = None
    reason: str = Field(default="", max_length=2000)


class ReturnLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_line_id: int
    quantity: Decimal
    refund: Decimal


class ReturnRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    returned_on: date
    reason: str
    refund: Decimal
    created_at: datetime
    lines: list[ReturnLineRead]


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None = None


class CustomerSalesTotals(BaseModel):
    """A customer's lifetime figures over orders that count (not drafts, not cancelled)."""

    revenue: Decimal  # sum of total - refunded
    cost: Decimal
    margin: Decimal
    order_count: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    currency: str | None
