"""Customers, products and order bodies for the ERP upsert tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerCreate
from guanxi.sales.models import Product
from tests.conftest import Person


def customer(
    session: Session, owner: Person, name: str, external_id: str | None = None
) -> Customer:
    """A customer owned by ``owner``, made through the customer service."""
    return customer_service.create(
        session=session,
        actor=owner.user,
        customer_in=CustomerCreate(name=name, external_id=external_id),
    )


def products(session: Session) -> dict[str, Product]:
    made = {
        "TEA-1": Product(sku="TEA-1", name="龙井 250g", list_price=Decimal("88.00"),
                         unit_cost=Decimal("41.50"), external_id="erp-tea-1"),
        "CUP-2": Product(sku="CUP-2", name="Tea cup", list_price=Decimal("19.90"),
                         unit_cost=Decimal("6.33")),
    }  # fmt: skip
    session.add_all(made.values())
    session.flush()
    return made


def order_body(customer_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "channel": "web",
        "status": "confirmed",
        "ordered_at": "2026-11-20T10:30:00+08:00",
        "currency": "CNY",
        "notes": "shop order",
        "lines": [
            {"sku": "TEA-1", "quantity": "3", "unit_price": "88.00", "discount": "10.00"},
            {"product_external_id": "erp-tea-1", "quantity": "1", "unit_price": "88.00"},
            {"sku": "CUP-2", "quantity": "2.5", "unit_price": "19.90", "unit_cost": "6.00"},
        ],
    }
    body.update(changes)
    return body


def dump(session: Session, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, in id order: what "nothing changed" is checked against."""
    session.expire_all()
    return [tuple(r) for r in session.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def audit_count(session: Session) -> int:
    return len(session.execute(text("SELECT id FROM audit_log")).all())


def customer_by_name(session: Session, name: str) -> Customer:
    return session.scalars(select(Customer).where(Customer.name == name)).one()
