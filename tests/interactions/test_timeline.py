"""The touch centre on the customer 360 timeline: interactions, e-mails, follow-ups, orders and
browsing sessions in one newest-first stream; filters by kind and channel; cursor paging over
entries of the same time; roles and visibility; the timeline API; and a page's cost that does
not grow with the customer's history."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import timeline
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.interactions import service as interaction_service
from tests.conftest import PASSWORD, People
from tests.interactions.support_core import customer
from tests.interactions.support_timeline import (
    browsing_session,
    bulk_interactions,
    customers_only,
    entry_kinds,
    follow_up,
    order,
    timeline_part,
)
from tests.web.forms import sign_in


def _moment(days: float) -> datetime:
    """A whole second ``days`` from now (naive UTC, as stored)."""
    return (utcnow() + timedelta(days=days)).replace(microsecond=0)


def _touchpoints(session: Session, rep_id: int, customer_id: int) -> None:
    """One of each: a phone call, an e-mail, a done and a planned follow-up, an order and a
    shop visit, each a day apart."""
    user = session.get(User, rep_id)
    assert user is not None
    order(session, customer_id=customer_id, owner_id=rep_id, number="SO-TL-1", at=_moment(-6))
    interaction_service.log(
        session,
        actor=user,
        customer_id=customer_id,
        channel="phone",
        direction="inbound",
        subject="询问新茶到货",
        notes="客户想订明前龙井五斤。",
        outcome="interested",
        occurred_at=_moment(-5),
    )
    interaction_service.log(
        session,
        actor=user,
        customer_id=customer_id,
        channel="email",
        direction="outbound",
        subject="报价单",
        source="email_out",
        message_id="<quote-1@guanxi.test>",
        email_address="buyer@tea.example.cn",
        occurred_at=_moment(-4),
    )
    follow_up(
        session,
        customer_id=customer_id,
        assignee_id=rep_id,
        due_at=_moment(-3),
        subject="确认报价",
        status="done",
    )
    browsing_session(
        session,
        customer_id=customer_id,
        session_id="visit-1",
        started_at=_moment(-2),
        pages=3,
        products=2,
    )
    follow_up(
        session, customer_id=customer_id, assignee_id=rep_id, due_at=_moment(1), subject="回访"
    )


def test_the_360_page_shows_every_touchpoint_newest_first(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    shop = customer(session, rep.user, "杭州青山茶业")
    _touchpoints(session, rep.user.id, shop)
    session.flush()
    sign_in(client, rep.username, PASSWORD)
    page = html.unescape(client.get(f"/customers/{shop}").text)
    part = timeline_part(page)
    expected = [
        "Follow-up planned: 回访",
        "Browsed 3 pages, viewed 2 products, 5 min",
        "Follow-up done: 确认报价",
        "E-mail sent to buyer@tea.example.cn: 报价单",
        "Phone (Inbound): 询问新茶到货",
        "Order SO-TL-1",
    ]
    positions = [part.find(title) for title in expected]
    assert -1 not in positions, [t for t, p in zip(expected, positions, strict=True) if p < 0]
    assert positions == sorted(positions)  # newest first
    assert "Outcome: Interested. 客户想订明前龙井五斤。" in part
    assert "Started on https://shop.example.cn/p/0" in part
    times = re.findall(r'<time datetime="([^"]+)"', part)
    assert times == sorted(times, reverse=True)
    assert set(entry_kinds(page)) >= {"interactions", "emails", "follow_ups", "browsing", "orders"}
    assert re.search(r'href="/interactions/\d+"', part) and "/interactions/follow-ups/" in part
    # the filters offer the touch centre's kinds and channels
    assert "Web browsing" in part and ">Follow-ups<" in part and 'data-channel="wechat"' in part


def test_filtering_by_channel_and_by_kind(client: TestClient, people: People, session: Session):
    rep = people.user("sales")
    shop = customer(session, rep.user, "宁波海味批发")
    _touchpoints(session, rep.user.id, shop)
    for offset, channel in enumerate(("phone", "sms", "wechat", "visit", "phone")):
        bulk_interactions(
            session,
            customer_id=shop,
            user_id=rep.user.id,
            count=1,
            at=_moment(-10 - offset),
            channel=channel,
        )
    sign_in(client, rep.username, PASSWORD)

    phone = client.get(f"/customers/{shop}", params={"channel": "phone"}).text
    assert entry_kinds(phone) == ["interactions"] * 3
    assert timeline_part(phone).count("Phone (") == 3
    assert 'data-channel="phone" aria-current="true"' in phone

    wechat = client.get(f"/customers/{shop}", params={"channel": "wechat"}).text
    assert entry_kinds(wechat) == ["interactions"] and "WeChat (" in timeline_part(wechat)
    email = client.get(f"/customers/{shop}", params={"channel": "email"}).text
    assert entry_kinds(email) == ["emails"]
    # the interactions kind and the phone channel together; a kind without channels drops it
    both = client.get(f"/customers/{shop}", params={"timeline": "interactions", "channel": "sms"})
    assert entry_kinds(both.text) == ["interactions"]
    orders = client.get(f"/customers/{shop}", params={"timeline": "orders", "channel": "sms"})
    assert entry_kinds(orders.text) == ["orders"]
    follow_ups = client.get(f"/customers/{shop}", params={"timeline": "follow_ups"}).text
    assert entry_kinds(follow_ups) == ["follow_ups", "follow_ups"]
    browsing = client.get(f"/customers/{shop}", params={"timeline": "browsing"}).text
    assert entry_kinds(browsing) == ["browsing"]
    # an unknown channel is ignored rather than showing an empty timeline
    unknown = client.get(f"/customers/{shop}", params={"channel": "pigeon"}).text
    assert len(entry_kinds(unknown)) > 8

    rep_customer = session.get(Customer, shop)
    assert rep_customer is not None
    page = timeline.stream(session, rep_customer, actor=rep.user, channel="visit", limit=50)
    assert [e.params["channel"] for e in page.entries] == ["Visit"]


def test_paging_over_entries_of_the_same_time_neither_repeats_nor_skips(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    shop = customer(session, rep.user, "同一时刻")
    same = _moment(-1)
    bulk_interactions(session, customer_id=shop, user_id=rep.user.id, count=250, at=same)
    bulk_interactions(
        session, customer_id=shop, user_id=rep.user.id, count=5, at=same, channel="email"
    )
    follow_up(session, customer_id=shop, assignee_id=rep.user.id, due_at=same, subject="同时")
    order(session, customer_id=shop, owner_id=rep.user.id, number="SO-SAME", at=same)
    found = session.get(Customer, shop)
    assert found is not None

    for limit in (20, 7, 1):
        seen, cursor = [], None
        while True:
            page = timeline.stream(session, found, actor=rep.user, cursor=cursor, limit=limit)
            seen.extend(page.entries)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        keys = [e.key for e in seen]
        assert len(keys) == len(set(keys)) == 250 + 5 + 1 + 1 + 1  # + the record's creation
        assert [(e.at, e.key) for e in seen] == sorted(((e.at, e.key) for e in seen), reverse=True)

    # the same through the API and through the page's "Load older" links
    api = people.token(rep)
    api_keys, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 30, "channel": "phone"}
        if cursor:
            params["cursor"] = cursor
        reply = client.get(f"/api/v1/customers/{shop}/timeline", params=params, headers=api)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        api_keys += [item["key"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(api_keys) == len(set(api_keys)) == 250

    sign_in(client, rep.username, PASSWORD)
    url, shown = f"/customers/{shop}?timeline=interactions", 0
    while url:
        page_html = client.get(url).text
        shown += len(entry_kinds(page_html))
        older = re.search(r'href="([^"]+)">Load older', page_html)
        url = html.unescape(older.group(1)) if older else ""
    assert shown == 250


def test_a_user_without_interactions_read_sees_no_touchpoints(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    shop = customer(session, rep.user, "保密客户")
    _touchpoints(session, rep.user.id, shop)
    reader = customers_only(session, people)
    session.flush()
    sign_in(client, reader.username, PASSWORD)
    page = html.unescape(client.get(f"/customers/{shop}").text)
    assert entry_kinds(page) and set(entry_kinds(page)) <= {"orders", "change", "consent"}
    assert "orders" in entry_kinds(page)
    part = timeline_part(page)
    assert "询问新茶到货" not in part and "Browsed" not in part and "Follow-up" not in part
    assert "data-channel" not in part and "Web browsing" not in part
    # asking for a touch-centre kind or channel by URL does not show them either
    for params in ({"timeline": "interactions"}, {"channel": "phone"}):
        assert "询问新茶到货" not in client.get(f"/customers/{shop}", params=params).text

    api = people.token(reader)
    reply = client.get(f"/api/v1/customers/{shop}/timeline", params={"limit": 50}, headers=api)
    assert reply.status_code == 200
    assert {item["kind"] for item in reply.json()["items"]} <= {"orders", "change", "consent"}
    refused = client.get(
        f"/api/v1/customers/{shop}/timeline", params={"kind": "interactions"}, headers=api
    )
    assert refused.status_code == 422 and "kind" in refused.text


def test_a_user_who_cannot_see_the_customer_gets_404(
    client: TestClient, people: People, session: Session
):
    owner, stranger = people.user("sales"), people.user("sales")
    shop = customer(session, owner.user, "别人的客户")
    _touchpoints(session, owner.user.id, shop)
    reply = client.get(f"/api/v1/customers/{shop}/timeline", headers=people.token(stranger))
    assert reply.status_code == 404
    assert client.get(f"/api/v1/customers/{shop}/timeline").status_code == 401
    sign_in(client, stranger.username, PASSWORD)
    assert client.get(f"/customers/{shop}").status_code == 404
    assert client.get(f"/customers/{shop}", params={"channel": "phone"}).status_code == 404


def test_the_timeline_api_answers_entries_with_a_cursor(
    client: TestClient, people: People, session: Session
):
    rep = people.user("manager")
    shop = customer(session, rep.user, "接口客户")
    _touchpoints(session, rep.user.id, shop)
    api = people.token(rep)
    url = f"/api/v1/customers/{shop}/timeline"
    first = client.get(url, params={"limit": 3}, headers=api).json()
    assert [item["kind"] for item in first["items"]][:1] == ["follow_ups"]
    assert set(first["items"][0]) == {"at", "kind", "title", "detail", "actor", "link", "key"}
    assert first["items"][0]["title"] == "Follow-up planned: 回访"
    assert first["next_cursor"]
    rest = client.get(url, params={"limit": 50, "cursor": first["next_cursor"]}, headers=api).json()
    assert rest["next_cursor"] is None
    keys = [i["key"] for i in first["items"] + rest["items"]]
    assert len(keys) == len(set(keys)) >= 7
    emails = client.get(url, params={"channel": "email"}, headers=api).json()["items"]
    assert [(i["kind"], i["title"]) for i in emails] == [
        ("emails", "E-mail sent to buyer@tea.example.cn: 报价单")
    ]
    bad = client.get(url, params={"channel": "pigeon"}, headers=api)
    assert bad.status_code == 422 and "channel" in bad.text
    assert client.get(url, params={"limit": 0}, headers=api).status_code == 422


def test_a_page_costs_the_same_with_ten_thousand_entries(people: People, session: Session):
    """Every source reads at most a page's worth of rows: the statements a page runs, and the
    rows they return, do not grow with the customer's history."""
    rep = people.user("sales")
    small, big = customer(session, rep.user, "小客户"), customer(session, rep.user, "大客户")
    for shop, count in ((small, 60), (big, 10_000)):
        bulk_interactions(
            session,
            customer_id=shop,
            user_id=rep.user.id,
            count=count,
            at=_moment(-1),
            step=timedelta(minutes=7),
        )
        browsing_session(
            session,
            customer_id=shop,
            session_id=f"s-{shop}",
            started_at=_moment(-3),
            pages=2,
            products=1,
        )
    bind = session.get_bind()

    def cost(shop: int) -> tuple[int, int]:
        found = session.get(Customer, shop)
        assert found is not None
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(bind, "before_cursor_execute", count)
        try:
            first = timeline.stream(session, found, actor=rep.user, limit=20)
            deep = timeline.stream(
                session, found, actor=rep.user, cursor=first.next_cursor, limit=20
            )
        finally:
            event.remove(bind, "before_cursor_execute", count)
        return len(statements), len(first.entries) + len(deep.entries)

    assert cost(small) == cost(big)
