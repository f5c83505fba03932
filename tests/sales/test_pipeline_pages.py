"""The pipeline pages as a browser without script uses them: the board and its "move to" form,
the list with filters, the create and edit forms with inline errors, the record page with its
history, winning with an order and losing with a reason, the stage administration; another team's
opportunity is not found anywhere and a role without opportunities is refused."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.sales.models import Opportunity, Order
from tests.conftest import PASSWORD, People
from tests.sales.pipeline_support import changes, customer_of, opportunity_of, stage
from tests.web.forms import sign_in, submit


def test_board_list_and_move_form(client: TestClient, people: People, session: Session):
    east, west = people.team("East"), people.team("West")
    rep, other = people.user("sales", team=west), people.user("sales", team=east)
    mine = opportunity_of(session, rep.user, title="西区大单", amount="5000.00")
    theirs = opportunity_of(session, other.user, title="东区秘密", amount="7000.00")
    session.flush()
    sign_in(client, rep.username, PASSWORD)

    board = client.get("/sales/pipeline")
    assert board.status_code == 200
    assert "西区大单" in board.text and "东区秘密" not in board.text
    assert "¥5,000.00" in board.text or "CN¥5,000.00" in board.text

    proposal = stage(session, "proposal")
    moved = submit(
        client,
        "/sales/pipeline",
        f"/sales/opportunities/{mine.id}/move",
        {"stage_id": proposal.id, "version": mine.version, "back": "/sales/pipeline?source="},
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/sales/pipeline?source="
    session.refresh(mine)
    assert mine.stage_id == proposal.id and len(changes(session, mine.id)) == 2
    # the old version again: refused with a message, nothing moves
    stale = submit(
        client,
        "/sales/pipeline",
        f"/sales/opportunities/{mine.id}/move",
        {"stage_id": stage(session, "lead").id, "version": 1, "back": "https://evil.example/"},
    )
    assert stale.headers["location"] == "/sales/pipeline"
    assert "changed since you loaded it" in client.get("/sales/pipeline").text
    # a lost stage asks for the reason on the record page
    to_lost = submit(
        client,
        "/sales/pipeline",
        f"/sales/opportunities/{mine.id}/move",
        {"stage_id": stage(session, "lost").id, "back": "/sales/pipeline"},
    )
    assert to_lost.headers["location"] == f"/sales/opportunities/{mine.id}#lose"

    listed = client.get("/sales/opportunities", params={"stage_id": proposal.id})
    assert "西区大单" in listed.text and "东区秘密" not in listed.text
    assert "西区大单" not in client.get("/sales/opportunities", params={"status": "won"}).text
    assert client.get("/sales/opportunities", params={"amount_min": "lots"}).status_code == 400

    for path in ("", "/edit"):
        assert client.get(f"/sales/opportunities/{theirs.id}{path}").status_code == 404
    hidden_move = submit(
        client,
        "/sales/pipeline",
        f"/sales/opportunities/{theirs.id}/move",
        {"stage_id": proposal.id},
    )
    assert hidden_move.status_code == 404


def test_create_edit_win_and_lose_from_forms(client: TestClient, people: People, session: Session):
    rep = people.user("sales")
    customer = customer_of(session, rep.user, "杭州云栖")
    session.flush()
    sign_in(client, rep.username, PASSWORD)

    page = client.get(f"/sales/opportunities/new?customer_id={customer}")
    assert page.status_code == 200 and "杭州云栖" in page.text
    bad = submit(
        client,
        "/sales/opportunities/new",
        "/sales/opportunities/new",
        {"customer_id": customer, "title": "", "amount": "12x"},
    )
    assert bad.status_code == 422
    assert "This field is required." in bad.text and 'value="12x"' in bad.text
    made = submit(
        client,
        "/sales/opportunities/new",
        "/sales/opportunities/new",
        {
            "customer_id": customer,
            "title": "云平台扩容",
            "amount": "30000.30",
            "source": "referral",
        },
    )
    assert made.status_code == 303
    opportunity_id = int(made.headers["location"].rsplit("/", 1)[1])
    record = client.get(f"/sales/opportunities/{opportunity_id}")
    assert "云平台扩容" in record.text and "Stage history" in record.text

    opportunity = session.get(Opportunity, opportunity_id)
    assert opportunity is not None
    edited = submit(
        client,
        f"/sales/opportunities/{opportunity_id}/edit",
        f"/sales/opportunities/{opportunity_id}/edit",
        {
            "customer_id": customer,
            "title": "云平台扩容二期",
            "amount": "31000.00",
            "stage_id": stage(session, "negotiation").id,
            "probability": "10",  # carried along unchanged: the new stage's default applies
            "owner_id": rep.user.id,
            "version": opportunity.version,
        },
    )
    assert edited.status_code == 303, edited.text
    session.refresh(opportunity)
    assert (opportunity.title, opportunity.probability) == ("云平台扩容二期", 75)

    no_reason = submit(
        client,
        f"/sales/opportunities/{opportunity_id}",
        f"/sales/opportunities/{opportunity_id}/lose",
        {"lost_reason": " ", "version": opportunity.version},
    )
    assert no_reason.status_code == 422 and "Say why the opportunity was lost." in no_reason.text
    won = submit(
        client,
        f"/sales/opportunities/{opportunity_id}",
        f"/sales/opportunities/{opportunity_id}/win",
        {"create_order": "1", "version": opportunity.version},
    )
    assert won.status_code == 303 and won.headers["location"].startswith("/sales/orders/")
    order = session.get(Order, int(won.headers["location"].rsplit("/", 1)[1]))
    assert order is not None and order.total == Decimal("31000.00")
    history = client.get(f"/sales/opportunities/{opportunity_id}").text
    assert history.count("<tr>") >= 4  # header + created, negotiation, won


def test_stage_admin_page(client: TestClient, people: People, session: Session):
    manager = people.user("manager")
    admin = people.user("admin")
    session.flush()
    sign_in(client, manager.username, PASSWORD)
    assert client.get("/sales/pipeline/stages").status_code == 403
    client.cookies.clear()
    sign_in(client, admin.username, PASSWORD)
    page = client.get("/sales/pipeline/stages")
    assert page.status_code == 200 and "Negotiation" in page.text
    added = submit(
        client,
        "/sales/pipeline/stages",
        "/sales/pipeline/stages",
        {"key": "demo", "label": "产品演示", "probability": "40", "outcome": "open"},
    )
    assert added.status_code == 303
    assert "产品演示" in client.get("/sales/pipeline").text
    refused = submit(
        client,
        "/sales/pipeline/stages",
        "/sales/pipeline/stages",
        {"key": "Bad Key", "label": "", "probability": "400"},
    )
    assert refused.status_code == 422
    won = stage(session, "won")
    retire = submit(
        client,
        "/sales/pipeline/stages",
        f"/sales/pipeline/stages/{won.id}",
        {"action": "retire", "version": won.version},
    )
    assert retire.status_code == 303
    assert "exactly one active won stage" in client.get("/sales/pipeline/stages").text
    session.refresh(won)
    assert won.is_active


def test_roles_without_opportunities_are_refused_on_pages(client: TestClient, people: People):
    clerk = people.user("service")
    sign_in(client, clerk.username, PASSWORD)
    for path in ("/sales/pipeline", "/sales/opportunities", "/sales/opportunities/new"):
        assert client.get(path).status_code == 403, path
