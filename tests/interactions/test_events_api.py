"""Web events through the API: the shop's snippet with the ingest key, the shop's server with a
token, linking visitors after login, refusals, and who may read whose events."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.schemas import RoleCreate, UserCreate
from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.events.schemas import MAX_EVENTS
from guanxi.interactions.models import VisitorLink, WebEvent
from tests.conftest import PASSWORD, People, Person
from tests.interactions.support_events import customer, minutes_ago, page_view, product_view
from tests.web.forms import sign_in

SHOP = "https://shop.example.cn"


def _key(session: Session, origins: list[str] | None = None) -> dict[str, str]:
    key = events_settings.rotate_key(session)
    if origins is not None:
        events_settings.save(session, retention_days=365, allowed_origins=origins)
    session.flush()
    return {"X-Guanxi-Ingest-Key": key}


def _stored(session: Session, **where: object) -> list[WebEvent]:
    session.expire_all()
    stmt = select(WebEvent).order_by(WebEvent.occurred_at, WebEvent.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(WebEvent, name) == value)
    return list(session.scalars(stmt))


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(WebEvent)) or 0)


def test_anonymous_events_are_linked_after_login(
    client: TestClient, session: Session, people: People
) -> None:
    shop_server = people.user("admin")
    token = people.token(shop_server)
    buyer = customer(session, shop_server.user, "西湖龙井专卖", external_id="shop-9001")
    key = _key(session)

    # browsing before logging in: the snippet knows only the visitor
    before_login = [
        page_view("visitor-V", "session-1", at=minutes_ago(30), url=f"{SHOP}/"),
        product_view("visitor-V", "session-1", at=minutes_ago(29), product_id=7),
    ]
    reply = client.post("/api/v1/events", json={"events": before_login}, headers=key)
    assert reply.status_code == 202, reply.text
    assert reply.json() == {"accepted": 2, "linked": 0}
    assert [e.customer_id for e in _stored(session, visitor_id="visitor-V")] == [None, None]
    listed = client.get(f"/api/v1/events?customer_id={buyer}", headers=token).json()
    assert listed["items"] == []

    # the visitor logs in; the shop's server tells Guanxi who it is, by the shop's customer id
    reply = client.post(
        "/api/v1/events/identify",
        json={"visitor_id": "visitor-V", "customer_external_id": "shop-9001"},
        headers=token,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"visitor_id": "visitor-V", "customer_id": buyer, "linked_events": 2}
    assert [e.customer_id for e in _stored(session, visitor_id="visitor-V")] == [buyer, buyer]

    # browsing after the login is the customer's as it arrives
    reply = client.post(
        "/api/v1/events",
        json={"events": [page_view("visitor-V", "session-2", url=f"{SHOP}/cart")]},
        headers=key,
    )
    assert reply.json() == {"accepted": 1, "linked": 1}
    listed = client.get(f"/api/v1/events?customer_id={buyer}", headers=token).json()
    assert [e["url"] for e in listed["items"]] == [
        f"{SHOP}/cart",
        f"{SHOP}/p/7",
        f"{SHOP}/",
    ]
    # another visitor's browsing stays anonymous
    client.post("/api/v1/events", json={"events": [page_view("visitor-W")]}, headers=key)
    assert [e.customer_id for e in _stored(session, visitor_id="visitor-W")] == [None]


def test_a_second_login_as_someone_else_moves_the_visitor_but_not_the_past(
    client: TestClient, session: Session, people: People
) -> None:
    admin = people.user("admin")
    token = people.token(admin)
    first = customer(session, admin.user, "第一位")
    second = customer(session, admin.user, "第二位")
    key = _key(session)
    client.post("/api/v1/events", json={"events": [page_view("shared-pc", "a")]}, headers=key)
    body = {"visitor_id": "shared-pc", "customer_id": first}
    assert client.post("/api/v1/events/identify", json=body, headers=token).status_code == 200
    # identifying again changes nothing and links nothing twice
    again = client.post("/api/v1/events/identify", json=body, headers=token)
    assert again.json()["linked_events"] == 0
    body = {"visitor_id": "shared-pc", "customer_id": second}
    assert client.post("/api/v1/events/identify", json=body, headers=token).status_code == 200
    client.post("/api/v1/events", json={"events": [page_view("shared-pc", "b")]}, headers=key)

    owners = {e.session_id: e.customer_id for e in _stored(session, visitor_id="shared-pc")}
    assert owners == {"a": first, "b": second}
    assert session.get(VisitorLink, "shared-pc").customer_id == second  # type: ignore[union-attr]


def test_a_batch_of_thousands_is_accepted_in_one_request(
    client: TestClient, session: Session
) -> None:
    key = _key(session)
    batch = [
        page_view(f"v-{i % 300}", f"s-{i % 900}", at=minutes_ago(i / 10), dwell_seconds=i % 50)
        if i % 3
        else product_view(f"v-{i % 300}", f"s-{i % 900}", at=minutes_ago(i / 10), product_id=i + 1)
        for i in range(5000)
    ]
    reply = client.post("/api/v1/events", json={"events": batch}, headers=key)
    assert reply.status_code == 202, reply.text
    assert reply.json()["accepted"] == 5000
    assert _count(session) == 5000
    kinds = dict(
        (kind, count)
        for kind, count in session.execute(
            select(WebEvent.kind, func.count()).group_by(WebEvent.kind)
        )
    )
    assert kinds == {"page_view": 3333, "product_view": 1667}


def test_the_largest_batch_is_accepted_and_one_more_is_refused(
    client: TestClient, session: Session
) -> None:
    key = _key(session)
    event = page_view()
    too_many = client.post(
        "/api/v1/events", json={"events": [event] * (MAX_EVENTS + 1)}, headers=key
    )
    assert too_many.status_code == 413
    assert too_many.headers["content-type"].startswith("application/problem+json")
    assert "10000" in too_many.json()["detail"]
    assert _count(session) == 0
    exactly = client.post("/api/v1/events", json={"events": [event] * MAX_EVENTS}, headers=key)
    assert exactly.status_code == 202
    assert _count(session) == MAX_EVENTS


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "yesterday"}, "events[12].occurred_at"),
        ({"kind": "click"}, "events[12].kind"),
        ({"dwell_seconds": -1}, "events[12].dwell_seconds"),
        ({"visitor_id": "v" * 65}, "events[12].visitor_id"),
        ({"session_id": ""}, "events[12].session_id"),
        ({"url": ""}, "events[12].url"),
        ({"kind": "product_view", "url": "https://x"}, "events[12].product_id"),
    ],
)
def test_a_bad_event_refuses_the_whole_batch_naming_its_place(
    client: TestClient, session: Session, change: dict[str, object], field: str
) -> None:
    key = _key(session)
    batch = [page_view(f"v-{i}") for i in range(40)]
    batch[12].update(change)
    reply = client.post("/api/v1/events", json={"events": batch}, headers=key)
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in reply.json()["errors"]] == [field]
    assert _count(session) == 0


def test_an_event_from_the_far_future_is_refused_but_a_fast_clock_is_not(
    client: TestClient, session: Session
) -> None:
    key = _key(session)
    far = page_view(at=minutes_ago(-60 * 24 * 2))
    reply = client.post("/api/v1/events", json={"events": [page_view(), far]}, headers=key)
    assert reply.status_code == 422
    assert reply.json()["errors"] == [
        {"field": "events[1].occurred_at", "message": "Lies in the future."}
    ]
    fast = page_view(at=minutes_ago(-5))
    assert client.post("/api/v1/events", json={"events": [fast]}, headers=key).status_code == 202
    # a time without an offset is UTC
    naive = page_view(at=minutes_ago(10).replace(tzinfo=None))
    assert client.post("/api/v1/events", json={"events": [naive]}, headers=key).status_code == 202


def test_a_body_that_is_not_a_batch_is_refused(client: TestClient, session: Session) -> None:
    key = _key(session)
    for body, field in ((b"{not json", "body"), (b"[]", "body"), (b"{}", "events")):
        reply = client.post("/api/v1/events", content=body, headers=key)
        assert reply.status_code == 422, body
        assert reply.json()["errors"][0]["field"] == field
    assert _count(session) == 0


def test_a_wrong_or_missing_ingest_key_is_refused(
    client: TestClient, session: Session, people: People
) -> None:
    batch = {"events": [page_view()]}
    # no key made yet: nothing a browser sends is accepted
    reply = client.post("/api/v1/events", json=batch, headers={"X-Guanxi-Ingest-Key": "gxk_x"})
    assert reply.status_code == 401
    key = _key(session)
    for headers in ({}, {"X-Guanxi-Ingest-Key": "gxk_guessed"}):
        reply = client.post("/api/v1/events", json=batch, headers=headers)
        assert reply.status_code == 401, headers
        assert reply.headers["content-type"].startswith("application/problem+json")
    # a rotated key replaces the old one at once
    new_key = _key(session)
    assert client.post("/api/v1/events", json=batch, headers=key).status_code == 401
    assert client.post("/api/v1/events", json=batch, headers=new_key).status_code == 202
    # a signed-in browser session is not a key (a shop page may be on the same site)
    clerk = people.user("admin")
    assert sign_in(client, clerk.username, clerk.password).status_code == 303
    assert client.get("/admin/web-events").status_code == 200  # signed in indeed
    assert client.post("/api/v1/events", json=batch).status_code == 401
    assert _count(session) == 1


def test_browser_callers_cannot_say_who_the_customer_is(
    client: TestClient, session: Session, people: People
) -> None:
    admin = people.user("admin")
    buyer = customer(session, admin.user, external_id="shop-1")
    key = _key(session)
    for field, value in (("customer_id", buyer), ("customer_external_id", "shop-1")):
        named = page_view()
        named[field] = value
        batch = [page_view(), named]
        reply = client.post("/api/v1/events", json={"events": batch}, headers=key)
        assert reply.status_code == 403
        assert reply.json()["errors"][0]["field"] == "events[1].customer_id"
    assert _count(session) == 0

    # the shop's server, with a token, may
    token = people.token(admin)
    batch = [page_view(customer_id=buyer), page_view("v-2", customer_external_id="shop-1")]
    reply = client.post("/api/v1/events", json={"events": batch}, headers=token)
    assert reply.json() == {"accepted": 2, "linked": 2}
    assert [e.customer_id for e in _stored(session)] == [buyer, buyer]


def test_token_callers_name_only_customers_they_may_see(
    client: TestClient, session: Session, people: People
) -> None:
    seller, other = people.user("sales"), people.user("sales")
    mine = customer(session, seller.user, "我的客户")
    theirs = customer(session, other.user, "别人的客户", external_id="theirs-1")
    token = people.token(seller)
    batch = [
        page_view(customer_id=mine),
        page_view(customer_id=theirs),
        page_view(customer_external_id="theirs-1"),
        page_view(customer_id=99_999_999),
    ]
    reply = client.post("/api/v1/events", json={"events": batch}, headers=token)
    assert reply.status_code == 422
    assert [e["field"] for e in reply.json()["errors"]] == [
        "events[1].customer_id",
        "events[3].customer_id",
        "events[2].customer_external_id",
    ]
    assert _count(session) == 0
    # a role that may only read interactions may not send events with its token
    analyst = people.token(people.user("analyst"))
    reply = client.post("/api/v1/events", json={"events": [page_view()]}, headers=analyst)
    assert reply.status_code == 403


def _role_without_interactions(session: Session) -> Person:
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="catalogue",
            label="Catalogue",
            record_scope="all",
            permissions={"customers": ["read"], "products": ["read"]},
        ),
    )
    user = auth_service.create_user(
        session=session,
        user_in=UserCreate(username="catalogue-1", password=PASSWORD, role="catalogue"),
    )
    return Person(user, PASSWORD)


def test_reading_events_follows_the_customers_visibility(
    client: TestClient, session: Session, people: People
) -> None:
    seller, other = people.user("sales"), people.user("sales")
    mine = customer(session, seller.user, "我的客户")
    admin_token = people.token(people.user("admin"))
    batch = [
        page_view(customer_id=mine, at=minutes_ago(3), url=f"{SHOP}/a"),
        product_view(customer_id=mine, at=minutes_ago(2), product_id=5),
        page_view(customer_id=mine, at=minutes_ago(1), url=f"{SHOP}/b"),
    ]
    client.post("/api/v1/events", json={"events": batch}, headers=admin_token)

    owner = client.get(f"/api/v1/events?customer_id={mine}&limit=2", headers=people.token(seller))
    assert owner.status_code == 200
    page = owner.json()
    assert [e["url"] for e in page["items"]] == [f"{SHOP}/b", f"{SHOP}/p/5"]
    rest = client.get(
        f"/api/v1/events?customer_id={mine}&limit=2&cursor={page['next_cursor']}",
        headers=people.token(seller),
    ).json()
    assert [e["url"] for e in rest["items"]] == [f"{SHOP}/a"] and rest["next_cursor"] is None
    products = client.get(
        f"/api/v1/events?customer_id={mine}&kind=product_view", headers=people.token(seller)
    ).json()
    assert [e["product_id"] for e in products["items"]] == [5]

    # another seller cannot see the customer: not found, as if it did not exist
    stranger = client.get(f"/api/v1/events?customer_id={mine}", headers=people.token(other))
    assert stranger.status_code == 404
    assert stranger.headers["content-type"].startswith("application/problem+json")
    # a role without interactions:read is refused outright
    reader = _role_without_interactions(session)
    refused = client.get(f"/api/v1/events?customer_id={mine}", headers=people.token(reader))
    assert refused.status_code == 403
    # identify checks visibility too
    reply = client.post(
        "/api/v1/events/identify",
        json={"visitor_id": "v-x", "customer_id": mine},
        headers=people.token(other),
    )
    assert reply.status_code == 404
    assert session.get(VisitorLink, "v-x") is None


def test_identify_needs_a_customer(client: TestClient, session: Session, people: People) -> None:
    token = people.token(people.user("admin"))
    reply = client.post("/api/v1/events/identify", json={"visitor_id": "v"}, headers=token)
    assert reply.status_code == 422
    reply = client.post(
        "/api/v1/events/identify",
        json={"visitor_id": "v", "customer_external_id": "nobody"},
        headers=token,
    )
    assert reply.status_code == 404


def test_allowed_shop_origins_get_cors_answers_and_others_are_refused(
    client: TestClient, session: Session
) -> None:
    key = _key(session, origins=[SHOP])
    preflight = client.options(
        "/api/v1/events",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-guanxi-ingest-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert "x-guanxi-ingest-key" in preflight.headers["access-control-allow-headers"]
    elsewhere = client.options("/api/v1/events", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in elsewhere.headers

    batch = {"events": [page_view()]}
    ok = client.post("/api/v1/events", json=batch, headers={**key, "Origin": SHOP})
    assert ok.status_code == 202
    assert ok.headers["access-control-allow-origin"] == SHOP
    refused = client.post(
        "/api/v1/events", json=batch, headers={**key, "Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert _count(session) == 1


def test_a_beacon_sends_text_with_the_key_in_the_query(
    client: TestClient, session: Session
) -> None:
    key = _key(session)["X-Guanxi-Ingest-Key"]
    import json

    reply = client.post(
        f"/api/v1/events?key={key}",
        content=json.dumps({"events": [page_view(dwell_seconds=12)]}).encode(),
        headers={"Content-Type": "text/plain;charset=UTF-8"},
    )
    assert reply.status_code == 202, reply.text
    assert [e.dwell_seconds for e in _stored(session)] == [12]


def test_every_ingested_batch_is_audited(client: TestClient, session: Session) -> None:
    from guanxi.audit.models import AuditEntry

    key = _key(session)
    client.post("/api/v1/events", json={"events": [page_view(), page_view()]}, headers=key)
    session.expire_all()
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "web_events.ingest")
    ).one()
    assert entry.changes["accepted"] == 2 and entry.changes["via"] == "ingest_key"
    assert entry.actor_username == "ingest-key" and entry.actor_id is None
