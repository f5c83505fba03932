"""The webhooks API: endpoints with a secret shown once, a ping a receiver verifies, the
delivery log with filters and pages, replay, and administrators only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.webhooks.events import EVENT_TYPES, emit
from tests.conftest import People
from tests.webhooks.receiver import running_receiver


def _create(client: TestClient, headers: dict[str, str], **body: object) -> dict:
    reply = client.post("/api/v1/webhooks", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(
    client: TestClient, people: People, session: Session
):
    admin = people.token(people.user("admin"))
    created = _create(
        client,
        admin,
        url="https://erp.example.com/hooks",
        description="ERP",
        event_types=["order.created", "order.created", "contract.expiring"],
    )
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["order.created", "contract.expiring"]
    assert created["secret_hint"] == created["secret"][:10] + "…"
    read = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin).json()
    assert "secret" not in read and read["url"] == "https://erp.example.com/hooks"
    listed = client.get("/api/v1/webhooks", headers=admin).json()
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    assert client.get("/api/v1/webhooks/event-types", headers=admin).json() == list(EVENT_TYPES)

    # the audit log says the endpoint was made, never what its secret is
    session.expire_all()
    entries = session.query(AuditEntry).filter_by(entity_type="webhook_endpoint").all()
    assert entries and all(created["secret"] not in str(e.changes) for e in entries)


def test_rotating_the_secret_gives_a_new_one_and_keeps_the_rest(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    created = _create(client, admin, url="https://erp.example.com/hooks")
    reply = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=admin)
    assert reply.status_code == 200
    rotated = reply.json()["secret"]
    assert rotated.startswith("whsec_") and rotated != created["secret"]
    read = client.get(f"/api/v1/webhooks/{created['id']}", headers=admin)
    assert read.json()["secret_hint"] == rotated[:10] + "…"
    assert read.json()["version"] == created["version"] + 1


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("http://erp.example.com/hooks", "url"),  # plain http beyond loopback
        ("ftp://erp.example.com/hooks", "url"),
        ("not a url", "url"),
        ("https://", "url"),
    ],
)
def test_bad_addresses_are_refused(client: TestClient, people: People, url: str, field: str):
    admin = people.token(people.user("admin"))
    reply = client.post("/api/v1/webhooks", json={"url": url}, headers=admin)
    assert reply.status_code == 422
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].endswith(field) for e in reply.json()["errors"])


def test_loopback_may_use_plain_http_and_unknown_events_are_refused(
    client: TestClient, people: People
):
    admin = people.token(people.user("admin"))
    for url in ("http://127.0.0.1:9000/h", "http://localhost/h", "http://[::1]:8080/h"):
        _create(client, admin, url=url)
    reply = client.post(
        "/api/v1/webhooks",
        json={"url": "https://a.example/h", "event_types": ["order.exploded"]},
        headers=admin,
    )
    assert reply.status_code == 422


def test_updates_check_the_version_and_the_address(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    created = _create(client, admin, url="https://erp.example.com/hooks")
    path = f"/api/v1/webhooks/{created['id']}"
    stale = client.patch(path, json={"description": "x"}, headers={**admin, "If-Match": 'W/"99"'})
    assert stale.status_code == 412
    bad = client.patch(path, json={"url": "http://erp.example.com/h"}, headers=admin)
    assert bad.status_code == 422
    fine = client.patch(
        path,
        json={"is_active": False, "event_types": ["opportunity.won"]},
        headers={**admin, "If-Match": f'W/"{created["version"]}"'},
    )
    assert fine.status_code == 200
    assert fine.json()["is_active"] is False and fine.json()["event_types"] == ["opportunity.won"]
    assert client.delete(path, headers=admin).status_code == 204
    assert client.get(path, headers=admin).status_code == 404


def test_a_ping_reaches_a_real_receiver_and_is_logged(inline_client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    with running_receiver() as receiver:
        created = _create(inline_client, admin, url=receiver.url)
        receiver.secret = created["secret"]
        receiver.statuses = [500]
        reply = inline_client.post(f"/api/v1/webhooks/{created['id']}/ping", headers=admin)
        assert reply.status_code == 202
        delivery_id = reply.json()["id"]
        assert [r.verified for r in receiver.seen()] == [True, True]
        assert receiver.seen()[0].payload["type"] == "webhook.ping"  # type: ignore[index]

    delivery = inline_client.get(f"/api/v1/webhooks/deliveries/{delivery_id}", headers=admin)
    body = delivery.json()
    assert body["status"] == "succeeded" and body["attempt_count"] == 2
    assert [a["status_code"] for a in body["attempts"]] == [500, 200]
    assert body["body"] == receiver.seen()[0].body


def test_the_delivery_log_filters_and_pages(
    inline_client: TestClient, people: People, session: Session
):
    admin = people.token(people.user("admin"))
    first = _create(inline_client, admin, url="https://first.example/h", is_active=False)
    second = _create(inline_client, admin, url="https://second.example/h", is_active=False)
    # deliveries written without being sent: emit while an endpoint is active, in the test's
    # own session, and drop the jobs it queued for after the commit
    for endpoint, count in ((first, 3), (second, 2)):
        inline_client.patch(
            f"/api/v1/webhooks/{endpoint['id']}", json={"is_active": True}, headers=admin
        )
        session.expire_all()
        for n in range(count):
            emit(session, "order.created" if n else "contract.expiring", {"n": n})
        session.info.pop("jobs_after_commit", None)
        session.flush()
        inline_client.patch(
            f"/api/v1/webhooks/{endpoint['id']}", json={"is_active": False}, headers=admin
        )

    def ids(query: str) -> list[int]:
        reply = inline_client.get(f"/api/v1/webhooks/deliveries?{query}", headers=admin)
        assert reply.status_code == 200, reply.text
        return [d["id"] for d in reply.json()["items"]]

    everything = ids("")
    assert len(everything) == 5 and everything == sorted(everything, reverse=True)
    assert len(ids(f"endpoint_id={first['id']}")) == 3
    assert len(ids(f"endpoint_id={second['id']}&event_type=order.created")) == 1
    assert len(ids("status=pending")) == 5 and ids("status=failed") == []
    page = inline_client.get("/api/v1/webhooks/deliveries?limit=2", headers=admin).json()
    rest = inline_client.get(
        f"/api/v1/webhooks/deliveries?limit=10&cursor={page['next_cursor']}", headers=admin
    ).json()
    assert [d["id"] for d in page["items"]] + [d["id"] for d in rest["items"]] == everything
    assert (
        inline_client.get("/api/v1/webhooks/deliveries?status=lost", headers=admin).status_code
        == 422
    )


def test_replay_sends_a_failed_delivery_again(inline_client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    with running_receiver() as receiver:
        created = _create(inline_client, admin, url=receiver.url)
        receiver.secret = created["secret"]
        receiver.then = 502
        ping = inline_client.post(f"/api/v1/webhooks/{created['id']}/ping", headers=admin)
        path = f"/api/v1/webhooks/deliveries/{ping.json()['id']}"
        assert inline_client.get(path, headers=admin).json()["status"] == "failed"

        receiver.then = 200
        reply = inline_client.post(f"{path}/replay", headers=admin)
        assert reply.status_code == 202
        after = inline_client.get(path, headers=admin).json()
        assert after["status"] == "succeeded" and after["delivered_at"]
        assert [(a["status_code"], a["replay"]) for a in after["attempts"]][-1] == (200, True)
        assert len({r.headers["webhook-id"] for r in receiver.seen()}) == 1

        inline_client.patch(
            f"/api/v1/webhooks/{created['id']}", json={"is_active": False}, headers=admin
        )
        assert inline_client.post(f"{path}/replay", headers=admin).status_code == 409
        assert (
            inline_client.post(f"/api/v1/webhooks/{created['id']}/ping", headers=admin).status_code
            == 409
        )


@pytest.mark.parametrize("role", ["manager", "sales"])
def test_only_administrators_use_the_webhooks_api(client: TestClient, people: People, role: str):
    admin = people.token(people.user("admin"))
    created = _create(client, admin, url="https://erp.example.com/hooks")
    other = people.token(people.user(role))
    base = f"/api/v1/webhooks/{created['id']}"
    calls = [
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("POST", f"{base}/ping"),
        ("GET", "/api/v1/webhooks/deliveries"),
        ("GET", "/api/v1/webhooks/deliveries/1"),
        ("POST", "/api/v1/webhooks/deliveries/1/replay"),
    ]
    for method, path in calls:
        kwargs = {"json": {"url": "https://x.example/h"}} if method in ("POST", "PATCH") else {}
        reply = client.request(method, path, headers=other, **kwargs)
        assert reply.status_code == 403, (method, path, reply.status_code)
    assert client.get("/api/v1/webhooks").status_code == 401
