"""Shared helpers for the order tests: products, customers and orders made the way users make
them (customers through the service, orders through the API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.sales.models import Product

_count = 0


def product(session: Session, *, price: str, cost: str, name: str = "绿茶礼盒") -> Product:
    global _count
    _count += 1
    item = Product(
        sku=f"SKU-{_count:04d}",
        name=name,
        list_price=Decimal(price),
        unit_cost=Decimal(cost),
    )
    session.add(item)
    session.flush()
    return item


def customer(session: Session, owner: User, name: str = "杭州青山茶业") -> int:
    made = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name=name)
    )
    session.flush()
    return made.id


def create_order(
    client: TestClient,
    headers: dict[str, str],
    customer_id: int,
    lines: list[dict[str, Any]],
    **fields: Any,
) -> dict[str, Any]:
    reply = client.post(
        "/api/v1/orders",
        json={"customer_id": customer_id, "lines": lines, **fields},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def post(client: TestClient, headers: dict[str, str], path: str, body: Any = None) -> Any:
    return client.post(path, json=body, headers=headers)
