"""The demo company's touch-centre data (issue 6 item 6): interactions on every channel in both
directions over two years, weighted toward big accounts; follow-ups for the demo users that are
overdue, due today, upcoming, done and recurring; shop visits of real demo products, some by
visitors linked after they logged in; and a demo customer's timeline showing them. Built once
per store."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi import demo
from guanxi.audit import tracking
from guanxi.audit.tracking import AuditActor
from guanxi.customers import timeline
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.interactions.models import CHANNELS, FollowUp, Interaction, VisitorLink, WebEvent
from guanxi.sales.models import Product


@dataclass
class Built:
    session: Session
    company: demo.DemoCompany
    now: datetime


@pytest.fixture(scope="module")
def built(database: Database) -> Iterator[Built]:
    """The small demo company, built once per store inside a transaction rolled back after."""
    with database.engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        tracking.set_actor(session, AuditActor(None, "test"))
        started = time.perf_counter()
        company = demo.create(session, seed=11, size=demo.DemoSize.small)
        print(
            f"\nsmall demo on {database.engine.dialect.name}: {time.perf_counter() - started:.1f} s"
        )
        yield Built(session, company, company.extra["sales_now"])
        session.close()
        outer.rollback()


def test_interactions_cover_every_channel_both_ways_over_two_years(built: Built) -> None:
    session = built.session
    pairs = Counter(
        (row.channel, row.direction)
        for row in session.execute(select(Interaction.channel, Interaction.direction))
    )
    assert {(c, d) for c in CHANNELS for d in ("inbound", "outbound")} <= set(pairs)
    total = sum(pairs.values())
    assert 3_000 <= total <= 40_000
    oldest, newest = session.execute(
        select(func.min(Interaction.occurred_at), func.max(Interaction.occurred_at))
    ).one()
    assert built.now - timedelta(days=731) <= oldest and newest <= built.now
    assert newest - oldest > timedelta(days=600)
    # e-mails carry an address and a message id; the rest don't
    emails = session.execute(
        select(Interaction.email_address, Interaction.message_id, Interaction.source).where(
            Interaction.channel == "email"
        )
    ).all()
    assert all("@" in e.email_address and e.message_id for e in emails)
    assert {e.source for e in emails} == {"email_in", "email_out"}
    touched = session.scalar(select(func.count(func.distinct(Interaction.customer_id))))
    customers = session.scalar(select(func.count()).select_from(Customer))
    assert touched is not None and customers is not None and 0.2 < touched / customers < 0.8


SIX_MONTHS = timedelta(days=183)


def test_big_accounts_have_more_touchpoints(built: Built) -> None:
    buyers = built.company.extra["sales_buyers"]
    counts = Counter(built.session.scalars(select(Interaction.customer_id)).all())
    by_segment: dict[str, list[int]] = {}
    for customer_id, buyer in buyers.items():
        by_segment.setdefault(buyer.segment, []).append(counts.get(customer_id, 0))
    mean = {s: sum(v) / len(v) for s, v in by_segment.items() if v}
    assert mean["big"] > 3 * mean["person"]
    created = {i: at for i, at in built.session.execute(select(Customer.id, Customer.created_at))}
    now = built.now
    old_big = [c for c, b in buyers.items() if b.segment == "big" and now - created[c] > SIX_MONTHS]
    assert old_big and all(counts.get(c, 0) >= 25 for c in old_big)
    # a customer met lately has a few touchpoints, not two years' worth in a few days
    for customer_id, at in created.items():
        if now - at < timedelta(days=7):
            assert counts.get(customer_id, 0) <= 3, customer_id


def test_demo_users_have_overdue_today_upcoming_done_and_recurring_follow_ups(
    built: Built,
) -> None:
    session = built.session
    rep = built.company.users["sales"]
    mine = session.scalars(select(FollowUp).where(FollowUp.assignee_id == rep.id)).all()
    now = built.now
    today_end = (now + timedelta(hours=8)).replace(hour=0, minute=0, second=0) + timedelta(hours=16)
    open_ones = [f for f in mine if f.status == "open"]
    assert any(f.due_at < now for f in open_ones)  # overdue
    assert any(now <= f.due_at < today_end for f in open_ones)  # still ahead today
    assert any(f.due_at > today_end for f in open_ones)  # upcoming
    done = [f for f in mine if f.status == "done"]
    assert done and all(f.interaction_id and f.completed_at and f.outcome for f in done)
    became = session.get(Interaction, done[0].interaction_id)
    assert became is not None and became.source == "follow_up"
    assert became.customer_id == done[0].customer_id
    # the rep's follow-ups are on the rep's own customers, so the rep can open them
    owners = set(
        session.scalars(
            select(Customer.owner_id).where(Customer.id.in_({f.customer_id for f in mine}))
        )
    )
    assert owners == {rep.id}
    recurring = session.scalar(
        select(func.count()).select_from(FollowUp).where(FollowUp.recurrence != "none")
    )
    assert recurring
    for role in ("manager", "service"):
        user = built.company.users[role]
        overdue = session.scalar(
            select(func.count())
            .select_from(FollowUp)
            .where(
                FollowUp.assignee_id == user.id,
                FollowUp.status == "open",
                FollowUp.due_at < now,
            )
        )
        assert overdue, role


def test_browsing_sessions_view_real_products_and_link_visitors(built: Built) -> None:
    session = built.session
    kinds = Counter(session.scalars(select(WebEvent.kind)).all())
    assert kinds["page_view"] > 1_000 and kinds["product_view"] > 1_000
    products = set(session.scalars(select(Product.id)))
    viewed = set(
        session.scalars(select(WebEvent.product_id).where(WebEvent.product_id.is_not(None)))
    )
    assert viewed and viewed <= products
    sessions = session.scalar(
        select(func.count(func.distinct(WebEvent.session_id))).where(
            WebEvent.customer_id.is_not(None)
        )
    )
    assert sessions is not None and sessions > 300
    anonymous = session.scalar(
        select(func.count()).select_from(WebEvent).where(WebEvent.customer_id.is_(None))
    )
    assert anonymous
    link = session.scalars(select(VisitorLink).limit(1)).one()
    linked = session.scalars(
        select(WebEvent.customer_id).where(WebEvent.visitor_id == link.visitor_id).distinct()
    ).all()
    assert linked == [link.customer_id]  # the visitor's events, earlier ones too, are theirs


def test_a_demo_customers_timeline_shows_the_touch_centre(built: Built) -> None:
    session = built.session
    browsing = set(
        session.scalars(select(WebEvent.customer_id).where(WebEvent.customer_id.is_not(None)))
    )
    touched = Counter(session.scalars(select(Interaction.customer_id)).all())
    planned = set(session.scalars(select(FollowUp.customer_id)))
    chosen = max((c for c in touched if c in browsing and c in planned), key=lambda c: touched[c])
    customer = session.get(Customer, chosen)
    assert customer is not None
    admin = built.company.users["admin"]
    seen: list[timeline.TimelineEntry] = []
    cursor = None
    while True:
        page = timeline.stream(session, customer, actor=admin, cursor=cursor, limit=50)
        seen += page.entries
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    kinds = Counter(e.kind for e in seen)
    assert kinds["interactions"] + kinds["emails"] == touched[chosen]
    assert kinds["browsing"] and kinds["follow_ups"] and kinds["orders"]
    assert [(e.at, e.key) for e in seen] == sorted(((e.at, e.key) for e in seen), reverse=True)
