"""A customer's lifetime sales figures and latest orders, as the customer 360 page shows them:
drafts and cancelled orders do not count, returns count net, and the sums are exact."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.orders import service as order_service
from guanxi.sales.orders.totals import lifetime_totals
from guanxi.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import People
from tests.sales.orders_support import create_order, customer, post


def test_lifetime_totals_count_real_sales_net_of_returns(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    empty = lifetime_totals(session=session, customer_id=buyer)
    assert (empty.order_count, empty.revenue, empty.first_order_at, empty.currency) == (
        0,
        Decimal("0.00"),
        None,
        None,
    )
    line = {"description": "A", "quantity": "3", "unit_price": "0.10", "unit_cost": "0.07"}
    first = create_order(
        client, api, buyer, [line], status="confirmed", ordered_at="2025-01-02T00:00:00Z"
    )
    create_order(client, api, buyer, [line], ordered_at="2024-01-01T00:00:00Z")  # a draft
    cancelled = create_order(
        client, api, buyer, [line], status="confirmed", ordered_at="2026-03-01T00:00:00Z"
    )
    post(client, api, f"/api/v1/orders/{cancelled['id']}/cancel")
    last = create_order(
        client,
        api,
        buyer,
        [{"description": "B", "quantity": "1", "unit_price": "0.20", "unit_cost": "0.25"}],
        status="confirmed",
        ordered_at="2026-06-01T00:00:00Z",
    )
    lid = first["lines"][0]["id"]
    post(
        client,
        api,
        f"/api/v1/orders/{first['id']}/shipments",
        {"lines": [{"order_line_id": lid, "quantity": "3"}]},
    )
    post(
        client,
        api,
        f"/api/v1/orders/{first['id']}/returns",
        {"lines": [{"order_line_id": lid, "quantity": "1"}]},
    )
    session.expire_all()

    totals = lifetime_totals(session=session, customer_id=buyer)
    assert totals.order_count == 2
    assert totals.revenue == Decimal("0.40")  # 0.30 - 0.10 + 0.20
    assert totals.cost == Decimal("0.39")  # 0.21 - 0.07 + 0.25: the second is sold at a loss
    assert totals.margin == Decimal("0.01")
    assert totals.first_order_at is not None and totals.first_order_at.year == 2025
    assert totals.last_order_at is not None and totals.last_order_at.year == 2026
    assert totals.currency == "CNY"

    latest = order_service.list_for_customer(
        session=session, actor=rep.user, customer_id=buyer, limit=2
    )
    assert [o.id for o in latest] == [last["id"], cancelled["id"]]
    stranger = people.user("sales")
    assert (
        order_service.list_for_customer(
            session=session, actor=stranger.user, customer_id=buyer, limit=5
        )
        == []
    )


def test_order_events_reach_webhook_subscribers(
    client: TestClient, people: People, session: Session
):
    session.add(
        WebhookEndpoint(
            url="http://127.0.0.1:9/hook",
            secret="whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=",
            event_types=["order.created", "order.status_changed"],
        )
    )
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    order = create_order(
        client, api, buyer, [{"description": "A", "quantity": "1", "unit_price": "9.90"}]
    )
    post(client, api, f"/api/v1/orders/{order['id']}/confirm")
    client.patch(f"/api/v1/orders/{order['id']}", json={}, headers=api)  # refused: not a draft
    sent = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.event_type for d in sent] == ["order.created", "order.status_changed"]
    assert '"previous_status":"draft"' in sent[1].body and '"total":"9.90"' in sent[1].body
