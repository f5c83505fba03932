"""A small customer book for the segment tests: two sales reps in different teams with customers
in Shanghai and Beijing, and two scoring runs written as a run writes them, so that a segment's
size, value and trend can be worked out by hand.

Value tier + city 上海 (``tier=vip,key&city=上海``) holds, in the latest run:

- for alice: 甲一 (VIP, CLV 5000);
- for bob: 乙一 (VIP, CLV 6000) and 乙二 (key, CLV 1000);
- for everyone: all three, CLV 12000.

In the run before, 甲一 was key (CLV 3000), 乙一 VIP (CLV 5000) and 乙二 ordinary: two members
with CLV 8000 for everyone, one with 3000 for alice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from tests.conftest import People, Person

SEGMENT = [["tier", "vip,key"], ["city", "上海"]]


def make_run(session: Session, end: dt.date) -> AnalysisRun:
    run = AnalysisRun(status="succeeded", observation_end=end, parameters={}, diagnostics={})
    session.add(run)
    session.flush()
    return run


def score(session: Session, run: AnalysisRun, customer_id: int, **fields: Any) -> None:
    values: dict[str, Any] = {
        "orders": 3,
        "frequency": 2,
        "revenue": Decimal("1000.00"),
        "margin": Decimal("400.00"),
        "profit": Decimal("300.00"),
        "tier": "ordinary",
        "rfm_segment": "need_attention",
        "lifecycle_stage": "stability",
        "clv": Decimal("100.00"),
        "churn_risk": 0.2,
    }
    values.update(fields)
    session.add(CustomerScore(run_id=run.id, customer_id=customer_id, **values))
    session.flush()


def customer(session: Session, owner: User, name: str, **fields: Any) -> int:
    made = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name=name, **fields)
    )
    session.flush()
    return made.id


@dataclass
class Book:
    alice: Person
    bob: Person
    admin: Person
    analyst: Person
    ids: dict[str, int]
    runs: list[AnalysisRun]
    headers: dict[str, dict[str, str]]


def build_book(session: Session, people: People, *, tokens: bool = True) -> Book:
    east, west = people.team("East"), people.team("West")
    alice, bob = people.user("sales", team=east), people.user("sales", team=west)
    admin, analyst = people.user("admin"), people.user("analyst")
    ids = {
        "甲一": customer(session, alice.user, "甲一", city="上海", tags=["VIP"]),
        "甲二": customer(session, alice.user, "甲二", city="上海"),
        "甲三": customer(session, alice.user, "甲三", city="北京"),
        "乙一": customer(session, bob.user, "乙一", city="上海", tags=["VIP"]),
        "乙二": customer(session, bob.user, "乙二", city="上海"),
    }
    before = make_run(session, dt.date(2026, 10, 1))
    score(session, before, ids["甲一"], tier="key", clv=Decimal("3000"))
    score(session, before, ids["甲二"], tier="ordinary")
    score(session, before, ids["乙一"], tier="vip", clv=Decimal("5000"))
    score(session, before, ids["乙二"], tier="ordinary", clv=Decimal("900"))
    latest = make_run(session, dt.date(2026, 11, 1))
    score(
        session,
        latest,
        ids["甲一"],
        tier="vip",
        clv=Decimal("5000"),
        revenue=Decimal("3000"),
        profit=Decimal("900"),
    )
    score(session, latest, ids["甲二"], tier="ordinary", clv=Decimal("200"))
    score(session, latest, ids["甲三"], tier="vip", clv=Decimal("4000"))
    score(session, latest, ids["乙一"], tier="vip", clv=Decimal("6000"))
    score(session, latest, ids["乙二"], tier="key", clv=Decimal("1000"))
    headers = (
        {
            name: people.token(person)
            for name, person in (
                ("alice", alice),
                ("bob", bob),
                ("admin", admin),
                ("analyst", analyst),
            )
        }
        if tokens
        else {}
    )
    return Book(alice, bob, admin, analyst, ids, [before, latest], headers)
