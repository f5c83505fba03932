"""Order lines from what a user or client sent: products looked up, their list price and unit
cost filled in where none was given, each line checked, and the order's totals summed through
the one set of money rules (``money``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.sales.models import Order, OrderLine, Product
from guanxi.sales.orders.money import ZERO, LineAmounts, line_amounts, money, order_totals
from guanxi.sales.orders.schemas import DISCOUNT_TOO_BIG, OrderLineIn

_LINE_REFUSED = N_("Line {line} of the order is not valid.")


def build(session: Session, lines_in: Sequence[OrderLineIn]) -> list[OrderLine]:
    """New lines, numbered from 1; refuses the first bad one with a field error naming it."""
    built = []
    for index, line_in in enumerate(lines_in):
        product = _product(session, index, line_in)
        unit_price = line_in.unit_price
        unit_cost = line_in.unit_cost
        if product is not None:
            unit_price = product.list_price if unit_price is None else unit_price
            unit_cost = product.unit_cost if unit_cost is None else unit_cost
        if unit_price is None:
            _refuse(index, "unit_price", N_("Give a unit price or choose a product."))
        if not (line_in.description or line_in.sku or product):
            _refuse(index, "description", N_("Describe the line or choose a product."))
        assert unit_price is not None
        if line_in.discount > money(line_in.quantity * unit_price):
            _refuse(index, "discount", DISCOUNT_TOO_BIG)
        built.append(
            OrderLine(
                line_no=index + 1,
                product_id=product.id if product else None,
                sku=line_in.sku or (product.sku if product else ""),
                description=line_in.description or (product.name if product else ""),
                quantity=line_in.quantity,
                unit_price=unit_price,
                unit_cost=unit_cost if unit_cost is not None else ZERO,
                discount=line_in.discount,
                shipped_quantity=0,
                returned_quantity=0,
            )
        )
    return built


def _product(session: Session, index: int, line_in: OrderLineIn) -> Product | None:
    if line_in.product_id is not None:
        product = session.get(Product, line_in.product_id)
        if product is None:
            _refuse(index, "product_id", N_("No such product."))
        return product
    if line_in.sku:
        # a SKU typed into the form finds its product, so its price and cost apply
        return session.scalar(select(Product).where(Product.sku == line_in.sku))
    return None


def _refuse(index: int, field: str, reason: str) -> None:
    raise InvalidInput(
        _LINE_REFUSED, errors=[FieldError(f"lines.{index}.{field}", reason)], line=index + 1
    )


def amounts(line: OrderLine) -> LineAmounts:
    return line_amounts(line.quantity, line.unit_price, line.unit_cost, line.discount)


def apply_totals(order: Order) -> None:
    """Set the order's subtotal, discount, total and cost from its lines."""
    totals = order_totals(amounts(line) for line in order.lines)
    order.subtotal = totals.subtotal
    order.discount_total = totals.discount_total
    order.total = totals.total
    order.cost_total = totals.cost_total
