"""Shared helpers for the follow-up tests: customers through the customer service, follow-ups
through the API the way a client plans them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import RoleCreate
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from tests.conftest import People, Person


def customer(session: Session, owner: User, name: str = "杭州青山茶业") -> int:
    made = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name=name)
    )
    session.flush()
    return made.id


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def plan(
    client: TestClient, headers: dict[str, str], customer_id: int, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "due_at": in_hours(2),
        "subject": "回访新茶订单",
        "note": "问一下春茶的样品是否收到",
    }
    body.update(fields)
    reply = client.post("/api/v1/follow-ups", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def without_interactions(session: Session, people: People) -> Person:
    """A user whose role may read customers but not their touchpoints."""
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="customer_viewer",
            label="Customer viewer",
            record_scope="all",
            permissions={"customers": ["read"]},
        ),
    )
    return people.user("customer_viewer")
