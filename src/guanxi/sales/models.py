"""Sales (销售管理, 合同管理): products, the opportunity pipeline with its stage history, orders
with lines, invoices, shipments and returns, and contracts with their expiry reminders.

Money is ``Decimal`` (NUMERIC(18, 2)); quantities are NUMERIC(18, 3) so that goods sold by weight or
length fit. Orders keep their own totals (computed by the service from the lines, never typed in),
because the analytics core reads the order table as the transaction log.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from guanxi.audit.tracking import Audited
from guanxi.auth.visibility import Owned
from guanxi.db import Base, BigId, Timestamped, Versioned, utcnow

if TYPE_CHECKING:
    from guanxi.customers.models import Customer

Quantity = Numeric(18, 3)
ZERO = Decimal("0.00")


class Product(Timestamped, Versioned, Audited, Base):
    """Something the company sells, with its list price and unit cost (for margin)."""

    __tablename__ = "products"
    __audit_entity__ = "product"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(120), default="", index=True)
    list_price: Mapped[Decimal] = mapped_column(default=ZERO)
    unit_cost: Mapped[Decimal] = mapped_column(default=ZERO)
    unit: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)


class PipelineStage(Timestamped, Versioned, Audited, Base):
    """A stage of the opportunity pipeline; an administrator adds, renames and reorders them.

    ``outcome`` says what reaching the stage means: still ``open``, ``won`` or ``lost``.
    """

    __tablename__ = "pipeline_stages"
    __audit_entity__ = "pipeline_stage"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
    probability: Mapped[int] = mapped_column(default=0)  # default win probability, percent
    outcome: Mapped[str] = mapped_column(String(8), default="open")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Opportunity(Owned, Timestamped, Versioned, Audited, Base):
    """A chance to sell (销售机会) to a customer, moving through the pipeline stages."""

    __tablename__ = "opportunities"
    __resource__ = "opportunities"
    __audit_entity__ = "opportunity"
    __table_args__ = (
        Index("ix_opportunities_stage_id_expected_close", "stage_id", "expected_close_date"),
        Index("ix_opportunities_created_at", "created_at", "id"),
        # covering indexes for the funnel analysis: the period's cohort (by creation) and its
        # closed opportunities are counted from the index alone, without reading the rows
        Index(
            "ix_opportunities_funnel_created",
            "created_at",
            "furthest_stage_position",
            "stage_id",
            "amount",
            "owner_id",
            "team_id",
            "product_id",
            "deleted_at",
        ),
        Index(
            "ix_opportunities_funnel_closed",
            "closed_at",
            "stage_id",
            "amount",
            "owner_id",
            "team_id",
            "product_id",
            "deleted_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(default=ZERO)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    probability: Mapped[int] = mapped_column(default=0)  # percent
    stage_id: Mapped[int] = mapped_column(BigId, ForeignKey("pipeline_stages.id"))
    source: Mapped[str] = mapped_column(String(60), default="")
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    lost_reason: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the highest position among open stages the opportunity ever reached (a won one counts as
    # through them all), kept by every stage move so the funnel counts without reading history
    furthest_stage_position: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column()
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    deleted_at: Mapped[datetime | None] = mapped_column()

    stage: Mapped[PipelineStage] = relationship(lazy="joined")
    customer: Mapped[Customer] = relationship(lazy="raise_on_sql")
    product: Mapped[Product | None] = relationship()


def seconds_between(entered: datetime | None, left: datetime) -> int | None:
    """Whole seconds an opportunity spent in a stage it entered at ``entered`` and left at
    ``left``; what every writer of a stage change stores as ``seconds_in_stage``."""
    return None if entered is None else round((left - entered).total_seconds())


class OpportunityStageChange(Base):
    """One move of an opportunity between stages: who moved it and when (append-only)."""

    __tablename__ = "opportunity_stage_changes"
    __table_args__ = (
        Index("ix_opportunity_stage_changes_opportunity", "opportunity_id", "changed_at"),
        Index("ix_opportunity_stage_changes_changed_at", "changed_at"),
        # time in stage for the funnel, read from the index alone
        Index(
            "ix_opportunity_stage_changes_time_in_stage",
            "opportunity_id",
            "from_stage_id",
            "seconds_in_stage",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="CASCADE")
    )
    from_stage_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("pipeline_stages.id"), index=True
    )
    to_stage_id: Mapped[int] = mapped_column(BigId, ForeignKey("pipeline_stages.id"), index=True)
    changed_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when the opportunity entered ``from_stage``: time in stage is one subtraction, no window
    from_stage_entered_at: Mapped[datetime | None] = mapped_column()
    # changed_at - from_stage_entered_at, kept at write time: the funnel averages it over a
    # million rows without parsing two timestamps per row
    seconds_in_stage: Mapped[int | None] = mapped_column()


ORDER_STATUSES = (
    "draft",
    "confirmed",
    "invoiced",
    "shipped",
    "completed",
    "cancelled",
    "returned",
)
ORDER_CHANNELS = ("store", "web", "phone", "distributor", "field", "marketplace", "other")


class Order(Owned, Timestamped, Versioned, Audited, Base):
    """A customer's order (订单): the transaction log the analytics core reads.

    ``total`` is what the customer owes for the lines; ``refunded`` what went back on returns and
    cancellations; ``cost_total`` the cost of the goods that stayed sold. Net revenue is
    ``total - refunded`` and margin is net revenue minus ``cost_total``.
    """

    __tablename__ = "orders"
    __resource__ = "orders"
    __audit_entity__ = "order"
    __table_args__ = (
        Index("ix_orders_customer_ordered_at", "customer_id", "ordered_at"),
        Index("ix_orders_ordered_at", "ordered_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="RESTRICT"))
    opportunity_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20), default="store")
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    ordered_at: Mapped[datetime] = mapped_column(default=utcnow)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    subtotal: Mapped[Decimal] = mapped_column(default=ZERO)  # quantity x unit price
    discount_total: Mapped[Decimal] = mapped_column(default=ZERO)
    total: Mapped[Decimal] = mapped_column(default=ZERO)  # subtotal - discounts
    cost_total: Mapped[Decimal] = mapped_column(default=ZERO)
    invoiced_total: Mapped[Decimal] = mapped_column(default=ZERO)
    refunded: Mapped[Decimal] = mapped_column(default=ZERO)
    notes: Mapped[str] = mapped_column(Text, default="")
    confirmed_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    # server default: bulk loaders (COPY) that do not know the column still insert rows
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.line_no",
    )
    customer: Mapped[Customer] = relationship(lazy="raise_on_sql")


class OrderLine(Base):
    """One product on an order: quantity x unit price less discount; unit cost kept for margin."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column()
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column()
    unit_cost: Mapped[Decimal] = mapped_column(default=ZERO)
    discount: Mapped[Decimal] = mapped_column(default=ZERO)  # money off the whole line
    shipped_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    returned_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))

    order: Mapped[Order] = relationship(back_populates="lines")


