"""Contracts through the API: create with a generated number, statuses from dates, edit with
If-Match, activation, termination, renewal linking old and new, filters, roles and visibility."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.models import Contract
from guanxi.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import People
from tests.sales.contracts_support import contract_body, create_contract, customer

TODAY = date.today()


def _day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def test_create_numbers_the_contract_and_derives_its_status(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales", team=people.team("East"))
    api = people.token(rep)
    buyer = customer(session, rep.user)

    first = create_contract(client, api, buyer)
    assert first["number"] == f"HT-{TODAY.year}-000001"
    assert first["status"] == "active" and first["owner_id"] == rep.user.id
    assert first["amount"] == "120000.00" and first["customer_name"] == "杭州青山茶业"
    assert first["effective_warning_days"] == 30 and first["warning_days"] is None
    second = create_contract(client, api, buyer, end_date=_day(10))
    assert second["number"] == f"HT-{TODAY.year}-000002"
    assert second["status"] == "expiring"  # ends within the 30-day warning window
    draft = create_contract(client, api, buyer, signed_on=None, number="自定-001")
    assert draft["status"] == "draft" and draft["number"] == "自定-001"
    ended = create_contract(client, api, buyer, start_date=_day(-400), end_date=_day(-1))
    assert ended["status"] == "expired"

    taken = client.post(
        "/api/v1/contracts", json=contract_body(buyer, number="自定-001"), headers=api
    )
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "number"


def test_bad_input_is_refused_with_the_field_named(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    backwards = client.post(
        "/api/v1/contracts",
        json=contract_body(buyer, start_date=_day(5), end_date=_day(1)),
        headers=api,
    )
    assert backwards.status_code == 422
    negative = client.post("/api/v1/contracts", json=contract_body(buyer, amount="-1"), headers=api)
    assert negative.status_code == 422 and negative.json()["errors"][0]["field"].endswith("amount")
    float_cents = client.post(
        "/api/v1/contracts", json=contract_body(buyer, amount="1.005"), headers=api
    )
    assert float_cents.status_code == 422
    unknown_customer = client.post(
        "/api/v1/contracts", json=contract_body(buyer + 999_999), headers=api
    )
    assert unknown_customer.status_code == 422
    assert unknown_customer.json()["errors"][0]["field"] == "customer_id"


def test_edit_needs_the_current_version_and_recomputes_the_status(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    made = create_contract(client, api, customer(session, rep.user))
    url = f"/api/v1/contracts/{made['id']}"
    etag = client.get(url, headers=api).headers["ETag"]

    moved = client.patch(url, json={"end_date": _day(5)}, headers={**api, "If-Match": etag})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "expiring" and moved.json()["version"] == made["version"] + 1
    stale = client.patch(url, json={"title": "旧版本"}, headers={**api, "If-Match": etag})
    assert stale.status_code == 412
    own_days = client.patch(url, json={"warning_days": 3}, headers=api)
    assert own_days.json()["status"] == "active" and own_days.json()["effective_warning_days"] == 3


def test_activate_terminate_and_their_refusals(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    draft = create_contract(client, api, customer(session, rep.user), signed_on=None)
    url = f"/api/v1/contracts/{draft['id']}"
    active = client.post(f"{url}/activate", headers=api)
    assert active.status_code == 200
    assert active.json()["status"] == "active" and active.json()["signed_on"] is not None
    assert client.post(f"{url}/activate", headers=api).status_code == 409

    assert client.post(f"{url}/terminate", json={"reason": ""}, headers=api).status_code == 422
    ended = client.post(
        f"{url}/terminate", json={"reason": "客户破产", "terminated_on": _day(0)}, headers=api
    )
    assert ended.status_code == 200
    body = ended.json()
    assert body["status"] == "terminated" and body["termination_reason"] == "客户破产"
    again = client.post(f"{url}/terminate", json={"reason": "again"}, headers=api)
    assert again.status_code == 409
    # terminated is final: a later edit of its dates does not bring it back
    patched = client.patch(url, json={"end_date": _day(300)}, headers=api)
    assert patched.json()["status"] == "terminated"


def test_renewal_links_old_and_new_and_happens_only_once(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    session.add(WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="x" * 32, event_types=[]))
    session.flush()
    old = create_contract(client, api, customer(session, rep.user), end_date=_day(20))
    reply = client.post(
        f"/api/v1/contracts/{old['id']}/renew", json={"amount": "150000.00"}, headers=api
    )
    assert reply.status_code == 201, reply.text
    new = reply.json()
    assert new["renewed_from_id"] == old["id"] and new["amount"] == "150000.00"
    assert new["start_date"] == _day(21)  # the day after the old end
    assert new["status"] == "draft" and new["customer_id"] == old["customer_id"]
    refreshed = client.get(f"/api/v1/contracts/{old['id']}", headers=api).json()
    assert refreshed["status"] == "renewed" and refreshed["renewed_by_id"] == new["id"]

    twice = client.post(f"/api/v1/contracts/{old['id']}/renew", json={}, headers=api)
    assert twice.status_code == 409
    events = set(session.scalars(select(WebhookDelivery.event_type)))
    assert {"contract.created", "contract.renewed", "contract.status_changed"} <= events


def test_list_filters_by_status_expiry_window_and_text(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    soon = create_contract(client, api, buyer, title="茶叶供货", end_date=_day(20))
    later = create_contract(client, api, buyer, title="包装服务", end_date=_day(75))
    create_contract(client, api, buyer, title="远期合同", end_date=_day(400))

    def ids(query: str) -> list[int]:
        reply = client.get(f"/api/v1/contracts?{query}", headers=api)
        assert reply.status_code == 200, reply.text
        return [c["id"] for c in reply.json()["items"]]

    assert ids("expiring_within=30") == [soon["id"]]
    assert ids("expiring_within=90") == [later["id"], soon["id"]]
    assert ids("status=expiring") == [soon["id"]]
    assert ids("q=包装") == [later["id"]]
    assert ids(f"q={later['number']}") == [later["id"]]
    assert len(ids(f"customer_id={buyer}")) == 3
    assert client.get("/api/v1/contracts?status=unknown", headers=api).status_code == 422


def test_other_teams_contracts_are_not_found_and_roles_are_enforced(
    client: TestClient, people: People, session: Session
):
    east, west = people.team("East"), people.team("West")
    rep = people.user("sales", team=east)
    stranger = people.user("sales", team=west)
    west_manager = people.user("manager", team=west)
    east_manager = people.user("manager", team=east)
    marketer = people.user("marketing")
    api = people.token(rep)
    made = create_contract(client, api, customer(session, rep.user))
    url = f"/api/v1/contracts/{made['id']}"

    for outsider in (stranger, west_manager):
        headers = people.token(outsider)
        assert client.get(url, headers=headers).status_code == 404
        assert client.patch(url, json={"title": "x"}, headers=headers).status_code == 404
        assert client.post(f"{url}/renew", json={}, headers=headers).status_code == 404
        assert client.get("/api/v1/contracts", headers=headers).json()["items"] == []
    assert client.get(url, headers=people.token(east_manager)).status_code == 200

    # a sales rep may not file a contract for a customer they cannot see
    theirs = customer(session, stranger.user, name="西部客户")
    hidden = client.post("/api/v1/contracts", json=contract_body(theirs), headers=api)
    assert hidden.status_code == 422

    no_right = people.token(marketer)
    assert client.get("/api/v1/contracts", headers=no_right).status_code == 403
    assert client.post("/api/v1/contracts", json={}, headers=no_right).status_code == 403
    assert client.delete(url, headers=api).status_code == 403  # sales may not delete
    assert client.get("/api/v1/contracts").status_code == 401


def test_delete_moves_to_the_bin(client: TestClient, people: People, session: Session):
    manager = people.user("manager", team=people.team("East"))
    api = people.token(manager)
    made = create_contract(client, api, customer(session, manager.user))
    url = f"/api/v1/contracts/{made['id']}"
    assert client.delete(url, headers={**api, "If-Match": 'W/"99"'}).status_code == 412
    assert client.delete(url, headers=api).status_code == 204
    assert client.get(url, headers=api).status_code == 404
    assert session.get(Contract, made["id"]) is not None  # still stored, only hidden
