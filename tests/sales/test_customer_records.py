"""What sales adds to the customer record: the 360 page's orders, opportunities and contracts
panels with lifetime totals, their timeline entries, the personal-data export, and merging."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.customers import merge, privacy, timeline
from guanxi.customers.models import Customer
from guanxi.sales.models import Contract, Opportunity, Order, OrderLine, PipelineStage
from guanxi.sales.orders.money import line_amounts, order_totals
from guanxi.sales.orders.totals import lifetime_totals
from tests.conftest import PASSWORD, People
from tests.web.forms import sign_in


def _customer(session: Session, owner_id: int, name: str = "华东贸易有限公司") -> Customer:
    customer = Customer(kind="organisation", name=name, owner_id=owner_id)
    session.add(customer)
    session.flush()
    return customer


def _order(
    session: Session,
    customer: Customer,
    owner_id: int,
    number: str,
    at: datetime,
    lines: list[tuple[str, str, str, str]],
    status: str = "completed",
    refunded: str = "0.00",
    cost_back: str = "0.00",
) -> Order:
    """An order written as the order service would: totals from the money rules."""
    amounts = [line_amounts(Decimal(q), Decimal(p), Decimal(c), Decimal(d)) for q, p, c, d in lines]
    totals = order_totals(amounts)
    order = Order(
        number=number,
        customer_id=customer.id,
        owner_id=owner_id,
        status=status,
        ordered_at=at,
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        total=totals.total,
        cost_total=totals.cost_total - Decimal(cost_back),
        refunded=Decimal(refunded),
        lines=[
            OrderLine(
                line_no=i + 1,
                sku=f"SKU-{i}",
                quantity=Decimal(q),
                unit_price=Decimal(p),
                unit_cost=Decimal(c),
                discount=Decimal(d),
            )
            for i, (q, p, c, d) in enumerate(lines)
        ],
    )
    session.add(order)
    session.flush()
    return order


def _stage(session: Session, key: str) -> PipelineStage:
    return session.scalars(select(PipelineStage).where(PipelineStage.key == key)).one()


@pytest.fixture
def shop(session: Session, people: People):  # type: ignore[no-untyped-def]
    """A customer of one sales rep, with orders of three kinds, an opportunity and a contract;
    plus one order of the same customer handled by a rep of another team."""
    east, west = people.team("East"), people.team("West")
    rep = people.user("sales", team=east)
    other = people.user("sales", team=west)
    customer = _customer(session, rep.user.id)
    first = _order(
        session,
        customer,
        rep.user.id,
        "SO-T-1",
        datetime(2025, 3, 1, 2, 0, tzinfo=UTC),
        [("3", "19.99", "12.50", "5.97"), ("1", "0.10", "0.00", "0")],
    )
    # a return of one unit of the first line: refund 18.00 (net 54.00 / 3), cost back 12.50
    returned = _order(
        session,
        customer,
        rep.user.id,
        "SO-T-2",
        datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
        [("3", "20.00", "12.50", "6.00")],
        refunded="18.00",
        cost_back="12.50",
    )
    _order(
        session,
        customer,
        rep.user.id,
        "SO-T-3",
        datetime(2026, 7, 1, tzinfo=UTC),
        [("1", "999.00", "500", "0")],
        status="cancelled",
        refunded="999.00",
        cost_back="500.00",
    )
    _order(
        session,
        customer,
        rep.user.id,
        "SO-T-4",
        datetime(2026, 8, 1, tzinfo=UTC),
        [("1", "50.00", "10", "0")],
        status="draft",
    )
    hidden = _order(
        session,
        customer,
        other.user.id,
        "SO-T-5",
        datetime(2026, 9, 1, tzinfo=UTC),
        [("2", "100.00", "120.00", "0")],
    )
    opportunity = Opportunity(
        customer_id=customer.id,
        title="年度框架采购",
        amount=Decimal("120000.00"),
        stage_id=_stage(session, "proposal").id,
        owner_id=rep.user.id,
    )
    contract = Contract(
        number="HT-T-1",
        title="年度服务合同",
        customer_id=customer.id,
        amount=Decimal("50000.00"),
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        status="expiring",
        owner_id=rep.user.id,
    )
    session.add_all([opportunity, contract])
    session.flush()
    return {
        "rep": rep,
        "other": other,
        "customer": customer,
        "orders": (first, returned, hidden),
        "opportunity": opportunity,
        "contract": contract,
    }


def test_lifetime_totals_net_returns_and_skip_drafts_and_cancellations(session: Session, shop):  # type: ignore[no-untyped-def]
    totals = lifetime_totals(session=session, customer_id=shop["customer"].id)
    # SO-T-1: 59.97 - 5.97 + 0.10 = 54.10, cost 37.50; SO-T-2: 54.00 - 18.00 = 36.00, cost 25.00;
    # SO-T-5: 200.00, cost 240.00 (sold at a loss); the draft and the cancelled order do not count
    assert totals.revenue == Decimal("290.10")
    assert totals.cost == Decimal("302.50")
    assert totals.margin == Decimal("-12.40")
    assert totals.order_count == 3
    assert totals.first_order_at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    assert totals.last_order_at == datetime(2026, 9, 1, tzinfo=UTC)


def test_lifetime_totals_of_a_customer_without_orders(session: Session, people: People):
    customer = _customer(session, people.user("sales").user.id, "新客户")
    totals = lifetime_totals(session=session, customer_id=customer.id)
    assert (totals.revenue, totals.margin, totals.order_count) == (Decimal("0.00"), 0, 0)
    assert totals.first_order_at is None and totals.last_order_at is None


def test_the_360_page_shows_sales_panels_with_only_visible_orders(client: TestClient, shop):  # type: ignore[no-untyped-def]
    sign_in(client, shop["rep"].username, PASSWORD)
    page = client.get(f"/customers/{shop['customer'].id}")
    assert page.status_code == 200
    text = page.text
    assert 'id="orders"' in text and 'id="opportunities"' in text and 'id="contracts"' in text
    assert "SO-T-1" in text and "SO-T-2" in text
    # another team's order of this customer counts in the totals but is not listed
    assert "SO-T-5" not in text
    assert "<dd>CN¥290.10</dd>" in text  # revenue
    assert '<dd class="negative">-CN¥12.40</dd>' in text  # margin: a loss-maker after cost
    assert "<dt>First order</dt><dd>2025-03-01</dd>" in text
    assert "年度框架采购" in text and "HT-T-1" in text


def test_a_role_without_sales_access_sees_no_sales_panels_or_entries(
    client: TestClient, people: People, shop
):  # type: ignore[no-untyped-def]
    marketer = people.user("marketing")
    sign_in(client, marketer.username, PASSWORD)
    page = client.get(f"/customers/{shop['customer'].id}")
    assert page.status_code == 200
    assert 'id="orders"' not in page.text and "SO-T-1" not in page.text
    assert 'id="contracts"' not in page.text and "HT-T-1" not in page.text
    kinds = dict(timeline.kinds(marketer.user))
    assert "orders" not in kinds and "contracts" not in kinds


def test_timeline_lists_orders_opportunities_and_contracts(session: Session, shop):  # type: ignore[no-untyped-def]
    page = timeline.stream(session, shop["customer"], actor=shop["rep"].user, limit=50)
    keys = [e.key for e in page.entries]
    first, returned, _hidden = shop["orders"]
    assert f"order:{first.id:012d}" in keys and f"order:{returned.id:012d}" in keys
    assert f"opportunity:{shop['opportunity'].id:012d}" in keys
    assert f"contract:{shop['contract'].id:012d}" in keys
    only_orders = timeline.stream(
        session, shop["customer"], actor=shop["rep"].user, kind="orders", limit=50
    )
    assert {e.kind for e in only_orders.entries} == {"orders"}
    # newest first
    times = [e.at for e in page.entries]
    assert times == sorted(times, reverse=True)


def test_personal_data_export_holds_orders_opportunities_and_contracts(session: Session, shop):  # type: ignore[no-untyped-def]
    document = privacy.personal_data(
        session=session, actor=shop["rep"].user, customer=shop["customer"]
    )
    numbers = [o["number"] for o in document["orders"]]
    assert numbers == ["SO-T-1", "SO-T-2", "SO-T-3", "SO-T-4", "SO-T-5"]
    assert document["orders"][0]["lines"][0]["unit_price"] == "19.99"
    assert document["opportunities"][0]["title"] == "年度框架采购"
    assert document["contracts"][0]["number"] == "HT-T-1"


def test_merging_moves_orders_opportunities_and_contracts(session: Session, people: People, shop):  # type: ignore[no-untyped-def]
    admin = people.user("admin")
    survivor = _customer(session, shop["rep"].user.id, "华东贸易")
    merged = merge.merge(
        session=session,
        actor=admin.user,
        survivor_id=survivor.id,
        other_id=shop["customer"].id,
        choices={},
        survivor_version=survivor.version,
        other_version=shop["customer"].version,
    )
    session.expire_all()
    assert merged.id == survivor.id
    assert set(session.scalars(select(Order.number).where(Order.customer_id == survivor.id))) == {
        "SO-T-1",
        "SO-T-2",
        "SO-T-3",
        "SO-T-4",
        "SO-T-5",
    }
    assert session.scalar(select(Opportunity.customer_id)) == survivor.id
    assert session.scalar(select(Contract.customer_id)) == survivor.id
    assert lifetime_totals(session=session, customer_id=survivor.id).revenue == Decimal("290.10")
