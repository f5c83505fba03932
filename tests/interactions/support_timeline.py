"""Shared helpers for the timeline tests: a customer's touchpoints written as the services write
them, in bulk where a test needs hundreds, and a role that may read customers but not their
touchpoints."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.schemas import RoleCreate
from guanxi.interactions.models import FollowUp, Interaction, WebEvent
from guanxi.sales.models import Order
from tests.conftest import People, Person


def bulk_interactions(
    session: Session,
    *,
    customer_id: int,
    user_id: int | None,
    count: int,
    at: datetime,
    channel: str = "phone",
    step: timedelta = timedelta(0),
) -> None:
    """``count`` interactions, ``step`` apart going back from ``at`` (all at ``at`` when step
    is zero), in one multi-row insert."""
    rows: list[dict[str, Any]] = [
        {
            "customer_id": customer_id,
            "channel": channel,
            "direction": "outbound" if i % 2 else "inbound",
            "occurred_at": at - step * i,
            "user_id": user_id,
            "subject": f"批量 {i:04d}",
            "notes": "",
            "outcome": "",
            "source": "api",
            "email_address": "",
            "created_at": at,
            "updated_at": at,
            "version": 1,
        }
        for i in range(count)
    ]
    session.execute(insert(Interaction), rows)
    session.flush()


def follow_up(
    session: Session,
    *,
    customer_id: int,
    assignee_id: int,
    due_at: datetime,
    subject: str,
    status: str = "open",
) -> FollowUp:
    made = FollowUp(
        customer_id=customer_id,
        assignee_id=assignee_id,
        created_by_id=assignee_id,
        due_at=due_at,
        channel="phone",
        subject=subject,
        status=status,
        completed_at=due_at if status == "done" else None,
        outcome="reached" if status == "done" else "",
    )
    session.add(made)
    session.flush()
    return made


def order(session: Session, *, customer_id: int, owner_id: int, number: str, at: datetime) -> None:
    session.add(
        Order(
            number=number,
            customer_id=customer_id,
            owner_id=owner_id,
            status="completed",
            ordered_at=at,
            subtotal=Decimal("88.00"),
            total=Decimal("88.00"),
            cost_total=Decimal("40.00"),
        )
    )
    session.flush()


def browsing_session(
    session: Session,
    *,
    customer_id: int | None,
    session_id: str,
    started_at: datetime,
    pages: int,
    products: int,
    visitor_id: str = "visitor-1",
) -> None:
    """A shop visit: ``pages`` page views then ``products`` product views, a minute apart."""
    rows: list[dict[str, Any]] = []
    for i in range(pages + products):
        product = i >= pages
        rows.append(
            {
                "kind": "product_view" if product else "page_view",
                "occurred_at": started_at + timedelta(minutes=i),
                "received_at": started_at,
                "visitor_id": visitor_id,
                "session_id": session_id,
                "customer_id": customer_id,
                "url": f"https://shop.example.cn/p/{i}",
                "title": "",
                "referrer": "",
                "product_id": 1000 + i if product else None,
                "product_sku": "",
                "dwell_seconds": 60,
            }
        )
    session.execute(insert(WebEvent), rows)
    session.flush()


def customers_only(session: Session, people: People) -> Person:
    """A user whose role reads all customers but none of their touchpoints."""
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="customers_only",
            label="Customers only",
            record_scope="all",
            permissions={"customers": ["read"], "orders": ["read"]},
        ),
    )
    return people.user("customers_only")


def timeline_part(page: str) -> str:
    """The timeline section of a 360 page."""
    return page.split('id="timeline"', 1)[1].split("</section>", 1)[0]


def entry_kinds(page: str) -> list[str]:
    return re.findall(r'class="timeline-entry" data-kind="([^"]+)"', timeline_part(page))
