"""POST /api/v1/orders/bulk: thousands of orders per request, idempotent, each item whole or
refused with its index and field while the rest are written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.models import Order
from guanxi.sales.orders import erp
from guanxi.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import People
from tests.sales.orders_erp_support import audit_count, customer, dump, order_body, products

URL = "/api/v1/orders/bulk"


def _orders(customer_ids: list[int], count: int, **changes: Any) -> list[dict[str, Any]]:
    return [
        {
            **order_body(customer_ids[n % len(customer_ids)], **changes),
            "external_id": f"shop-{n}",
            "ordered_at": f"2026-11-{1 + n % 28:02d}T09:00:{n % 60:02d}+08:00",
        }
        for n in range(count)
    ]


def test_the_same_bulk_upsert_twice_leaves_the_same_rows(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    headers = people.token(admin)
    buyers = [customer(session, admin, f"客户{n}", external_id=f"c-{n}").id for n in range(5)]
    products(session)
    orders = _orders(buyers, 300)

    first = client.post(URL, json={"orders": orders}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "created": 300, "updated": 0, "unchanged": 0, "refused": 0, "refusals": []
    }  # fmt: skip
    tables = dump(session, "orders"), dump(session, "order_lines")
    entries = audit_count(session)
    assert len(tables[0]) == 300 and len(tables[1]) == 900
    assert len({row[0] for row in tables[0]}) == 300

    second = client.post(URL, json={"orders": orders}, headers=headers)
    assert second.json()["unchanged"] == 300 and second.json()["created"] == 0
    assert (dump(session, "orders"), dump(session, "order_lines")) == tables
    assert audit_count(session) == entries


def test_changed_items_update_and_the_rest_stay_unchanged(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "刘洋")
    products(session)
    orders = _orders([buyer.id], 20)
    client.post(URL, json={"orders": orders}, headers=headers)
    entries = audit_count(session)

    orders[3]["lines"] = [{"sku": "CUP-2", "quantity": "7", "unit_price": "19.90"}]
    orders[4]["status"] = "completed"
    reply = client.post(URL, json={"orders": orders}, headers=headers).json()
    assert (reply["created"], reply["updated"], reply["unchanged"]) == (0, 2, 18)
    assert audit_count(session) == entries + 2
    changed = session.scalars(
        select(Order).where(Order.external_id == "shop-3").execution_options(populate_existing=True)
    ).one()
    assert (str(changed.total), str(changed.cost_total), changed.version) == ("139.30", "44.31", 2)
    assert [line.quantity for line in changed.lines] == [7]
    completed = session.scalars(select(Order).where(Order.external_id == "shop-4")).one()
    assert completed.status == "completed" and completed.completed_at is not None


def test_refused_items_are_reported_and_the_others_written(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "陈晨", external_id="crm-1")
    products(session)
    orders = _orders([buyer.id], 6)
    del orders[0]["customer_id"]
    orders[0]["customer_external_id"] = "crm-1"  # fine: by the customer's external id
    del orders[1]["customer_id"]
    orders[1]["customer_external_id"] = "crm-missing"
    orders[2]["lines"][2]["sku"] = "NO-SUCH"
    orders[3]["lines"][1]["quantity"] = "-2"
    orders[5]["external_id"] = orders[4]["external_id"]
    orders.append("not an order")

    reply = client.post(URL, json={"orders": orders}, headers=headers)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["created"], body["refused"]) == (2, 5)
    refused = [(r["index"], r["external_id"], r["field"]) for r in body["refusals"]]
    assert refused == [
        (1, "shop-1", "customer_external_id"),
        (2, "shop-2", "lines[2].sku"),
        (3, "shop-3", "lines[1].quantity"),
        (5, "shop-4", "external_id"),
        (6, None, "body"),
    ]
    assert all(r["reason"] for r in body["refusals"])
    stored = session.scalars(select(Order.external_id).order_by(Order.external_id)).all()
    assert stored == ["shop-0", "shop-4"]


def test_a_sales_user_cannot_upsert_for_customers_out_of_sight(
    client: TestClient, session: Session, people: People
):
    rep, other = people.user("sales"), people.user("sales")
    products(session)
    own = customer(session, rep, "自己的")
    hidden = customer(session, other, "别人的")
    orders = [
        {**order_body(own.id), "external_id": "a"},
        {**order_body(hidden.id), "external_id": "b"},
    ]
    body = client.post(URL, json={"orders": orders}, headers=people.token(rep)).json()
    assert (body["created"], body["refused"]) == (1, 1)
    assert body["refusals"][0]["field"] == "customer_id"
    assert "别人的" not in str(body)
    assert session.scalars(select(Order.owner_id)).all() == [rep.user.id]


def test_permissions_and_limits(client: TestClient, session: Session, people: People):
    headers = people.token(people.user("admin"))
    for role in ("service", "analyst", "marketing"):
        reply = client.post(URL, json={"orders": []}, headers=people.token(people.user(role)))
        assert reply.status_code == 403, role

    too_many = client.post(URL, json={"orders": [{}] * (erp.MAX_ORDERS + 1)}, headers=headers)
    assert too_many.status_code == 413
    assert too_many.headers["content-type"].startswith("application/problem+json")
    line = {"sku": "X", "quantity": 1, "unit_price": 1}
    wide = [{"lines": [line] * 25_001}, {"lines": [line] * 25_000}]
    assert client.post(URL, json={"orders": wide}, headers=headers).status_code == 413
    empty = client.post(URL, json={"orders": []}, headers=headers)
    assert empty.json()["created"] == 0


def test_no_update_permission_refuses_changes_only(
    client: TestClient, session: Session, people: People, monkeypatch: Any
):
    admin = people.user("admin")
    buyer = customer(session, admin, "黄磊")
    products(session)
    orders = _orders([buyer.id], 2)
    client.post(URL, json={"orders": orders}, headers=people.token(admin))
    monkeypatch.setattr(type(admin.user), "can", lambda self, resource, action: action != "update")
    orders[0]["notes"] = "changed"
    body = client.post(URL, json={"orders": orders}, headers=people.token(admin)).json()
    assert (body["unchanged"], body["refused"]) == (1, 1)
    assert body["refusals"][0]["field"] == "external_id"


def test_webhook_events_for_created_and_updated_orders(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "林峰")
    products(session)
    session.add(WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="whsec_dGVzdA=="))
    session.flush()
    orders = _orders([buyer.id], 3)
    client.post(URL, json={"orders": orders}, headers=headers)
    orders[1]["status"] = "shipped"
    orders[2]["notes"] = "call first"
    client.post(URL, json={"orders": orders}, headers=headers)
    kinds = session.scalars(select(WebhookDelivery.event_type).order_by(WebhookDelivery.id)).all()
    assert kinds == ["order.created"] * 3 + ["order.status_changed", "order.updated"]
