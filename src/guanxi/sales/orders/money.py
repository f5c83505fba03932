"""The money rules of an order, in one place: what a line comes to, what an order totals, and
what a return gives back. The order service, the ERP bulk upsert and the demo all call these, so a
total is the same whichever way an order arrived.

Amounts are rounded to the cent, half up (as invoices in China are), once per line; an order's
totals are sums of rounded lines, so they add up exactly on the invoice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal) -> Decimal:
    """``value`` rounded to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineAmounts:
    """One line's money: ``gross`` is quantity x unit price, ``net`` what the customer pays for
    it after the line's discount, ``cost`` the goods' cost (quantity x unit cost)."""

    gross: Decimal
    discount: Decimal
    net: Decimal
    cost: Decimal


def line_amounts(
    quantity: Decimal, unit_price: Decimal, unit_cost: Decimal, discount: Decimal = ZERO
) -> LineAmounts:
    """A line's money. The caller has checked that quantity > 0, prices >= 0 and
    0 <= discount <= quantity x unit price."""
    gross = money(quantity * unit_price)
    discount = money(discount)
    return LineAmounts(gross, discount, gross - discount, money(quantity * unit_cost))


@dataclass(frozen=True)
class OrderTotals:
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    cost_total: Decimal


def order_totals(lines: Iterable[LineAmounts]) -> OrderTotals:
    subtotal = discount_total = total = cost_total = ZERO
    for line in lines:
        subtotal += line.gross
        discount_total += line.discount
        total += line.net
        cost_total += line.cost
    return OrderTotals(subtotal, discount_total, total, cost_total)


def return_amounts(
    line_quantity: Decimal,
    line_net: Decimal,
    unit_cost: Decimal,
    *,
    already_returned: Decimal,
    returned: Decimal,
) -> tuple[Decimal, Decimal]:
    """(refund, cost that comes back) for ``returned`` more units of a line of which
    ``already_returned`` went back before. The refund is the line's net price per unit (its
    discount spread evenly). Both it and the cost are differences of rounded cumulative amounts,
    so returning a line piece by piece gives back exactly its net amount and cost, to the cent."""
    before = money(line_net * already_returned / line_quantity)
    after = money(line_net * (already_returned + returned) / line_quantity)
    cost_back = money(unit_cost * (already_returned + returned)) - money(
        unit_cost * already_returned
    )
    return after - before, cost_back
