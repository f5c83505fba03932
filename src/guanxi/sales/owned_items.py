"""The installed base: the products customers own (型号, 序列号, 购买日期, 经销商), registered
by hand or made from an order's lines, and found again by any fragment of a serial number when the
customer calls about one.

Owned items carry no owner of their own: who may see one is who may see its customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.errors import N_, FieldError, InvalidInput, NotFound
from guanxi.sales.models import Order, OwnedItem, Product

# a shorter fragment matches too large a share of serials to help anyone on the phone
MIN_SERIAL_FRAGMENT = 3


def normal_serial(text: str) -> str:
    """A serial number as stored: upper case, without the blanks people type around it."""
    return "".join(text.split()).upper()


class OwnedItemCreate(BaseModel):
    """A product a customer owns, as a form or a script registers it."""

    product_id: int | None = None
    order_id: int | None = None
    serial_number: str = Field(default="", max_length=80)
    model: str = Field(default="", max_length=200)
    purchased_on: date | None = None
    retailer: str = Field(default="", max_length=200)
    warranty_until: date | None = None
    notes: str = ""

    @field_validator("serial_number")
    @classmethod
    def _serial(cls, value: str) -> str:
        return normal_serial(value)


def register(
    *, session: Session, actor: User, customer_id: int, item_in: OwnedItemCreate
) -> OwnedItem:
    """Record that a customer the actor may see owns a product."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    product = session.get(Product, item_in.product_id) if item_in.product_id else None
    if item_in.product_id is not None and product is None:
        raise InvalidInput(
            N_("Product {id} was not found."),
            errors=[FieldError("product_id", N_("No such product."))],
            id=item_in.product_id,
        )
    if item_in.order_id is not None:
        order = session.get(Order, item_in.order_id)
        if order is None or order.customer_id != customer.id:
            raise InvalidInput(
                N_("The order is not one of this customer's."),
                errors=[FieldError("order_id", N_("Not this customer's order."))],
            )
    model = item_in.model.strip() or (product.name if product else "")
    if not model and not item_in.serial_number:
        raise InvalidInput(
            N_("Give the model or the serial number."),
            errors=[FieldError("model", N_("This field is required."))],
        )
    item = OwnedItem(
        customer_id=customer.id,
        product_id=item_in.product_id,
        order_id=item_in.order_id,
        serial_number=item_in.serial_number,
        model=model,
        purchased_on=item_in.purchased_on,
        retailer=item_in.retailer.strip(),
        warranty_until=item_in.warranty_until,
        notes=item_in.notes,
    )
    session.add(item)
    session.flush()
    return item


def from_order(
    *, session: Session, actor: User, order: Order, retailer: str = ""
) -> list[OwnedItem]:
    """Add the products of an order's lines to its customer's installed base, one item per
    product (serial numbers are filled in later, when the customer or a technician reads them
    off); products already registered from this order are skipped, so running it twice adds
    nothing."""
    customer = customer_service.get(session=session, actor=actor, customer_id=order.customer_id)
    registered = select(OwnedItem.product_id, OwnedItem.model).where(OwnedItem.order_id == order.id)
    known = {(row.product_id, row.model) for row in session.execute(registered)}
    product_ids = {line.product_id for line in order.lines if line.product_id is not None}
    names = (
        dict(session.execute(select(Product.id, Product.name).where(Product.id.in_(product_ids))))
        if product_ids
        else {}
    )
    made = []
    for line in order.lines:
        named = names.get(line.product_id) if line.product_id is not None else None
        model = (named or line.description or line.sku)[:200]
        if (line.product_id, model) in known:
            continue
        known.add((line.product_id, model))
        item = OwnedItem(
            customer_id=customer.id,
            product_id=line.product_id,
            order_id=order.id,
            model=model,
            purchased_on=order.ordered_at.date(),
            retailer=retailer,
        )
        session.add(item)
        made.append(item)
    session.flush()
    return made


def get(*, session: Session, actor: User, item_id: int) -> OwnedItem:
    """An owned item whose customer the actor may see."""
    item = session.get(OwnedItem, item_id)
    if item is None:
        raise NotFound(N_("Record {id} was not found."), id=item_id)
    customer_service.get(session=session, actor=actor, customer_id=item.customer_id)
    return item


def list_for_customer(
    *, session: Session, actor: User, customer_id: int, limit: int = 50
) -> list[OwnedItem]:
    """What a customer the actor may see owns, latest purchase first."""
    customer_service.get(session=session, actor=actor, customer_id=customer_id)
    stmt = (
        select(OwnedItem)
        .where(OwnedItem.customer_id == customer_id)
        .order_by(OwnedItem.purchased_on.desc().nulls_last(), OwnedItem.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def is_serial_fragment(text: str) -> bool:
    """Whether ``text`` could be part of a serial number: letters, digits and dashes, long
    enough to narrow the installed base."""
    serial = normal_serial(text)
    return len(serial) >= MIN_SERIAL_FRAGMENT and all(
        c.isascii() and (c.isalnum() or c in "-_/.") for c in serial
    )


def search_by_serial(
    *, session: Session, actor: User, fragment: str, limit: int = 20
) -> list[OwnedItem]:
    """Owned items whose serial number holds ``fragment`` (any case, anywhere in it), of live
    customers the actor may see; an exact serial first, then by serial."""
    serial = normal_serial(fragment)
    if not is_serial_fragment(serial):
        return []
    escaped = serial.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = restrict(
        select(OwnedItem)
        .join(Customer, Customer.id == OwnedItem.customer_id)
        .where(
            OwnedItem.serial_number.like(f"%{escaped}%", escape="\\"),
            Customer.deleted_at.is_(None),
            Customer.merged_into_id.is_(None),
        ),
        Customer,
        actor,
    )
    stmt = stmt.order_by(
        (OwnedItem.serial_number != serial), OwnedItem.serial_number, OwnedItem.id
    ).limit(limit)
    return list(session.scalars(stmt))


def product_names(session: Session, items: Sequence[OwnedItem]) -> dict[int, str]:
    """The catalogue names of the items' products, in one query."""
    ids = {i.product_id for i in items if i.product_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Product.id, Product.name).where(Product.id.in_(ids))))
