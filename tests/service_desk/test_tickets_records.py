"""What tickets add to the customer record: an entry on the customer's timeline and a tickets
panel on the 360 page (each showing only the tickets the viewer may see), the personal-data
export, and the tickets, surveys and owned products moving to the survivor when two customers
are merged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit import service as audit_service
from guanxi.audit.models import AuditEntry
from guanxi.customers import merge, privacy, timeline
from guanxi.db import utcnow
from guanxi.sales.models import OwnedItem
from guanxi.service_desk import service
from guanxi.service_desk.models import Survey, Ticket, TicketMessage
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
    assert f'href="/service/tickets/new?customer_id={shop["customer"].id}"' in page.text


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


def test_merging_customers_moves_their_tickets_surveys_and_owned_products(
    session: Session, people: People, shop: dict[str, Any]
) -> None:
    admin = people.user("admin")
    made = shop["ticket"]
    session.add(
        Survey(
            ticket_id=made.id,
            customer_id=shop["customer"].id,
            email_address="wang@example.com",
            expires_at=utcnow() + timedelta(days=14),
        )
    )
    session.add(OwnedItem(customer_id=shop["customer"].id, serial_number="SN-9", model="KFR-35"))
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
    assert session.scalars(select(Survey.customer_id)).all() == [survivor.id]
    assert session.scalars(select(OwnedItem.customer_id)).all() == [survivor.id]


def test_the_personal_data_export_holds_tickets_messages_to_the_customer_and_surveys(
    session: Session, shop: dict[str, Any]
) -> None:
    made = shop["ticket"]
    service.add_note(session, actor=shop["agent"].user, ticket=made, body="内部：客户脾气急")
    session.add(TicketMessage(ticket_id=made.id, kind="customer", body="请尽快上门"))
    session.flush()
    document = privacy.personal_data(
        session=session, actor=shop["rep"].user, customer=shop["customer"]
    )
    [exported] = document["tickets"]
    assert (exported["id"], exported["subject"]) == (made.id, "空调不制冷")
    assert [m["body"] for m in exported["messages"]] == ["请尽快上门"]  # no internal note
    assert document["surveys"] == []


def test_erasure_blanks_what_the_tickets_say_and_keeps_the_tickets(
    session: Session, shop: dict[str, Any], people: People
) -> None:
    made = shop["ticket"]
    made.description = "住在淮海中路 1 号，电话 13855556666"
    service.add_note(session, actor=shop["agent"].user, ticket=made, body="内部：客户脾气急")
    session.add(
        Survey(
            ticket_id=made.id,
            customer_id=shop["customer"].id,
            email_address="wang@example.com",
            expires_at=utcnow() + timedelta(days=7),
            answered_at=utcnow(),
            csat=2,
            comment="师傅迟到了",
        )
    )
    session.flush()
    admin = people.user("admin").user
    privacy.erase(session=session, actor=admin, customer=shop["customer"])
    session.flush()
    session.expire_all()

    kept = session.get_one(Ticket, made.id)
    assert (kept.subject, kept.description) == (f"#{made.id}", "")
    assert (kept.kind, kept.status) == ("complaint", made.status)  # the reports keep counting it
    assert [m.body for m in session.scalars(select(TicketMessage))] == [""]
    survey = session.scalars(select(Survey)).one()
    assert (survey.csat, survey.comment, survey.email_address) == (2, "", "")
    # the subject's old words no longer find it
    found = service.list_tickets(session=session, actor=admin, q="不制冷")
    assert found.items == []
    # nor does the audit log show what the ticket said
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "ticket")):
        readable = str(audit_service.readable_changes(session=session, entry=entry))
        assert "不制冷" not in readable and "淮海" not in readable
    assert audit_service.verify(session=session).intact
