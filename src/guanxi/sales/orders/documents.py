"""Invoices (开票), shipments (发货) and returns recorded against an order, partial ones included,
and what each does to the order's money and status.

- An invoice covers part or all of what is left to invoice; never more.
- A shipment sends part or all of what is left to ship per line; never more.
- A return takes back shipped units: the refund and the cost that comes back follow
  ``money.return_amounts``, so returning a line piece by piece gives back exactly its amount.
  Money already invoiced beyond what the customer now owes is cancelled by a credit note (a
  negative invoice).

Invoices and shipments are visible to whoever may see their order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.concurrency import ensure_version
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import Page, paginate
from guanxi.sales import numbering
from guanxi.sales.models import (
    Invoice,
    Order,
    OrderLine,
    OrderReturn,
    OrderReturnLine,
    Shipment,
    ShipmentLine,
)
from guanxi.sales.orders import lines as order_lines
from guanxi.sales.orders import service
from guanxi.sales.orders.money import ZERO, return_amounts
from guanxi.sales.orders.schemas import DocumentLineIn, InvoiceCreate, ReturnCreate, ShipmentCreate

INVOICEABLE = ("confirmed", "invoiced", "shipped", "completed")
SHIPPABLE = ("confirmed", "invoiced")
RETURNABLE = ("confirmed", "invoiced", "shipped", "completed")


def _today() -> date:
    return utcnow().date()


def _numbered(session: Session, record: Invoice | Shipment, prefix: str, day: date) -> None:
    """Give a new invoice or shipment its number, built from its id like order numbers."""
    record.number = f"tmp-{uuid.uuid4().hex}"
    session.add(record)
    session.flush()
    record.number = numbering.document_number(prefix, day, record.id)


# ---------------------------------------------------------------- invoices


def record_invoice(
    *,
    session: Session,
    actor: User,
    order: Order,
    invoice_in: InvoiceCreate,
    expected_version: int | None = None,
) -> Invoice:
    """Invoice ``invoice_in.amount`` (all that is left without one) of the order."""
    ensure_version(order.version, expected_version)
    if order.status not in INVOICEABLE:
        raise Conflict(N_("An order {status} cannot be invoiced."), status=order.status)
    left = service.left_to_invoice(order)
    amount = invoice_in.amount if invoice_in.amount is not None else left
    if left == ZERO:
        raise InvalidInput(
            N_("Everything on this order is invoiced already."),
            errors=[FieldError("amount", N_("Nothing is left to invoice."))],
        )
    if amount > left:
        raise InvalidInput(
            N_("Only {left} of the order is left to invoice, not {amount}."),
            errors=[FieldError("amount", N_("More than is left to invoice."))],
            left=left,
            amount=amount,
        )
    issued_on = invoice_in.issued_on or _today()
    invoice = Invoice(
        order_id=order.id,
        kind="invoice",
        amount=amount,
        issued_on=issued_on,
        tax_number=invoice_in.tax_number,
        notes=invoice_in.notes,
        created_by_id=actor.id,
    )
    _numbered(session, invoice, numbering.INVOICE, issued_on)
    before = order.status
    order.invoiced_total += amount
    service.follow_progress(order)
    service.changed_status(session, order, before)
    return invoice


def credit_note(
    session: Session, actor: User, order: Order, amount: Decimal, *, notes: str = ""
) -> Invoice:
    """A negative invoice taking ``amount`` of what was invoiced back (the caller saves the
    order)."""
    issued_on = _today()
    note = Invoice(
        order_id=order.id,
        kind="credit_note",
        amount=-amount,
        issued_on=issued_on,
        notes=notes,
        created_by_id=actor.id,
    )
    _numbered(session, note, numbering.CREDIT_NOTE, issued_on)
    order.invoiced_total -= amount
    return note


# ---------------------------------------------------------------- shipments


def record_shipment(
    *,
    session: Session,
    actor: User,
    order: Order,
    shipment_in: ShipmentCreate,
    expected_version: int | None = None,
) -> Shipment:
    """Ship some or all of what is left to ship of the order's lines."""
    ensure_version(order.version, expected_version)
    if order.status not in SHIPPABLE:
        raise Conflict(N_("An order {status} cannot be shipped."), status=order.status)
    wanted = _quantities(order, shipment_in.lines)
    for index, (line, quantity) in wanted.items():
        left = line.quantity - line.shipped_quantity
        if quantity > left:
            raise InvalidInput(
                N_("Line {line} has {left} left to ship, not {quantity}."),
                errors=[FieldError(f"lines.{index}.quantity", N_("More than is left to ship."))],
                line=line.line_no,
                left=left.normalize(),
                quantity=quantity.normalize(),
            )
    shipped_on = shipment_in.shipped_on or _today()
    shipment = Shipment(
        order_id=order.id,
        shipped_on=shipped_on,
        carrier=shipment_in.carrier,
        tracking_number=shipment_in.tracking_number,
        notes=shipment_in.notes,
        created_by_id=actor.id,
        lines=[ShipmentLine(order_line_id=line.id, quantity=q) for line, q in wanted.values()],
    )
    _numbered(session, shipment, numbering.SHIPMENT, shipped_on)
    for line, quantity in wanted.values():
        line.shipped_quantity += quantity
    before = order.status
    service.follow_progress(order)
    service.changed_status(session, order, before)
    return shipment


