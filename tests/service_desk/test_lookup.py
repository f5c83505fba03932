"""The caller lookup: by part of a serial number, a phone fragment or a name to one screen with
the caller's tier, stage, products (purchase date, retailer), tickets and who handled them,
interactions and orders; only among the customers the user may see."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.sales import owned_items
from guanxi.sales.owned_items import OwnedItemCreate
from guanxi.service_desk import lookup
from tests.conftest import People
from tests.service_desk.support import agent, customer, queue, ticket
from tests.web.forms import sign_in


def _register(session: Session, actor, customer_id: int, serial: str, **fields) -> int:  # type: ignore[no-untyped-def]
    item = owned_items.register(
        session=session,
        actor=actor,
        customer_id=customer_id,
        item_in=OwnedItemCreate(serial_number=serial, **fields),
    )
    session.flush()
    return item.id


def test_a_partial_serial_number_opens_the_callers_card(
    client: TestClient, people: People, session: Session
):
    owner = people.user("sales")
    buyer = customer(session, owner.user, "王建国", phones=["13812345678"])
    # what the mining centre's scoring run writes on the customer
    buyer.value_tier, buyer.lifecycle_stage = "vip", "stability"
    session.flush()
    _register(
        session,
        owner.user,
        buyer.id,
        "KF35GW-2024-0815",
        model="格力 KFR-35GW",
        purchased_on=date(2024, 8, 15),
        retailer="苏宁易购南京新街口店",
    )
    repairs = queue(session, "维修")
    fixer = agent(people, repairs)
    old = ticket(session, owner.user, buyer.id, subject="去年漏水", assignee_id=fixer.user.id)
    agent_person = people.user("service")
    sign_in(client, agent_person.username, agent_person.password)

    page = client.get("/service/lookup?q=35gw-2024")
    assert page.status_code == 200
    assert f'data-caller="{buyer.id}"' in page.text
    for shown in (
        "王建国",
        "格力 KFR-35GW",
        "KF35GW-2024-0815",
        "2024-08-15",
        "苏宁易购南京新街口店",
    ):
        assert shown in page.text, shown
    assert "VIP (deferential)" in page.text and "Stability" in page.text
    assert f'data-ticket="{old.id}"' in page.text and fixer.user.label in page.text
    assert f"/service/tickets/new?customer_id={buyer.id}" in page.text

    # a phone fragment and a name find the same caller
    assert f'data-caller="{buyer.id}"' in client.get("/service/lookup?q=1234567").text
    assert f'data-caller="{buyer.id}"' in client.get("/service/lookup?q=王建").text
    assert "Nobody matches" in client.get("/service/lookup?q=ZZ99999").text

    # the script's fragment holds the same answer without the page around it
    fragment = client.get("/service/lookup/results?q=2024-08")
    assert fragment.status_code == 200
    assert f'data-caller="{buyer.id}"' in fragment.text and "<html" not in fragment.text


def test_several_matches_are_listed_and_one_is_chosen(
    client: TestClient, people: People, session: Session
):
    manager = people.user("manager")
    first = customer(session, manager.user, "张伟")
    second = customer(session, manager.user, "张伟明")
    _register(session, manager.user, first.id, "SN-A-100", model="冰箱")
    _register(session, manager.user, second.id, "SN-B-100", model="洗衣机")
    sign_in(client, manager.username, manager.password)

    page = client.get("/service/lookup?q=-100").text
    listed = re.findall(r'data-customer="(\d+)"', page)
    assert sorted(map(int, listed)) == sorted([first.id, second.id])
    chosen = client.get(f"/service/lookup?q=-100&customer_id={second.id}").text
    assert f'data-caller="{second.id}"' in chosen and "洗衣机" in chosen


def test_a_sales_rep_finds_only_their_own_callers(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    other = people.user("sales")
    theirs = customer(session, other.user, "刘洋")
    _register(session, other.user, theirs.id, "HIDDEN-777", model="电视")
    mine = customer(session, rep.user, "刘洋洋")
    _register(session, rep.user, mine.id, "MINE-777", model="电视")
    sign_in(client, rep.username, rep.password)

    page = client.get("/service/lookup?q=777").text
    assert f'data-caller="{mine.id}"' in page
    assert "HIDDEN-777" not in page and f'data-customer="{theirs.id}"' not in page
    # an edited link naming someone else's customer shows no card
    forced = client.get(f"/service/lookup?q=777&customer_id={theirs.id}").text
    assert f'data-caller="{theirs.id}"' not in forced and "刘洋<" not in forced
    found = lookup.find_callers(session=session, actor=rep.user, q="刘洋")
    assert [m.customer.id for m in found] == [mine.id]


def test_open_a_ticket_from_the_lookup_prefills_the_form(
    client: TestClient, people: People, session: Session
):
    agent_person = people.user("service")
    buyer = customer(session, agent_person.user, "钱芳")
    item = _register(session, agent_person.user, buyer.id, "WM-555", model="海尔洗衣机")
    sign_in(client, agent_person.username, agent_person.password)
    page = client.get("/service/lookup?q=WM-555").text
    link = f"/service/tickets/new?customer_id={buyer.id}&amp;owned_item_id={item}"
    assert link in page
    form = client.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    assert "钱芳" in form.text
    assert re.search(rf'<option value="{item}" selected>海尔洗衣机 · WM-555</option>', form.text)
    assert re.search(r'<option value="service_request" selected>', form.text)
