"""What tickets add to the customer record: an entry on the customer's timeline and a tickets
panel on the 360 page (each showing only the tickets the viewer may see), and the tickets
moving to the survivor when two customers are merged."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.customers import merge, timeline
from guanxi.service_desk.models import Ticket
from tests.conftest import PASSWORD, People
from tests.service_desk.support import agent, customer, queue, ticket
from tests.web.forms import sign_in


@pytest.fixture
def shop(session: Session, people: People) -> dict[str, Any]:
    rep = people.user("sales")
    buyer = customer(session, rep.user, "王小明")
    repairs = queue(session, "维修")
    others = queue(session, "投诉")
    worker = agent(people, repairs)
    outsider = agent(people, others)
    mine = ticket(session, rep.user, buyer.id, subject="空调不制冷", queue_id=repairs.id)
    return {"rep": rep, "customer": buyer, "ticket": mine, "agent": worker, "outsider": outsider}


def test_a_ticket_is_on_the_customer_timeline_for_those_who_see_it(
    session: Session, shop: dict[str, Any]
) -> None:
    made = shop["ticket"]
    page = timeline.stream(session, shop["customer"], actor=shop["rep"].user, limit=50)
    entries = [e for e in page.entries if e.kind == "tickets"]
    assert [e.key for e in entries] == [f"ticket:{made.id:012d}"]
    title, detail = timeline.text(entries[0])
    assert title == f"Complaint #{made.id}: 空调不制冷"
    assert detail == "Status: Assigned; priority: Normal"
    assert entries[0].link == f"/service/tickets/{made.id}"
    only = timeline.stream(
        session, shop["customer"], actor=shop["rep"].user, kind="tickets", limit=50
    )
    assert {e.kind for e in only.entries} == {"tickets"}
    # an agent of another queue sees the customer but not this ticket
    hidden = timeline.stream(session, shop["customer"], actor=shop["outsider"].user, limit=50)
    assert all(e.kind != "tickets" for e in hidden.entries)


def test_the_360_page_shows_the_tickets_panel(
    client: TestClient, people: People, shop: dict[str, Any]
) -> None:
    sign_in(client, shop["rep"].username, PASSWORD)
    page = client.get(f"/customers/{shop['customer'].id}")
    assert page.status_code == 200
    assert 'id="tickets"' in page.text
    assert f'data-ticket="{shop["ticket"].id}"' in page.text
    assert "空调不制冷" in page.text and "1 open" in page.text
    assert shop["agent"].user.label in page.text  # who handles it


def test_the_panel_is_empty_for_an_agent_of_another_queue_and_absent_without_rights(
    client: TestClient, people: People, shop: dict[str, Any]
) -> None:
    sign_in(client, shop["outsider"].username, PASSWORD)
    page = client.get(f"/customers/{shop['customer'].id}")
    assert page.status_code == 200
    assert 'id="tickets"' in page.text and "No tickets yet." in page.text
    assert "空调不制冷" not in page.text
    marketer = people.user("marketing")
    client.cookies.clear()
    sign_in(client, marketer.username, PASSWORD)
    page = client.get(f"/customers/{shop['customer'].id}")
    assert page.status_code == 200 and 'id="tickets"' not in page.text


def test_merging_customers_moves_their_tickets(
    session: Session, people: People, shop: dict[str, Any]
) -> None:
    admin = people.user("admin")
    survivor = customer(session, shop["rep"].user, "王小明（重复）")
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
    assert session.scalars(select(Ticket.customer_id)).all() == [survivor.id]