def _quantities(
    order: Order, lines_in: Sequence[DocumentLineIn]
) -> dict[int, tuple[OrderLine, Decimal]]:
    """Posted lines by their position, each with its order line; the same line twice adds up
    (kept at its first position, so an error names the row the user filled first)."""
    by_id = {line.id: line for line in order.lines}
    first: dict[int, int] = {}
    wanted: dict[int, tuple[OrderLine, Decimal]] = {}
    for index, line_in in enumerate(lines_in):
        line = by_id.get(line_in.order_line_id)
        if line is None:
            raise InvalidInput(
                N_("Line {id} is not a line of order {number}."),
                errors=[FieldError(f"lines.{index}.order_line_id", N_("Not on this order."))],
                id=line_in.order_line_id,
                number=order.number,
            )
        at = first.setdefault(line.id, index)
        before = wanted[at][1] if at in wanted else Decimal(0)
        wanted[at] = (line, before + line_in.quantity)
    return wanted


# ---------------------------------------------------------------- returns


def record_return(
    *,
    session: Session,
    actor: User,
    order: Order,
    return_in: ReturnCreate,
    expected_version: int | None = None,
) -> OrderReturn:
    """Take back shipped units: refund them, give back their cost, and credit what was
    invoiced beyond what the customer now owes."""
    ensure_version(order.version, expected_version)
    if order.status not in RETURNABLE:
        raise Conflict(N_("An order {status} cannot take returns."), status=order.status)
    wanted = _quantities(order, return_in.lines)
    refund_total = cost_back_total = ZERO
    return_lines = []
    for index, (line, quantity) in wanted.items():
        left = line.shipped_quantity - line.returned_quantity
        if quantity > left:
            raise InvalidInput(
                N_("Line {line} has {left} shipped and not returned, not {quantity}."),
                errors=[
                    FieldError(f"lines.{index}.quantity", N_("More than was shipped and kept."))
                ],
                line=line.line_no,
                left=left.normalize(),
                quantity=quantity.normalize(),
            )
        refund, cost_back = return_amounts(
            line.quantity,
            order_lines.amounts(line).net,
            line.unit_cost,
            already_returned=line.returned_quantity,
            returned=quantity,
        )
        line.returned_quantity += quantity
        refund_total += refund
        cost_back_total += cost_back
        return_lines.append(
            OrderReturnLine(order_line_id=line.id, quantity=quantity, refund=refund)
        )
    returned = OrderReturn(
        order_id=order.id,
        returned_on=return_in.returned_on or _today(),
        reason=return_in.reason,
        refund=refund_total,
        created_by_id=actor.id,
        lines=return_lines,
    )
    session.add(returned)
    before = order.status
    order.refunded += refund_total
    order.cost_total -= cost_back_total
    over_invoiced = order.invoiced_total - (order.total - order.refunded)
    if over_invoiced > ZERO:
        credit_note(session, actor, order, over_invoiced, notes=return_in.reason)
    if service.fully_shipped(order) and all(
        line.returned_quantity >= line.quantity for line in order.lines
    ):
        order.status = "returned"
    else:
        service.follow_progress(order)
    service.changed_status(session, order, before)
    return returned


# ---------------------------------------------------------------- reading


def invoices_of(session: Session, order: Order) -> list[Invoice]:
    return list(
        session.scalars(select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id))
    )


def shipments_of(session: Session, order: Order) -> list[Shipment]:
    stmt = select(Shipment).where(Shipment.order_id == order.id).order_by(Shipment.id)
    return list(session.scalars(stmt))


def returns_of(session: Session, order: Order) -> list[OrderReturn]:
    stmt = select(OrderReturn).where(OrderReturn.order_id == order.id).order_by(OrderReturn.id)
    return list(session.scalars(stmt))


def _visible(model: Any, actor: User) -> Any:
    return restrict(select(model).join(Order, Order.id == model.order_id), Order, actor)


def get_invoice(*, session: Session, actor: User, invoice_id: int) -> Invoice:
    """An invoice of an order the actor may see."""
    invoice = session.scalars(_visible(Invoice, actor).where(Invoice.id == invoice_id)).first()
    if invoice is None:
        raise NotFound(N_("Record {id} was not found."), id=invoice_id)
    return invoice


def get_shipment(*, session: Session, actor: User, shipment_id: int) -> Shipment:
    """A shipment of an order the actor may see."""
    stmt = _visible(Shipment, actor).where(Shipment.id == shipment_id)
    shipment = session.scalars(stmt).first()
    if shipment is None:
        raise NotFound(N_("Record {id} was not found."), id=shipment_id)
    return shipment


def list_invoices(
    *,
    session: Session,
    actor: User,
    order_id: int | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Invoice]:
    """Invoices and credit notes of the orders ``actor`` may see, newest first."""
    stmt = _visible(Invoice, actor)
    if order_id is not None:
        stmt = stmt.where(Invoice.order_id == order_id)
    return paginate(session, stmt, Invoice.id, limit=limit, cursor=cursor, descending=True)


def list_shipments(
    *,
    session: Session,
    actor: User,
    order_id: int | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Shipment]:
    """Shipments of the orders ``actor`` may see, newest first."""
    stmt = _visible(Shipment, actor)
    if order_id is not None:
        stmt = stmt.where(Shipment.order_id == order_id)
    return paginate(session, stmt, Shipment.id, limit=limit, cursor=cursor, descending=True)
