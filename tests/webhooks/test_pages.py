"""The webhook admin pages: register an endpoint and see its secret once, edit it with inline
errors, send a test event, read a delivery with its attempts and replay it; admins only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.webhooks.models import WebhookEndpoint
from tests.conftest import PASSWORD, People
from tests.web.forms import sign_in, submit
from tests.webhooks.receiver import running_receiver


def _endpoint(session: Session, url: str) -> WebhookEndpoint:
    session.expire_all()
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == url))
    assert endpoint is not None
    return endpoint


def test_an_admin_creates_an_endpoint_and_sees_the_secret_once(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    assert 'href="/admin/webhooks"' in client.get("/admin").text
    reply = submit(
        client,
        "/admin/webhooks",
        "/admin/webhooks",
        {
            "url": "https://erp.example.com/hooks",
            "description": "ERP 订单同步",
            "event_types": ["order.created", "contract.renewed"],
            "is_active": "on",
        },
    )
    assert reply.status_code == 200
    endpoint = _endpoint(session, "https://erp.example.com/hooks")
    assert endpoint.event_types == ["order.created", "contract.renewed"] and endpoint.is_active
    assert f'<code id="webhook-secret">{endpoint.secret}</code>' in reply.text
    page = client.get(f"/admin/webhooks/{endpoint.id}").text
    assert endpoint.secret not in page and endpoint.secret[:10] in page
    assert "ERP 订单同步" in client.get("/admin/webhooks").text

    first_secret = endpoint.secret
    rotated = submit(
        client, f"/admin/webhooks/{endpoint.id}", f"/admin/webhooks/{endpoint.id}/rotate-secret", {}
    )
    new_secret = _endpoint(session, endpoint.url).secret
    assert new_secret != first_secret and new_secret in rotated.text


def test_a_refused_form_keeps_what_was_typed(client: TestClient, people: People, session: Session):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    reply = submit(
        client,
        "/admin/webhooks",
        "/admin/webhooks",
        {"url": "http://erp.example.com/hooks", "description": "keep me"},
    )
    assert reply.status_code == 422
    assert "Use an https:// address." in reply.text and 'value="keep me"' in reply.text
    assert session.scalar(select(WebhookEndpoint)) is None


def test_an_admin_edits_pings_and_replays(
    inline_client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    sign_in(inline_client, admin.username, PASSWORD)
    with running_receiver() as receiver:
        submit(inline_client, "/admin/webhooks", "/admin/webhooks", {"url": receiver.url})
        endpoint = _endpoint(session, receiver.url)
        receiver.secret = endpoint.secret
        page_url = f"/admin/webhooks/{endpoint.id}"
        saved = submit(
            inline_client,
            page_url,
            page_url,
            {"url": receiver.url, "description": "库存", "version": str(endpoint.version)},
        )
        assert saved.status_code == 303
        edited = _endpoint(session, receiver.url)
        assert edited.description == "库存" and not edited.is_active  # unticked: inactive
        refused = submit(inline_client, page_url, f"{page_url}/ping", {})
        assert refused.status_code == 422 and "activate it before" in refused.text

        submit(inline_client, page_url, page_url, {"url": receiver.url, "is_active": "on"})
        receiver.then = 500
        pinged = submit(inline_client, page_url, f"{page_url}/ping", {})
        assert pinged.status_code == 303
        delivery_url = pinged.headers["location"]
        assert re.fullmatch(r"/admin/webhooks/deliveries/\d+", delivery_url)
        page = inline_client.get(delivery_url).text
        assert "Test event queued." in page and "webhook-id: msg_" in page
        assert page.count(">500<") == 3 and "failed" in page

        receiver.then = 200
        replayed = submit(inline_client, delivery_url, f"{delivery_url}/replay", {})
        assert replayed.status_code == 303
        page = inline_client.get(delivery_url).text
        assert "Replay queued." in page and ">200<" in page and "replay" in page
        assert all(r.verified for r in receiver.seen()) and len(receiver.seen()) == 4

    log = inline_client.get(
        f"/admin/webhooks/deliveries?status=succeeded&endpoint_id={endpoint.id}"
    )
    assert log.status_code == 200 and delivery_url in log.text
    assert delivery_url not in inline_client.get("/admin/webhooks/deliveries?status=failed").text

    deleted = submit(inline_client, page_url, f"{page_url}/delete", {})
    assert deleted.status_code == 303
    assert inline_client.get(page_url).status_code == 404


@pytest.mark.parametrize("role", ["manager", "sales"])
def test_other_roles_may_not_open_the_webhook_pages(
    client: TestClient, people: People, session: Session, role: str
):
    admin = people.user("admin")
    sign_in(client, admin.username, PASSWORD)
    submit(client, "/admin/webhooks", "/admin/webhooks", {"url": "https://a.example/h"})
    endpoint = _endpoint(session, "https://a.example/h")
    client.cookies.clear()
    person = people.user(role)
    session.flush()
    sign_in(client, person.username, PASSWORD)
    for path in (
        "/admin/webhooks",
        f"/admin/webhooks/{endpoint.id}",
        "/admin/webhooks/deliveries",
        "/admin/webhooks/deliveries/1",
    ):
        assert client.get(path).status_code == 403, path
    admin_index = client.get("/admin")
    assert admin_index.status_code == 403 or 'href="/admin/webhooks"' not in admin_index.text
