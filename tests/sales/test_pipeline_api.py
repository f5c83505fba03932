"""The opportunity and stage API as a client sees it: create, read, update with If-Match, move
with history, win with an order of the exact amount, soft delete, stage administration, roles
and record visibility."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.models import Order, Product
from tests.conftest import People
from tests.sales.pipeline_support import customer_of, stage


def _new(client: TestClient, headers: dict[str, str], customer_id: int, **fields: object) -> dict:  # type: ignore[type-arg]
    body = {"customer_id": customer_id, "title": "华东区年度框架", "amount": "88000.40", **fields}
    reply = client.post("/api/v1/opportunities", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_create_move_history_and_stale_version(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    customer = customer_of(session, rep.user)
    session.flush()
    made = _new(client, api, customer, expected_close_date="2026-12-31", source="web")
    assert (made["stage_key"], made["probability"], made["amount"]) == ("lead", 10, "88000.40")

    moved = client.post(
        f"/api/v1/opportunities/{made['id']}/move",
        json={"stage_id": stage(session, "proposal").id, "version": made["version"]},
        headers=api,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["stage_key"] == "proposal" and moved.json()["probability"] == 50
    stale = client.post(
        f"/api/v1/opportunities/{made['id']}/move",
        json={"stage_id": stage(session, "negotiation").id, "version": made["version"]},
        headers=api,
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")
    lost = client.post(
        f"/api/v1/opportunities/{made['id']}/move",
        json={"stage_id": stage(session, "lost").id, "version": moved.json()["version"]},
        headers=api,
    )
    assert lost.status_code == 422
    assert lost.json()["errors"][0]["field"] == "lost_reason"

    history = client.get(f"/api/v1/opportunities/{made['id']}/history", headers=api).json()
    assert [(h["from_stage_label"], h["to_stage_label"]) for h in history] == [
        (None, "Lead"),
        ("Lead", "Proposal"),
    ]
    assert history[1]["from_stage_entered_at"] == history[0]["changed_at"]
    assert history[1]["changed_by_id"] == rep.user.id
    assert history[1]["seconds_in_stage"] >= 0

    read = client.get(f"/api/v1/opportunities/{made['id']}", headers=api)
    etag = read.headers["ETag"]
    patched = client.patch(
        f"/api/v1/opportunities/{made['id']}",
        json={"amount": "90000.00", "probability": 70},
        headers={**api, "If-Match": etag},
    )
    assert patched.status_code == 200 and patched.json()["amount"] == "90000.00"
    again = client.patch(
        f"/api/v1/opportunities/{made['id']}",
        json={"title": "x"},
        headers={**api, "If-Match": etag},
    )
    assert again.status_code == 412

    listed = client.get(
        "/api/v1/opportunities", params={"status": "open", "source": "web"}, headers=api
    )
    assert [o["id"] for o in listed.json()["items"]] == [made["id"]]
    assert (
        client.get("/api/v1/opportunities", params={"close_to": "soon"}, headers=api).status_code
        == 422
    )

    current = {"If-Match": patched.headers["ETag"]}
    url = f"/api/v1/opportunities/{made['id']}"
    assert client.delete(url, headers={**api, **current}).status_code == 403  # sales may not
    admin = people.token(people.user("admin"))
    assert client.delete(url, headers={**admin, **current}).status_code == 204
    assert client.get(f"/api/v1/opportunities/{made['id']}", headers=api).status_code == 404


def test_win_creates_an_order_for_the_exact_amount(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    customer = customer_of(session, rep.user)
    product = Product(
        sku="GX-1", name="企业版授权", list_price=Decimal("100.00"), unit_cost=Decimal("40.00")
    )
    session.add(product)
    session.flush()
    with_product = _new(client, api, customer, amount="12345.67", product_id=product.id)
    without = _new(client, api, customer, title="驻场服务", amount="0.10")

    won = client.post(
        f"/api/v1/opportunities/{with_product['id']}/win", json={"create_order": True}, headers=api
    )
    assert won.status_code == 200, won.text
    assert won.json()["opportunity"]["outcome"] == "won"
    order = session.get(Order, won.json()["order_id"])
    assert order is not None
    session.refresh(order)
    assert (order.total, order.opportunity_id, order.customer_id, order.status) == (
        Decimal("12345.67"),
        with_product["id"],
        customer,
        "draft",
    )
    assert [(line.product_id, line.quantity, line.unit_price) for line in order.lines] == [
        (product.id, Decimal("1.000"), Decimal("12345.67"))
    ]

    twice = client.post(
        f"/api/v1/opportunities/{with_product['id']}/win", json={"create_order": True}, headers=api
    )
    assert twice.status_code == 409 and order.number in twice.json()["detail"]
    plain = client.post(
        f"/api/v1/opportunities/{without['id']}/win", json={"create_order": True}, headers=api
    ).json()
    line = session.get(Order, plain["order_id"]).lines[0]  # type: ignore[union-attr]
    assert (line.description, line.unit_price, line.product_id) == (
        "驻场服务",
        Decimal("0.10"),
        None,
    )

    third = _new(client, api, customer, title="只赢不下单")
    bare = client.post(
        f"/api/v1/opportunities/{third['id']}/win", json={"create_order": False}, headers=api
    ).json()
    assert bare["order_id"] is None and bare["opportunity"]["closed_at"] is not None
    orders = session.scalars(select(Order).where(Order.customer_id == customer)).all()
    assert len(orders) == 2


def test_board_shows_only_what_the_user_may_see(
    client: TestClient, people: People, session: Session
):
    east, west = people.team("East"), people.team("West")
    mine, theirs = people.user("sales", team=west), people.user("sales", team=east)
    own_customer = customer_of(session, mine.user, "西区客户")
    their_customer = customer_of(session, theirs.user, "东区客户")
    session.flush()
    _new(client, people.token(mine), own_customer, title="看得见", amount="100.00")
    hidden = _new(client, people.token(theirs), their_customer, title="看不见", amount="900.00")

    api = people.token(mine)
    board = client.get("/api/v1/opportunities/board", headers=api).json()
    lead = next(c for c in board["columns"] if c["key"] == "lead")
    assert [c["title"] for c in lead["cards"]] == ["看得见"]
    assert (lead["count"], lead["amount"], lead["weighted"]) == (1, "100.00", "10.00")
    for path in ("", "/history"):
        assert (
            client.get(f"/api/v1/opportunities/{hidden['id']}{path}", headers=api).status_code
            == 404
        )
    move = client.post(
        f"/api/v1/opportunities/{hidden['id']}/move",
        json={"stage_id": stage(session, "qualified").id},
        headers=api,
    )
    assert move.status_code == 404
    assert (
        client.post(f"/api/v1/opportunities/{hidden['id']}/win", json={}, headers=api).status_code
        == 404
    )
    # an opportunity for a customer out of sight cannot be created either
    refused = client.post(
        "/api/v1/opportunities",
        json={"customer_id": their_customer, "title": "越界"},
        headers=api,
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "customer_id"

    lead_manager = people.token(people.user("manager", team=east))
    seen = client.get("/api/v1/opportunities/board", headers=lead_manager).json()
    assert [c["title"] for c in seen["columns"][0]["cards"]] == ["看不见"]


def test_roles_without_opportunities_are_refused(client: TestClient, people: People):
    service_desk = people.token(people.user("service"))
    for path in ("/api/v1/opportunities", "/api/v1/opportunities/board", "/api/v1/pipeline-stages"):
        assert client.get(path, headers=service_desk).status_code == 403
    analyst = people.token(people.user("analyst"))
    assert client.get("/api/v1/opportunities", headers=analyst).status_code == 200
    assert (
        client.post(
            "/api/v1/opportunities", json={"customer_id": 1, "title": "x"}, headers=analyst
        ).status_code
        == 403
    )


def test_stage_administration_rules(client: TestClient, people: People, session: Session):
    admin = people.token(people.user("admin"))
    manager = people.token(people.user("manager"))
    body = {"key": "demo", "label": "演示", "probability": 60}
    assert client.post("/api/v1/pipeline-stages", json=body, headers=manager).status_code == 403
    created = client.post("/api/v1/pipeline-stages", json={**body, "position": 3}, headers=admin)
    assert created.status_code == 201, created.text
    keys = [s["key"] for s in client.get("/api/v1/pipeline-stages", headers=admin).json()]
    assert keys == ["lead", "qualified", "proposal", "demo", "negotiation", "won", "lost"]
    assert client.post("/api/v1/pipeline-stages", json=body, headers=admin).status_code == 409

    second_won = client.post(
        "/api/v1/pipeline-stages",
        json={"key": "won2", "label": "签约", "outcome": "won"},
        headers=admin,
    )
    assert second_won.status_code == 422
    won_id, lost_id = stage(session, "won").id, stage(session, "lost").id
    for stage_id in (won_id, lost_id):  # the only won and the only lost stage stay
        retired = client.patch(
            f"/api/v1/pipeline-stages/{stage_id}", json={"is_active": False}, headers=admin
        )
        assert retired.status_code == 422, retired.text

    rep = people.user("sales")
    customer = customer_of(session, rep.user)
    session.flush()
    _new(client, people.token(rep), customer, stage_id=created.json()["id"])
    busy = client.patch(
        f"/api/v1/pipeline-stages/{created.json()['id']}", json={"is_active": False}, headers=admin
    )
    assert busy.status_code == 409
    assert (
        client.delete(f"/api/v1/pipeline-stages/{created.json()['id']}", headers=admin).status_code
        == 409
    )

    spare = client.post(
        "/api/v1/pipeline-stages", json={"key": "spare", "label": "备用"}, headers=admin
    ).json()
    renamed = client.patch(
        f"/api/v1/pipeline-stages/{spare['id']}",
        json={"label": "试用", "probability": 35},
        headers=admin,
    )
    assert renamed.json()["label"] == "试用" and renamed.json()["probability"] == 35
    ids = [s["id"] for s in client.get("/api/v1/pipeline-stages", headers=admin).json()]
    reordered = client.put(
        "/api/v1/pipeline-stages/order", json={"stage_ids": list(reversed(ids))}, headers=admin
    )
    assert [s["id"] for s in reordered.json()] == list(reversed(ids))
    assert (
        client.put(
            "/api/v1/pipeline-stages/order", json={"stage_ids": ids[:2]}, headers=admin
        ).status_code
        == 422
    )
    assert client.delete(f"/api/v1/pipeline-stages/{spare['id']}", headers=admin).status_code == 204
    active = client.get("/api/v1/pipeline-stages", params={"active": True}, headers=admin).json()
    assert spare["id"] not in [s["id"] for s in active]
