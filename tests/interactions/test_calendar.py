"""The personal iCalendar feed: a secret URL that parses as RFC 5545 with the user's open
follow-ups and contract expiries, read with the user's visibility, cheap to poll (a fixed
handful of queries), and 404 once revoked."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Customer
from tests.conftest import People
from tests.interactions.support_followups import customer, in_hours, plan
from tests.sales.contracts_support import create_contract

PUBLIC = "http://127.0.0.1:8000"  # the settings' public_url


def _fetch(client: TestClient, url: str) -> Any:
    assert url.startswith(PUBLIC + "/calendar/") and url.endswith(".ics")
    return client.get(url.removeprefix(PUBLIC))


def _events(body: bytes) -> dict[str, Any]:
    parsed = Calendar.from_ical(body)
    return {str(component["UID"]): component for component in parsed.walk("VEVENT")}


def test_the_feed_parses_with_follow_ups_and_contract_expiries_and_revoking_gives_404(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    planned = plan(client, headers, customer_id, due_at="2027-02-03T01:30:00Z")
    done = plan(client, headers, customer_id, due_at=in_hours(5), subject="已完成的")
    client.post(
        f"/api/v1/follow-ups/{done['id']}/complete", json={"outcome": "ok"}, headers=headers
    )
    end = date.today() + timedelta(days=200)
    contract = create_contract(client, headers, customer_id, end_date=end.isoformat())

    first = client.get("/api/v1/me/calendar", headers=headers)
    assert first.status_code == 200, first.text
    url = first.json()["url"]
    assert client.get("/api/v1/me/calendar", headers=headers).json()["url"] == url

    reply = _fetch(client, url)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/calendar")
    events = _events(reply.content)
    follow_up = events[f"follow-up-{planned['id']}@127.0.0.1"]
    assert "杭州青山茶业" in str(follow_up["SUMMARY"]) and "回访新茶订单" in str(
        follow_up["SUMMARY"]
    )
    assert "问一下春茶的样品是否收到" in str(follow_up["DESCRIPTION"])
    assert f"/interactions/follow-ups/{planned['id']}" in str(follow_up["DESCRIPTION"])
    start = follow_up.decoded("DTSTART")
    assert start.isoformat() == "2027-02-03T01:30:00+00:00"
    assert f"follow-up-{done['id']}@127.0.0.1" not in events  # done: not in the calendar

    expiry = events[f"contract-{contract['id']}-end@127.0.0.1"]
    assert expiry.decoded("DTSTART") == end  # a date: all day
    assert contract["number"] in str(expiry["SUMMARY"])

    assert client.delete("/api/v1/me/calendar", headers=headers).status_code == 204
    assert _fetch(client, url).status_code == 404
    renewed = client.get("/api/v1/me/calendar", headers=headers).json()["url"]
    assert renewed != url
    assert _fetch(client, renewed).status_code == 200
    assert _fetch(client, url).status_code == 404
    # making and revoking an address are in the audit log, under the user
    logged = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "user", AuditEntry.entity_id == str(seller.user.id))
        .order_by(AuditEntry.id)
    ).all()
    assert [a for a in logged if a.startswith("calendar_feed.")] == [
        "calendar_feed.created",
        "calendar_feed.revoked",
        "calendar_feed.created",
    ]


def test_the_feed_follows_the_users_visibility_and_unknown_tokens_are_404(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    colleague = people.user("sales")
    headers = people.token(seller)
    kept = plan(client, headers, customer(session, seller.user, "青山茶业"))
    handed_over_customer = customer(session, seller.user, "绿水茶庄")
    handed = plan(client, headers, handed_over_customer)
    url = client.get("/api/v1/me/calendar", headers=headers).json()["url"]
    assert len(_events(_fetch(client, url).content)) == 2

    # the customer goes to a colleague: the seller no longer sees it, nor its follow-up
    moved = session.get(Customer, handed_over_customer)
    assert moved is not None
    moved.owner_id = colleague.user.id
    session.flush()
    uids = set(_events(_fetch(client, url).content))
    assert uids == {f"follow-up-{kept['id']}@127.0.0.1"}
    assert f"follow-up-{handed['id']}@127.0.0.1" not in uids

    assert client.get("/calendar/not-a-token.ics").status_code == 404
    assert client.get("/api/v1/me/calendar").status_code == 401
    # every user has a URL of their own
    other = client.get("/api/v1/me/calendar", headers=people.token(colleague)).json()["url"]
    assert other != url and _events(_fetch(client, other).content) == {}


def test_a_used_feed_costs_four_queries_however_many_entries(
    client: TestClient, people: People, session: Session, connection: Any
):
    seller = people.user("sales")
    headers = people.token(seller)
    for number in range(20):
        plan(client, headers, customer(session, seller.user, f"客户{number}"))
    url = client.get("/api/v1/me/calendar", headers=headers).json()["url"]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        reply = _fetch(client, url)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert reply.status_code == 200 and len(_events(reply.content)) == 20
    # the token with its user, the role's permissions, the follow-ups, the contracts
    assert len(statements) <= 4, "\n".join(s[:120] for s in statements)


def test_a_calendar_app_polling_with_its_etag_gets_not_modified_until_something_changes(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    planned = plan(client, headers, customer_id)
    stale = plan(client, headers, customer_id, due_at=in_hours(-24 * 100))
    recent = plan(client, headers, customer_id, due_at=in_hours(-24 * 10))
    url = client.get("/api/v1/me/calendar", headers=headers).json()["url"]
    first = _fetch(client, url)
    assert first.status_code == 200
    # long overdue ones are left to "my day"; the recently overdue stay in the calendar
    uids = set(_events(first.content))
    assert f"follow-up-{stale['id']}@127.0.0.1" not in uids
    assert {f"follow-up-{planned['id']}@127.0.0.1", f"follow-up-{recent['id']}@127.0.0.1"} <= uids

    path = url.removeprefix(PUBLIC)
    etag = first.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag

    client.post(
        f"/api/v1/follow-ups/{planned['id']}/reschedule",
        json={"due_at": "2031-01-01T01:00:00Z"},
        headers=headers,
    )
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    moved = _events(changed.content)[f"follow-up-{planned['id']}@127.0.0.1"]
    assert moved.decoded("DTSTART").isoformat() == "2031-01-01T01:00:00+00:00"
    # a customer renamed: the entries' text changes, so does the tag
    renamed = session.get(Customer, customer_id)
    assert renamed is not None
    renamed.name = "青山茶业集团"
    session.flush()
    after_rename = client.get(path, headers={"If-None-Match": changed.headers["etag"]})
    assert after_rename.status_code == 200 and "青山茶业集团" in after_rename.text
