"""Guards added after reading the sales code end to end: stage moves keep the funnel's counts on
the same stages, closed stages cannot be retired while they hold opportunities, ERP upserts
respect record visibility, shipped goods and invoiced amounts, and order numbers carry the UTC
date whatever offset a client sent."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.errors import Conflict
from guanxi.sales.models import Opportunity, Order
from guanxi.sales.pipeline import service as pipeline_service
from guanxi.sales.pipeline import stages as stage_service
from guanxi.sales.pipeline.schemas import StageCreate, StageUpdate
from tests.conftest import People
from tests.sales.orders_erp_support import customer, order_body, products
from tests.sales.pipeline_support import opportunity_of, stage


def test_reordering_stages_keeps_each_opportunitys_furthest_stage(session: Session, people: People):
    admin = people.user("admin").user
    reached_proposal = opportunity_of(session, admin, stage_key="proposal")
    reached_lead = opportunity_of(session, admin, stage_key="lead")
    proposal_at, lead_at = stage(session, "proposal").position, stage(session, "lead").position
    assert reached_proposal.furthest_stage_position == proposal_at
    # a new open stage before "proposal" pushes it one place down
    stage_service.create_stage(
        session=session,
        actor=admin,
        stage_in=StageCreate(key="demo", label="Demo", probability=30, position=proposal_at),
    )
    session.expire_all()
    assert stage(session, "proposal").position == proposal_at + 1
    furthest = {
        row.id: row.furthest_stage_position
        for row in session.execute(select(Opportunity.id, Opportunity.furthest_stage_position))
    }
    assert furthest[reached_proposal.id] == stage(session, "proposal").position
    assert furthest[reached_lead.id] == stage(session, "lead").position == lead_at
    # and a reorder that swaps lead and qualified takes the lead-only opportunity along
    order = [s.id for s in stage_service.list_stages(session=session)]
    order[0], order[1] = order[1], order[0]
    stage_service.reorder_stages(session=session, actor=admin, stage_ids=order)
    session.expire_all()
    assert (
        session.get(Opportunity, reached_lead.id).furthest_stage_position
        == stage(session, "lead").position
    )


def test_a_won_or_lost_stage_holding_opportunities_cannot_be_retired(
    session: Session, people: People
):
    admin = people.user("admin").user
    opportunity = opportunity_of(session, admin)
    pipeline_service.move(
        session=session,
        actor=admin,
        opportunity=opportunity,
        stage_id=stage(session, "lost").id,
        expected_version=opportunity.version,
        lost_reason="价格太高",
    )
    lost = stage(session, "lost")
    # a second lost stage exists, so only the held opportunity can stop the retirement
    stage_service.create_stage(
        session=session,
        actor=admin,
        stage_in=StageCreate(key="lost_other", label="Lost elsewhere", outcome="lost"),
    )
    with pytest.raises(Conflict):
        stage_service.update_stage(
            session=session,
            actor=admin,
            stage=lost,
            stage_in=StageUpdate(is_active=False),
            expected_version=lost.version,
        )


def _put(client: TestClient, headers: dict[str, str], external_id: str, body: dict):  # type: ignore[no-untyped-def,type-arg]
    return client.put(f"/api/v1/orders/by-external-id/{external_id}", json=body, headers=headers)


def test_erp_cannot_touch_an_order_its_caller_may_not_see(
    client: TestClient, session: Session, people: People
):
    products(session)
    east = people.team("East")
    owner = people.user("sales", team=east)
    buyer = customer(session, owner, "东方百货")
    assert _put(client, people.token(owner), "shop-1", order_body(buyer.id)).status_code == 201
    # a colleague the customer is shared with sees the customer, not the order
    colleague = people.user("sales", team=east)
    from guanxi.auth.visibility import share

    share(session, buyer, with_user=colleague.user, actor=owner.user)
    session.flush()
    reply = _put(client, people.token(colleague), "shop-1", order_body(buyer.id, notes="changed"))
    assert reply.status_code == 409, reply.text
    assert session.scalars(select(Order.notes)).one() == "shop order"


def test_erp_cannot_cancel_shipped_goods_or_go_below_the_invoiced_amount(
    client: TestClient, session: Session, people: People
):
    products(session)
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "西湖茶庄")
    created = _put(client, headers, "shop-2", order_body(buyer.id)).json()
    order_id = created["id"]
    line_ids = [
        line["id"]
        for line in client.get(f"/api/v1/orders/{order_id}", headers=headers).json()["lines"]
    ]
    invoiced = client.post(
        f"/api/v1/orders/{order_id}/invoices", json={"amount": "100.00"}, headers=headers
    )
    assert invoiced.status_code == 201, invoiced.text
    cheaper = order_body(buyer.id)
    cheaper["lines"] = [{"sku": "CUP-2", "quantity": "1", "unit_price": "19.90"}]
    reply = _put(client, headers, "shop-2", cheaper)
    assert reply.status_code == 409 and "invoiced" in reply.text
    shipped = client.post(
        f"/api/v1/orders/{order_id}/shipments",
        json={"lines": [{"order_line_id": line_ids[0], "quantity": "1"}]},
        headers=headers,
    )
    assert shipped.status_code == 201, shipped.text
    reply = _put(client, headers, "shop-2", order_body(buyer.id, status="cancelled"))
    assert reply.status_code == 409 and "return" in reply.text
    session.expire_all()
    assert session.get(Order, order_id).status != "cancelled"


def test_order_numbers_carry_the_utc_date_whatever_offset_was_sent(
    client: TestClient, session: Session, people: People
):
    products(session)
    admin = people.user("admin")
    headers = people.token(admin)
    buyer = customer(session, admin, "早市")
    # 07:00 in Shanghai on the 23rd is 23:00 UTC on the 22nd, by either route
    body = order_body(buyer.id, ordered_at="2026-11-23T07:00:00+08:00")
    by_erp = _put(client, headers, "shop-3", body).json()["number"]
    by_api = client.post(
        "/api/v1/orders",
        json={
            "customer_id": buyer.id,
            "channel": "store",
            "ordered_at": "2026-11-23T07:00:00+08:00",
            "lines": [{"sku": "CUP-2", "quantity": "1", "unit_price": "19.90"}],
        },
        headers=headers,
    )
    assert by_api.status_code == 201, by_api.text
    assert by_erp.startswith("SO-20261122-")
    assert by_api.json()["number"].startswith("SO-20261122-")
