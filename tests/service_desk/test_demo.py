"""The demo company's service desk (issue 9 item 8): stations in several cities with their
coordinates, queues with agents, skills and a manager, routing rules, the installed base from
the demo orders, a year of tickets of every kind with histories and messages, SLA due times on
the business calendar with hits and misses (VIP kept best), surveys with a realistic spread
(complaints lower) and a few unhappy VIPs. Built once per store, in a transaction rolled back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import mean

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi import demo
from guanxi.audit import tracking
from guanxi.audit.tracking import AuditActor
from guanxi.auth.models import User
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.sales.models import Order, OwnedItem
from guanxi.service_desk import business_calendar, demo_tickets, routing, ticket_search
from guanxi.service_desk import demo as service_demo
from guanxi.service_desk.models import (
    KINDS,
    OPEN_STATUSES,
    QueueMember,
    RoutingRule,
    ServiceQueue,
    ServiceStation,
    SlaPolicy,
    Survey,
    Ticket,
    TicketChange,
    TicketMessage,
)


@dataclass
class Built:
    session: Session
    company: demo.DemoCompany
    now: datetime


@pytest.fixture(scope="module")
def built(database: Database) -> Iterator[Built]:
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


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_stations_in_several_cities_with_real_coordinates(built: Built) -> None:
    stations = built.session.scalars(select(ServiceStation)).all()
    cities = {s.city for s in stations}
    assert {"北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安"} <= cities
    assert all(18 < s.latitude < 54 and 73 < s.longitude < 135 for s in stations)  # in China
    shanghai = next(s for s in stations if s.city == "上海")
    beijing = next(s for s in stations if s.city == "北京")
    assert shanghai.latitude == pytest.approx(31.2, abs=0.2)
    assert beijing.latitude == pytest.approx(39.9, abs=0.2)


def test_queues_agents_skills_manager_and_rules(built: Built) -> None:
    session = built.session
    queues = session.scalars(select(ServiceQueue)).all()
    assert {q.name for q in queues} == {name for name, _ in service_demo.QUEUES}
    lead = built.company.users["service"]
    assert all(q.manager_id == lead.id for q in queues)
    members = session.scalars(select(QueueMember)).all()
    agents = {m.user_id for m in members} - {lead.id}
    assert len(agents) == service_demo.AGENTS[demo.DemoSize.small]
    users = session.scalars(select(User).where(User.id.in_(agents))).all()
    assert {u.role.name for u in users} == {"service"}
    assert all(m.skills for m in members)
    assert any(not m.available for m in members)  # routing passes over who is on leave
    per_queue = Counter(m.queue_id for m in members if m.user_id != lead.id)
    assert set(per_queue) == {q.id for q in queues}
    assert session.scalar(select(func.count()).select_from(RoutingRule)) == len(service_demo.RULES)


def test_owned_items_come_from_the_customers_orders(built: Built) -> None:
    session = built.session
    items = session.scalars(select(OwnedItem).limit(500)).all()
    assert len(items) >= 100
    assert all(i.serial_number and i.model and i.retailer and i.purchased_on for i in items)
    assert all(i.warranty_until and i.warranty_until > i.purchased_on for i in items)
    assert len({i.serial_number for i in items}) == len(items)
    buyers = dict(
        session.execute(
            select(Order.id, Order.customer_id).where(Order.id.in_({i.order_id for i in items}))
        ).all()
    )
    assert all(buyers[i.order_id] == i.customer_id for i in items)


def test_a_year_of_tickets_of_every_kind_channel_and_status(built: Built) -> None:
    session = built.session
    tickets = session.scalars(select(Ticket)).all()
    assert 1_000 <= len(tickets) <= 3_000
    kinds = Counter(t.kind for t in tickets)
    assert set(kinds) == set(KINDS)
    assert kinds["service_request"] > kinds["complaint"] > kinds["suggestion"]
    statuses = Counter(t.status for t in tickets)
    assert {"closed", "resolved", "in_progress"} <= set(statuses)
    assert 0.01 < sum(statuses[s] for s in OPEN_STATUSES) / len(tickets) < 0.2
    assert len({t.channel for t in tickets}) >= 6
    assert {"安装", "维修", "退换货", "物流", "质量", "价格", "服务态度"} <= {
        t.category for t in tickets
    }
    done = [t for t in tickets if t.resolved_at is not None]
    assert all(t.root_cause for t in done)
    assert {"产品缺陷", "配送延误", "安装不当"} <= {t.root_cause for t in done}
    created = [_utc(t.created_at) for t in tickets]
    assert built.now - timedelta(days=366) <= min(created)
    assert max(created) <= built.now and max(created) - min(created) > timedelta(days=330)
    assert all(t.queue_id is not None and t.sla_policy_id is not None for t in tickets)
    owned = [t for t in tickets if t.owned_item_id is not None]
    assert owned
    customers_of = dict(
        session.execute(
            select(OwnedItem.id, OwnedItem.customer_id).where(
                OwnedItem.id.in_({t.owned_item_id for t in owned})
            )
        ).all()
    )
    assert all(customers_of[t.owned_item_id] == t.customer_id for t in owned)
    # the demo's subjects are in the search index like any other ticket's
    subjects = sorted({t.subject: t.id for t in tickets}.items())[::25]
    missed = [
        (subject, fragment)
        for subject, ticket_id in subjects
        for fragment in (subject, subject[:2], subject[-3:])
        if ticket_id
        not in set(
            session.scalars(
                select(Ticket.id).where(ticket_search.subject_matches(session, fragment))
            )
        )
    ]
    assert missed == []


def test_histories_notes_and_replies(built: Built) -> None:
    session = built.session
    changed = Counter(session.scalars(select(TicketChange.field)))
    assert {"status", "queue_id", "assignee_id", "root_cause"} <= set(changed)
    closed = session.scalars(select(Ticket).where(Ticket.status == "closed").limit(20)).all()
    for ticket in closed:
        flow = session.scalars(
            select(TicketChange.new_value)
            .where(TicketChange.ticket_id == ticket.id, TicketChange.field == "status")
            .order_by(TicketChange.at, TicketChange.id)
        ).all()
        assert flow[-1] == "closed" and "resolved" in flow
    kinds = Counter(session.scalars(select(TicketMessage.kind)))
    assert kinds["reply"] > kinds["note"] > 0 and kinds["customer"] > 0
    waits = session.scalar(
        select(func.count()).where(
            TicketChange.field == "status", TicketChange.new_value == "waiting"
        )
    )
    reopens = session.scalar(select(func.count()).where(Ticket.reopened_count > 0))
    assert waits and reopens


def test_sla_due_times_follow_the_policy_and_the_business_calendar(built: Built) -> None:
    session = built.session
    calendar = business_calendar.load(session)
    policies = {p.id: p for p in session.scalars(select(SlaPolicy))}
    waited = set(
        session.scalars(
            select(TicketChange.ticket_id).where(
                TicketChange.field == "status", TicketChange.new_value == "waiting"
            )
        )
    )
    sample = session.scalars(select(Ticket).order_by(Ticket.id).limit(200)).all()
    for ticket in sample:
        policy = policies[ticket.sla_policy_id]
        assert policy.tier in (None, ticket.tier) and policy.priority in (None, ticket.priority)
        opened = _utc(ticket.created_at)
        assert _utc(ticket.first_response_due) == business_calendar.add_business_minutes(
            calendar, opened, policy.first_response_minutes
        )
        if ticket.id not in waited:
            assert _utc(ticket.resolution_due) == business_calendar.add_business_minutes(
                calendar, opened, policy.resolution_minutes
            )
    # the 2026 holidays are on the calendar: nothing falls due on National Day
    assert calendar.spans_on(datetime(2026, 10, 2).date()) == ()


def _met_share(tickets: list[Ticket]) -> float:
    return mean(_utc(t.resolved_at) <= _utc(t.resolution_due) for t in tickets)


def test_hits_and_misses_with_vip_kept_best(built: Built) -> None:
    done = built.session.scalars(select(Ticket).where(Ticket.resolved_at.is_not(None))).all()
    responded = [t for t in done if t.first_responded_at is not None]
    response_met = [_utc(t.first_responded_at) <= _utc(t.first_response_due) for t in responded]
    assert 0.6 < mean(response_met) < 0.95
    assert 0.6 < _met_share(done) < 0.95
    vip = [t for t in done if t.tier == "vip"]
    ordinary = [t for t in done if t.tier == "ordinary"]
    assert len(vip) >= 20 and _met_share(vip) > _met_share(ordinary)
    # VIP targets are tighter: a VIP policy gives fewer minutes than the ordinary one
    policies = {p.id: p for p in built.session.scalars(select(SlaPolicy))}
    vip_minutes = mean(policies[t.sla_policy_id].resolution_minutes for t in vip)
    ordinary_minutes = mean(policies[t.sla_policy_id].resolution_minutes for t in ordinary)
    assert vip_minutes < ordinary_minutes / 2


def test_open_tickets_past_due_were_already_escalated(built: Built) -> None:
    """The first SLA scan after the demo finds only what is newly due, not a year of backlog."""
    running = built.session.scalars(
        select(Ticket).where(Ticket.status.in_(("new", "assigned", "in_progress")))
    ).all()
    assert running
    for ticket in running:
        if ticket.resolution_due is not None and _utc(ticket.resolution_due) <= built.now:
            assert ticket.resolution_escalated_at is not None


def test_surveys_spread_with_complaints_lower(built: Built) -> None:
    session = built.session
    rows = session.execute(
        select(Survey.csat, Survey.nps, Survey.answered_at, Ticket.kind, Survey.expires_at).join(
            Ticket, Ticket.id == Survey.ticket_id
        )
    ).all()
    answered = [r for r in rows if r.answered_at is not None]
    assert 0.3 < len(answered) / len(rows) < 0.7
    assert {r.csat for r in answered} == {1, 2, 3, 4, 5}
    assert min(r.nps for r in answered) <= 2 and max(r.nps for r in answered) >= 9
    complaints = [r.csat for r in answered if r.kind == "complaint"]
    others = [r.csat for r in answered if r.kind != "complaint"]
    assert mean(complaints) + 0.5 < mean(others)
    assert 3.3 < mean(r.csat for r in answered) < 4.3
    assert all(r.expires_at > r.answered_at for r in answered)


def test_a_few_unhappy_vips(built: Built) -> None:
    unhappy = built.session.scalars(
        select(func.distinct(Ticket.customer_id))
        .join(Survey, Survey.ticket_id == Ticket.id)
        .where(Ticket.tier == "vip", Ticket.kind == "complaint", Survey.csat <= 2)
    ).all()
    assert demo_tickets.UNHAPPY_VIPS[demo.DemoSize.small] <= len(unhappy) <= 15


def test_service_requests_go_to_the_nearest_station(built: Built) -> None:
    session = built.session
    rows = session.execute(
        select(Customer.city, ServiceStation.city)
        .select_from(Ticket)
        .join(Customer, Customer.id == Ticket.customer_id)
        .join(ServiceStation, ServiceStation.id == Ticket.station_id)
        .where(Ticket.kind == "service_request")
    ).all()
    assert rows
    shanghai = [station for city, station in rows if city == "上海"]
    assert shanghai and set(shanghai) == {"上海"}
    assert {station for city, station in rows if city == "北京"} == {"北京"}
    # and a new service request of a Shanghai customer, routed now, goes to Shanghai too
    customer = session.scalars(
        select(Customer).where(Customer.city == "上海").order_by(Customer.id)
    ).first()
    assert customer is not None
    ticket = Ticket(kind="service_request", subject="空调不制冷", customer_id=customer.id)
    routing.route(session, ticket)
    station = session.get(ServiceStation, ticket.station_id)
    assert station is not None and station.city == "上海"
    assert ticket.queue_id is not None and ticket.assignee_id is not None
