"""Shared helpers for the interaction tests: customers and contacts made through the customer
services, interactions logged through the API the way a client logs them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.auth.models import User
from guanxi.customers import contacts
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import ContactCreate, CustomerCreate


def customer(
    session: Session,
    owner: User,
    name: str = "杭州青山茶业",
    *,
    phone: str | None = None,
    organisation: bool = False,
) -> int:
    made = customer_service.create(
        session=session,
        actor=owner,
        customer_in=CustomerCreate(
            name=name,
            kind="organisation" if organisation else "person",
            phones=[phone] if phone else [],  # type: ignore[list-item]
        ),
    )
    session.flush()
    return made.id


def contact(session: Session, owner: User, organisation_id: int, name: str = "王经理") -> int:
    made = contacts.create(
        session=session,
        actor=owner,
        contact_in=ContactCreate(organisation_id=organisation_id, name=name),
    )
    session.flush()
    return made.id


def log_body(customer_id: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "channel": "phone",
        "direction": "inbound",
        "subject": "询问新茶到货",
        "notes": "客户想订明前龙井五斤。",
        "outcome": "interested",
    }
    body.update(fields)
    return body


def log_interaction(
    client: TestClient, headers: dict[str, str], customer_id: int, **fields: Any
) -> dict[str, Any]:
    reply = client.post(
        "/api/v1/interactions", json=log_body(customer_id, **fields), headers=headers
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def audit_actions(session: Session, interaction_id: int) -> list[str]:
    """What the audit log says happened to one interaction, oldest first."""
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(
                AuditEntry.entity_type == "interaction",
                AuditEntry.entity_id == str(interaction_id),
            )
            .order_by(AuditEntry.id)
        )
    )
