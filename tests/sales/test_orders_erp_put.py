"""PUT /api/v1/orders/by-external-id/{id}: one order from a shop or ERP, created or replaced
idempotently, with exact Decimal totals, visibility and permissions."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import People
from tests.sales.orders_erp_support import audit_count, customer, dump, order_body, products

URL = "/api/v1/orders/by-external-id/"


def test_put_creates_and_the_same_put_again_changes_nothing(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "张伟")
    products(session)

    first = client.put(URL + "shop-1001", json=order_body(buyer.id), headers=headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["external_id"] == "shop-1001"
    assert body["number"].startswith("SO-20261120-")
    assert (body["subtotal"], body["discount_total"], body["total"], body["cost_total"]) == (
        "401.75",
        "10.00",
        "391.75",
        "181.00",
    )
    assert [line["sku"] for line in body["lines"]] == ["TEA-1", "TEA-1", "CUP-2"]
    assert body["lines"][0]["description"] == "龙井 250g"
    assert body["ordered_at"].startswith("2026-11-20T02:30:00")
    assert first.headers["etag"] == 'W/"1"'

    orders, lines, entries = (
        dump(session, "orders"),
        dump(session, "order_lines"),
        audit_count(session),
    )
    again = client.put(URL + "shop-1001", json=order_body(buyer.id), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == body
    assert dump(session, "orders") == orders
    assert dump(session, "order_lines") == lines
    assert audit_count(session) == entries


def test_changed_lines_replace_the_old_ones_and_totals_follow_exactly(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "李娜")
    products(session)
    created = client.put(URL + "shop-7", json=order_body(buyer.id), headers=headers).json()
    entries = audit_count(session)

    lines = [
        {"sku": "CUP-2", "quantity": "3.333", "unit_price": "0.10"},
        {"sku": "TEA-1", "quantity": "1", "unit_price": "0.05", "discount": "0.05"},
    ]
    reply = client.put(URL + "shop-7", json=order_body(buyer.id, lines=lines), headers=headers)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["id"] == created["id"] and body["number"] == created["number"]
    assert body["version"] == 2 and reply.headers["etag"] == 'W/"2"'
    # 3.333 x 0.10 = 0.3333 -> 0.33; 1 x 0.05 - 0.05 = 0.00; cost 3.333 x 6.33 = 21.09789 -> 21.10
    assert Decimal(body["subtotal"]) == Decimal("0.38")
    assert Decimal(body["total"]) == Decimal("0.33")
    assert Decimal(body["cost_total"]) == Decimal("21.10") + Decimal("41.50")
    assert [line["line_no"] for line in body["lines"]] == [1, 2]
    assert [line["sku"] for line in body["lines"]] == ["CUP-2", "TEA-1"]
    assert len(dump(session, "order_lines")) == 2
    assert audit_count(session) == entries + 1


def test_cancelled_order_refunds_everything_and_keeps_no_cost(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "王芳")
    products(session)
    body = client.put(
        URL + "shop-9", json=order_body(buyer.id, status="cancelled"), headers=headers
    ).json()
    assert (body["total"], body["refunded"], body["cost_total"]) == ("391.75", "391.75", "0.00")


def test_customer_by_external_id(client: TestClient, session: Session, people: People):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "赵敏", external_id="crm-42")
    products(session)
    body = order_body(buyer.id)
    del body["customer_id"]
    reply = client.put(
        URL + "shop-2", json={**body, "customer_external_id": "crm-42"}, headers=headers
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["customer_id"] == buyer.id

    both = client.put(
        URL + "shop-3", json={**order_body(buyer.id), "customer_external_id": "crm-42"},
        headers=headers,
    )  # fmt: skip
    assert both.status_code == 422
    unknown = client.put(
        URL + "shop-3", json={**body, "customer_external_id": "nobody"}, headers=headers
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_bad_fields_are_named_by_path(client: TestClient, session: Session, people: People):
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "周杰")
    products(session)
    lines = order_body(buyer.id)["lines"]
    lines[2] = {**lines[2], "quantity": "0"}
    reply = client.put(URL + "shop-4", json=order_body(buyer.id, lines=lines), headers=headers)
    assert reply.status_code == 422
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in reply.json()["errors"]] == ["lines[2].quantity"]

    lines = order_body(buyer.id)["lines"]
    lines[1] = {"sku": "NOPE", "quantity": "1", "unit_price": "1.00"}
    reply = client.put(URL + "shop-4", json=order_body(buyer.id, lines=lines), headers=headers)
    assert reply.status_code == 422
    assert [e["field"] for e in reply.json()["errors"]] == ["lines[1].sku"]

    lines = order_body(buyer.id)["lines"]
    lines[0] = {**lines[0], "discount": "264.01"}  # more than 3 x 88.00
    reply = client.put(URL + "shop-4", json=order_body(buyer.id, lines=lines), headers=headers)
    assert [e["field"] for e in reply.json()["errors"]] == ["lines[0].discount"]
    for money in ("1.005", "-1", "12345678901234567.50", "abc"):
        lines = order_body(buyer.id)["lines"]
        lines[0] = {**lines[0], "unit_price": money}
        reply = client.put(URL + "shop-4", json=order_body(buyer.id, lines=lines), headers=headers)
        assert reply.status_code == 422, money
    naive = client.put(
        URL + "shop-4", json=order_body(buyer.id, ordered_at="2026-11-20T10:30:00"), headers=headers
    )
    assert [e["field"] for e in naive.json()["errors"]] == ["ordered_at"]
    assert dump(session, "orders") == []


def test_sales_user_cannot_order_for_a_customer_they_cannot_see(
    client: TestClient, session: Session, people: People
):
    east = people.team("East")
    mine, theirs = people.user("sales", team=east), people.user("sales", team=east)
    products(session)
    hidden = customer(session, theirs, "钱多多")
    own = customer(session, mine, "孙悦")
    headers = people.token(mine)

    reply = client.put(URL + "shop-5", json=order_body(hidden.id), headers=headers)
    assert reply.status_code == 404
    assert "钱多多" not in reply.text
    reply = client.put(URL + "shop-5", json=order_body(own.id), headers=headers)
    assert reply.status_code == 201
    assert reply.json()["owner_id"] == mine.user.id
    assert reply.json()["team_id"] == east.id

    # the other rep cannot take over the order by sending its external id again
    other = client.put(URL + "shop-5", json=order_body(hidden.id), headers=people.token(theirs))
    assert other.status_code == 409


def test_order_lands_with_the_customer_owner(client: TestClient, session: Session, people: People):
    rep = people.user("sales")
    products(session)
    buyer = customer(session, rep, "吴磊")
    shop = people.user("admin")
    reply = client.put(URL + "shop-6", json=order_body(buyer.id), headers=people.token(shop))
    assert reply.json()["owner_id"] == rep.user.id
    # and the rep, who owns the customer, sees and may update it
    changed = order_body(buyer.id, notes="gift wrap")
    again = client.put(URL + "shop-6", json=changed, headers=people.token(rep))
    assert again.status_code == 200 and again.json()["notes"] == "gift wrap"


def test_roles_without_orders_create_are_refused(
    client: TestClient, session: Session, people: People
):
    admin = people.user("admin")
    buyer = customer(session, admin, "郑爽")
    products(session)
    for role in ("service", "marketing", "analyst"):
        reply = client.put(
            URL + "shop-8", json=order_body(buyer.id), headers=people.token(people.user(role))
        )
        assert reply.status_code == 403, role
    assert client.put(URL + "shop-8", json=order_body(buyer.id)).status_code == 401
