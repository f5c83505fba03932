"""The installed base: registering owned items, making them from an order, and finding them by
any fragment of a serial number, only among customers the user may see."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.errors import InvalidInput, NotFound
from guanxi.sales import owned_items
from guanxi.sales.orders import service as order_service
from guanxi.sales.orders.schemas import OrderCreate, OrderLineIn
from guanxi.sales.owned_items import OwnedItemCreate
from tests.conftest import People


def _customer(session: Session, owner, name: str) -> int:  # type: ignore[no-untyped-def]
    made = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name=name)
    )
    session.flush()
    return made.id


def test_serial_numbers_are_found_by_any_fragment_in_any_case(session: Session, people: People):
    rep = people.user("sales")
    buyer = _customer(session, rep.user, "王建国")
    item = owned_items.register(
        session=session,
        actor=rep.user,
        customer_id=buyer,
        item_in=OwnedItemCreate(
            serial_number=" kf-35gw/a1 2024x ",
            model="KFR-35GW 空调",
            purchased_on=date(2024, 5, 1),
            retailer="苏宁易购南京店",
        ),
    )
    assert item.serial_number == "KF-35GW/A12024X"  # stored upper-case, blanks gone
    other = owned_items.register(
        session=session,
        actor=rep.user,
        customer_id=buyer,
        item_in=OwnedItemCreate(serial_number="ZZ100_X", model="净水器"),
    )

    def found(fragment: str) -> list[int]:
        return [
            i.id
            for i in owned_items.search_by_serial(
                session=session, actor=rep.user, fragment=fragment
            )
        ]

    assert found("35gw") == [item.id]
    assert found("A12024") == [item.id]
    assert found("kf-35gw/a12024x") == [item.id]
    assert found("12") == []  # too short to narrow anything
    assert found("xyz") == []
    assert found("0_x") == [other.id]
    assert found("Z_1") == []  # LIKE's wildcards are taken literally ("ZZ1" would match)
    assert found("张伟明") == []


def test_serial_search_respects_who_may_see_the_customer(session: Session, people: People):
    rep = people.user("sales")
    colleague = people.user("sales")
    service_agent = people.user("service")
    buyer = _customer(session, rep.user, "李梅")
    owned_items.register(
        session=session,
        actor=rep.user,
        customer_id=buyer,
        item_in=OwnedItemCreate(serial_number="SN-778899", model="冰箱"),
    )

    def count(actor) -> int:  # type: ignore[no-untyped-def]
        return len(owned_items.search_by_serial(session=session, actor=actor, fragment="7788"))

    assert count(rep.user) == 1
    assert count(service_agent.user) == 1  # the service role answers any caller
    assert count(colleague.user) == 0
    with pytest.raises(NotFound):
        owned_items.list_for_customer(session=session, actor=colleague.user, customer_id=buyer)
    with pytest.raises(NotFound):
        owned_items.register(
            session=session,
            actor=colleague.user,
            customer_id=buyer,
            item_in=OwnedItemCreate(serial_number="X1"),
        )


def test_an_item_needs_a_model_or_a_serial(session: Session, people: People):
    rep = people.user("sales")
    buyer = _customer(session, rep.user, "赵敏")
    with pytest.raises(InvalidInput):
        owned_items.register(
            session=session, actor=rep.user, customer_id=buyer, item_in=OwnedItemCreate()
        )


def test_items_made_from_an_order_once(session: Session, people: People):
    rep = people.user("manager")
    buyer = _customer(session, rep.user, "陈静")
    order = order_service.create(
        session=session,
        actor=rep.user,
        order_in=OrderCreate(
            customer_id=buyer,
            lines=[
                OrderLineIn(
                    description="洗衣机 XQG100", quantity=Decimal(1), unit_price=Decimal(2999)
                ),
                OrderLineIn(sku="DRY-8", quantity=Decimal(1), unit_price=Decimal(1999)),
            ],
        ),
    )
    made = owned_items.from_order(session=session, actor=rep.user, order=order, retailer="国美")
    assert sorted(i.model for i in made) == ["DRY-8", "洗衣机 XQG100"]
    listed = owned_items.list_for_customer(session=session, actor=rep.user, customer_id=buyer)
    assert {i.retailer for i in listed} == {"国美"}
    assert all(i.purchased_on == order.ordered_at.date() for i in listed)
    assert owned_items.from_order(session=session, actor=rep.user, order=order) == []