class Invoice(Timestamped, Audited, Base):
    """An invoice (开票) against an order; partial invoices add up, a credit note is negative."""

    __tablename__ = "invoices"
    __audit_entity__ = "invoice"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="invoice")  # invoice | credit_note
    amount: Mapped[Decimal] = mapped_column()
    issued_on: Mapped[date] = mapped_column(Date)
    tax_number: Mapped[str] = mapped_column(String(40), default="")  # the buyer's 税号
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )


class Shipment(Timestamped, Audited, Base):
    """A shipment (发货) of some or all of an order's lines."""

    __tablename__ = "shipments"
    __audit_entity__ = "shipment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[str] = mapped_column(String(40), unique=True)
    shipped_on: Mapped[date] = mapped_column(Date)
    carrier: Mapped[str] = mapped_column(String(80), default="")
    tracking_number: Mapped[str] = mapped_column(String(80), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )

    lines: Mapped[list[ShipmentLine]] = relationship(cascade="all, delete-orphan")


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("order_lines.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Quantity)


class OrderReturn(Timestamped, Audited, Base):
    """Goods coming back on a shipped order, with the money refunded for them."""

    __tablename__ = "order_returns"
    __audit_entity__ = "order_return"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="RESTRICT"), index=True
    )
    returned_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    refund: Mapped[Decimal] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )

    lines: Mapped[list[OrderReturnLine]] = relationship(cascade="all, delete-orphan")


class OrderReturnLine(Base):
    __tablename__ = "order_return_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    return_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("order_returns.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("order_lines.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    refund: Mapped[Decimal] = mapped_column()


CONTRACT_STATUSES = ("draft", "active", "expiring", "expired", "terminated", "renewed")


class Contract(Owned, Timestamped, Versioned, Audited, Base):
    """A contract (合同) with a customer; its status follows its dates, kept current by a job."""

    __tablename__ = "contracts"
    __resource__ = "contracts"
    __audit_entity__ = "contract"
    __table_args__ = (Index("ix_contracts_status_end_date", "status", "end_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    our_party: Mapped[str] = mapped_column(String(200), default="")  # our signing entity
    counterparty_signatory: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal] = mapped_column(default=ZERO)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # days before the end at which the owner is warned; None means the company default
    warning_days: Mapped[int | None] = mapped_column()
    renewed_from_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contracts.id", ondelete="SET NULL"), index=True
    )
    opportunity_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    terminated_on: Mapped[date | None] = mapped_column(Date)
    termination_reason: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    deleted_at: Mapped[datetime | None] = mapped_column()

    customer: Mapped[Customer] = relationship(lazy="raise_on_sql")


class ContractReminder(Base):
    """One warning sent about a contract: at most one per contract, kind and end date, so a
    restarted job or a second worker cannot send it twice (the unique key refuses the copy)."""

    __tablename__ = "contract_reminders"
    __table_args__ = (UniqueConstraint("contract_id", "kind", "end_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # expiring | expired
    end_date: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column()


class OwnedItem(Timestamped, Versioned, Audited, Base):
    """A product the customer owns (the installed base): what service staff see when a customer
    calls about it (model, serial number, purchase date, retailer) and what a repair is about.
    Made from an order's line or registered by hand (bought from a retailer, a gift, a warranty
    card)."""

    __tablename__ = "owned_items"
    __audit_entity__ = "owned_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # upper-cased at write time so a partial serial is found with one case-sensitive LIKE
    serial_number: Mapped[str] = mapped_column(String(80), default="", index=True)
    model: Mapped[str] = mapped_column(String(200), default="")
    purchased_on: Mapped[date | None] = mapped_column(Date)
    retailer: Mapped[str] = mapped_column(String(200), default="")
    warranty_until: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
