"""Shared helpers for the web event tests: customers made through the customer service, events
as the shop's snippet or backend sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate


def customer(
    session: Session, owner: User, name: str = "杭州青山茶业", external_id: str | None = None
) -> int:
    made = customer_service.create(
        session=session,
        actor=owner,
        customer_in=CustomerCreate(name=name, external_id=external_id),
    )
    session.flush()
    return made.id


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def page_view(
    visitor_id: str = "v-1",
    session_id: str = "s-1",
    *,
    at: datetime | None = None,
    url: str = "https://shop.example.cn/",
    **fields: Any,
) -> dict[str, Any]:
    """One page view as JSON, the way the snippet sends it."""
    event: dict[str, Any] = {
        "kind": "page_view",
        "occurred_at": (at or minutes_ago(5)).isoformat(),
        "visitor_id": visitor_id,
        "session_id": session_id,
        "url": url,
        "title": "青山茶业 - 首页",
    }
    event.update(fields)
    return event


def product_view(
    visitor_id: str = "v-1",
    session_id: str = "s-1",
    *,
    at: datetime | None = None,
    product_id: int = 42,
    **fields: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "product_view",
        "occurred_at": (at or minutes_ago(5)).isoformat(),
        "visitor_id": visitor_id,
        "session_id": session_id,
        "url": f"https://shop.example.cn/p/{product_id}",
        "product_id": product_id,
        "product_sku": f"SKU-{product_id}",
    }
    event.update(fields)
    return event
