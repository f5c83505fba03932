"""Shared helpers for the contract tests: customers made through the customer service,
contracts through the API the way a client makes them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate


def customer(session: Session, owner: User, name: str = "杭州青山茶业") -> int:
    made = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name=name)
    )
    session.flush()
    return made.id


def contract_body(customer_id: int, **fields: Any) -> dict[str, Any]:
    today = date.today()
    body: dict[str, Any] = {
        "title": "年度供货合同",
        "customer_id": customer_id,
        "amount": "120000.00",
        "start_date": (today - timedelta(days=300)).isoformat(),
        "end_date": (today + timedelta(days=200)).isoformat(),
        "signed_on": (today - timedelta(days=301)).isoformat(),
    }
    body.update(fields)
    return body


def create_contract(
    client: TestClient, headers: dict[str, str], customer_id: int, **fields: Any
) -> dict[str, Any]:
    reply = client.post(
        "/api/v1/contracts", json=contract_body(customer_id, **fields), headers=headers
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())
