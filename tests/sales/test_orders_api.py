"""The order life cycle through the API: lines and totals, confirmation, partial invoices and
shipments, returns and cancellation, with the money exact to the cent on both databases."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.models import Invoice
from tests.conftest import People
from tests.sales.orders_support import create_order, customer, post, product


def D(value: str) -> Decimal:  # noqa: N802 - reads like the literal it stands for
    return Decimal(value)


def test_full_life_cycle_with_partial_invoice_shipment_and_return(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales", team=people.team("East"))
    api = people.token(rep)
    tea = product(session, price="19.99", cost="12.50")
    cups = product(session, price="8.00", cost="3.35", name="茶杯")
    buyer = customer(session, rep.user)

    order = create_order(
        client,
        api,
        buyer,
        [
            {"product_id": tea.id, "quantity": "3", "discount": "6.00"},  # 10% off 59.97
            {"product_id": cups.id, "quantity": "4", "unit_price": "7.50"},
        ],
    )
    assert order["status"] == "draft"
    assert order["number"].startswith("SO-") and order["number"].endswith(f"{order['id']:06d}")
    assert [line["amount"] for line in order["lines"]] == ["53.97", "30.00"]
    assert (order["subtotal"], order["discount_total"], order["total"]) == (
        "89.97",
        "6.00",
        "83.97",
    )
    assert order["cost_total"] == "50.90"  # 3 x 12.50 + 4 x 3.35
    assert order["margin"] == "33.07"
    assert order["lines"][0]["sku"] == tea.sku and order["lines"][0]["unit_price"] == "19.99"
    oid = order["id"]
    tea_line, cup_line = (line["id"] for line in order["lines"])

    confirmed = post(client, api, f"/api/v1/orders/{oid}/confirm").json()
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_at"]

    invoice = post(client, api, f"/api/v1/orders/{oid}/invoices", {"amount": "40.00"})
    assert invoice.status_code == 201, invoice.text
    assert invoice.json()["number"].startswith("INV-")
    shipped = post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {"lines": [{"order_line_id": tea_line, "quantity": "2"}], "carrier": "顺丰"},
    )
    assert shipped.status_code == 201, shipped.text
    now = client.get(f"/api/v1/orders/{oid}", headers=api).json()
    assert now["status"] == "confirmed"  # partial: the status waits, the progress shows
    assert (now["invoiced_total"], now["left_to_invoice"]) == ("40.00", "43.97")
    assert [line["shipped_quantity"] for line in now["lines"]] == ["2.000", "0.000"]
    assert now["fully_shipped"] is False

    rest = post(client, api, f"/api/v1/orders/{oid}/invoices", {})  # all that is left
    assert rest.json()["amount"] == "43.97"
    assert client.get(f"/api/v1/orders/{oid}", headers=api).json()["status"] == "invoiced"
    post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {
            "lines": [
                {"order_line_id": tea_line, "quantity": "1"},
                {"order_line_id": cup_line, "quantity": "4"},
            ]
        },
    )
    done = client.get(f"/api/v1/orders/{oid}", headers=api).json()
    assert done["status"] == "completed" and done["completed_at"]  # invoiced and shipped

    returned = post(
        client,
        api,
        f"/api/v1/orders/{oid}/returns",
        {"lines": [{"order_line_id": tea_line, "quantity": "1"}], "reason": "包装破损"},
    )
    assert returned.status_code == 201, returned.text
    assert returned.json()["refund"] == "17.99"  # 53.97 / 3
    after = client.get(f"/api/v1/orders/{oid}", headers=api).json()
    assert (after["refunded"], after["net_revenue"]) == ("17.99", "65.98")
    assert (after["cost_total"], after["margin"]) == ("38.40", "27.58")
    assert after["invoiced_total"] == "65.98"  # a credit note for the refund
    assert after["status"] == "completed"
    notes = client.get("/api/v1/invoices", params={"order_id": oid}, headers=api).json()["items"]
    assert [(n["kind"], n["amount"]) for n in notes] == [
        ("credit_note", "-17.99"),
        ("invoice", "43.97"),
        ("invoice", "40.00"),
    ]
    listed = client.get(f"/api/v1/orders/{oid}/returns", headers=api).json()
    assert listed[0]["lines"] == [
        {"order_line_id": tea_line, "quantity": "1.000", "refund": "17.99"}
    ]


def test_cancelling_an_invoiced_order_credits_the_invoice_and_nets_to_zero(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    order = create_order(
        client,
        api,
        buyer,
        [{"description": "咨询服务", "quantity": "1", "unit_price": "1000.00", "unit_cost": "600"}],
        status="confirmed",
    )
    oid = order["id"]
    assert order["status"] == "confirmed"
    post(client, api, f"/api/v1/orders/{oid}/invoices", {"amount": "300.00"})
    cancelled = post(client, api, f"/api/v1/orders/{oid}/cancel", {"reason": "客户撤单"})
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "客户撤单"
    assert (body["refunded"], body["net_revenue"], body["cost_total"], body["margin"]) == (
        "1000.00",
        "0.00",
        "0.00",
        "0.00",
    )
    assert body["invoiced_total"] == "0.00"
    kinds = session.execute(
        select(Invoice.kind, Invoice.amount).where(Invoice.order_id == oid).order_by(Invoice.id)
    ).all()
    assert [(k, a) for k, a in kinds] == [("invoice", D("300.00")), ("credit_note", D("-300.00"))]


def test_returning_piece_by_piece_gives_back_exactly_the_line(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    order = create_order(
        client,
        api,
        buyer,
        # 0.1 + 0.2 style amounts, and a discount that does not split evenly over 3 units
        [
            {"description": "A", "quantity": "3", "unit_price": "0.10", "unit_cost": "0.07"},
            {
                "description": "B",
                "quantity": "3",
                "unit_price": "3.33",
                "unit_cost": "1.11",
                "discount": "1.00",
            },
        ],
        status="confirmed",
    )
    oid = order["id"]
    assert order["total"] == "9.29"  # 0.30 + (9.99 - 1.00)
    a, b = (line["id"] for line in order["lines"])
    post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {"lines": [{"order_line_id": a, "quantity": "3"}, {"order_line_id": b, "quantity": "3"}]},
    )
    refunds = []
    for line in (a, a, a, b, b, b):
        reply = post(
            client,
            api,
            f"/api/v1/orders/{oid}/returns",
            {"lines": [{"order_line_id": line, "quantity": "1"}]},
        )
        assert reply.status_code == 201, reply.text
        refunds.append(D(reply.json()["refund"]))
    assert sum(refunds[:3]) == D("0.30") and sum(refunds[3:]) == D("8.99")
    final = client.get(f"/api/v1/orders/{oid}", headers=api).json()
    assert final["status"] == "returned"
    assert (final["refunded"], final["net_revenue"], final["cost_total"]) == (
        "9.29",
        "0.00",
        "0.00",
    )
    again = post(
        client,
        api,
        f"/api/v1/orders/{oid}/returns",
        {"lines": [{"order_line_id": a, "quantity": "1"}]},
    )
    assert again.status_code == 409


def test_invalid_transitions_are_conflicts(client: TestClient, people: People, session: Session):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    order = create_order(
        client, api, buyer, [{"description": "X", "quantity": "2", "unit_price": "5"}]
    )
    oid, line = order["id"], order["lines"][0]["id"]
    ship = {"lines": [{"order_line_id": line, "quantity": "1"}]}
    for path, body in (
        ("complete", None),
        ("invoices", {}),
        ("shipments", ship),
        ("returns", ship),
    ):
        reply = post(client, api, f"/api/v1/orders/{oid}/{path}", body)
        assert reply.status_code == 409, (path, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
    post(client, api, f"/api/v1/orders/{oid}/confirm")
    assert post(client, api, f"/api/v1/orders/{oid}/confirm").status_code == 409
    edit = client.patch(f"/api/v1/orders/{oid}", json={"notes": "late"}, headers=api)
    assert edit.status_code == 409
    assert client.delete(f"/api/v1/orders/{oid}", headers=api).status_code in (403, 409)
    assert post(client, api, f"/api/v1/orders/{oid}/complete").status_code == 409  # not shipped
    post(client, api, f"/api/v1/orders/{oid}/shipments", ship)
    cancel = post(client, api, f"/api/v1/orders/{oid}/cancel", {"reason": "x"})
    assert cancel.status_code == 409 and "return" in cancel.json()["detail"]
    post(client, api, f"/api/v1/orders/{oid}/shipments", ship)
    completed = post(client, api, f"/api/v1/orders/{oid}/complete")  # shipped, not invoiced
    assert completed.json()["status"] == "completed"
    assert post(client, api, f"/api/v1/orders/{oid}/cancel").status_code == 409


def test_over_shipping_over_returning_and_over_invoicing_name_the_line(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    order = create_order(
        client,
        api,
        buyer,
        [
            {"description": "A", "quantity": "2", "unit_price": "10"},
            {"description": "B", "quantity": "1.5", "unit_price": "4"},
        ],
        status="confirmed",
    )
    oid = order["id"]
    a, b = (line["id"] for line in order["lines"])
    too_many = post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {"lines": [{"order_line_id": a, "quantity": "2"}, {"order_line_id": b, "quantity": "1.6"}]},
    )
    assert too_many.status_code == 422
    problem = too_many.json()
    assert "Line 2" in problem["detail"] and "1.5" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["lines.1.quantity"]
    unchanged = client.get(f"/api/v1/orders/{oid}", headers=api).json()
    assert [line["shipped_quantity"] for line in unchanged["lines"]] == ["0.000", "0.000"]
    twice = post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {"lines": [{"order_line_id": a, "quantity": "1.5"}, {"order_line_id": a, "quantity": "1"}]},
    )
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "lines.0.quantity"
    foreign = post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {"lines": [{"order_line_id": 999999, "quantity": "1"}]},
    )
    assert (
        foreign.status_code == 422
        and foreign.json()["errors"][0]["field"] == "lines.0.order_line_id"
    )
    post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {"lines": [{"order_line_id": b, "quantity": "1.5"}]},
    )
    back = post(
        client,
        api,
        f"/api/v1/orders/{oid}/returns",
        {"lines": [{"order_line_id": a, "quantity": "1"}]},
    )
    assert back.status_code == 422 and back.json()["errors"][0]["field"] == "lines.0.quantity"
    over = post(client, api, f"/api/v1/orders/{oid}/invoices", {"amount": "26.01"})
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "amount"
    exact = post(client, api, f"/api/v1/orders/{oid}/invoices", {"amount": "26.00"})
    assert exact.status_code == 201
    assert post(client, api, f"/api/v1/orders/{oid}/invoices", {}).status_code == 422


def test_bad_input_is_refused_with_problem_details(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    cases = [
        ({"lines": []}, "lines"),
        ({"lines": [{"description": "A", "quantity": "0", "unit_price": "1"}]}, "lines"),
        (
            {
                "lines": [
                    {"description": "A", "quantity": "1", "unit_price": "1", "discount": "1.01"}
                ]
            },
            "lines",
        ),
        ({"lines": [{"description": "A", "quantity": "1", "unit_price": "1.001"}]}, "lines"),
        ({"lines": [{"description": "A", "quantity": "1"}]}, "lines.0.unit_price"),
        ({"lines": [{"product_id": 987654, "quantity": "1"}]}, "lines.0.product_id"),
        (
            {"channel": "fax", "lines": [{"description": "A", "quantity": "1", "unit_price": "1"}]},
            "channel",
        ),
    ]
    for body, field in cases:
        reply = client.post("/api/v1/orders", json={"customer_id": buyer, **body}, headers=api)
        assert reply.status_code == 422, (body, reply.text)
        fields = [e["field"].removeprefix("body.") for e in reply.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (body, fields)


def test_drafts_change_with_their_version_and_can_be_deleted(
    client: TestClient, people: People, session: Session
):
    lead = people.user("manager", team=people.team("South"))
    api = people.token(lead)
    buyer = customer(session, lead.user)
    order = create_order(
        client, api, buyer, [{"description": "A", "quantity": "1", "unit_price": "9.99"}]
    )
    oid = order["id"]
    stale = client.patch(
        f"/api/v1/orders/{oid}", json={"notes": "x"}, headers={**api, "If-Match": 'W/"99"'}
    )
    assert stale.status_code == 412
    reply = client.patch(
        f"/api/v1/orders/{oid}",
        json={
            "lines": [
                {"description": "B", "quantity": "2", "unit_price": "0.10"},
                {"description": "C", "quantity": "1", "unit_price": "0.20"},
            ]
        },
        headers={**api, "If-Match": f'W/"{order["version"]}"'},
    )
    assert reply.status_code == 200, reply.text
    changed = reply.json()
    assert changed["total"] == "0.40" and changed["version"] > order["version"]
    assert [line["line_no"] for line in changed["lines"]] == [1, 2]
    assert client.delete(f"/api/v1/orders/{oid}", headers=api).status_code == 204
    assert client.get(f"/api/v1/orders/{oid}", headers=api).status_code == 404
