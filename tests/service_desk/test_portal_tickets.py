"""Requests in the portal: a customer opens tickets through the desk's own service, sees only
their own (another customer's is not found, and the staff's pages and API stay closed), follows
the conversation without the internal notes, replies, and finds the surveys still open."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.service_desk import service as desk
from guanxi.service_desk import surveys
from guanxi.service_desk.models import Survey, Ticket, TicketChange, TicketMessage
from guanxi.service_desk.portal import auth
from guanxi.service_desk.schemas import TicketCreate
from tests.conftest import People
from tests.service_desk.portal_support import (
    inbox,
    make_customer,
    portal_app_settings,
    portal_client,
    sign_in,
)

__all__ = ["inbox", "portal_app_settings", "portal_client"]  # fixtures


def _staff_ticket(session: Session, actor: User, customer: Customer, subject: str) -> Ticket:
    ticket = desk.create_ticket(
        session,
        actor=actor,
        ticket_in=TicketCreate(customer_id=customer.id, kind="inquiry", subject=subject),
    )
    session.flush()
    return ticket


def test_a_customer_opens_a_request_that_the_desk_routes_and_times(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "吴昊", emails=["wu.hao@example.com"])
    csrf = sign_in(portal_client, session, buyer)
    form = portal_client.get("/portal/tickets/new")
    assert form.status_code == 200 and 'value="service_request"' in form.text

    empty = portal_client.post(
        "/portal/tickets/new",
        data={"csrf_token": csrf, "kind": "complaint", "subject": "  ", "description": "坏了"},
    )
    assert empty.status_code == 422 and "坏了" in empty.text
    opened = portal_client.post(
        "/portal/tickets/new",
        data={
            "csrf_token": csrf,
            "kind": "complaint",
            "subject": "空调不制冷",
            "description": "买了两个月，开机后只吹热风。",
            "customer_id": "1",  # not the form's to choose
        },
        follow_redirects=False,
    )

    assert opened.status_code == 303
    ticket = session.scalars(select(Ticket).where(Ticket.customer_id == buyer.id)).one()
    assert opened.headers["location"] == f"/portal/tickets/{ticket.id}"
    assert (ticket.kind, ticket.channel, ticket.status) == ("complaint", "portal", "new")
    assert ticket.created_by_id is None and ticket.language == "en"
    assert ticket.first_response_due is not None and ticket.resolution_due is not None
    first = session.scalars(
        select(TicketChange).where(TicketChange.ticket_id == ticket.id).order_by(TicketChange.id)
    ).first()
    assert first is not None
    assert (first.field, first.new_value, first.actor_label) == ("status", "new", "customer")
    listing = portal_client.get("/portal/tickets")
    assert f'data-ticket="{ticket.id}"' in listing.text and "空调不制冷" in listing.text


def test_another_customers_ticket_is_not_found_and_staff_pages_stay_closed(
    portal_client: TestClient, people: People, session: Session
) -> None:
    agent = people.user("admin")
    buyer = make_customer(session, agent.user, "郑爽", emails=["zheng.shuang@example.com"])
    other = make_customer(session, agent.user, "冯刚", emails=["feng.gang@example.com"])
    mine = _staff_ticket(session, agent.user, buyer, "发票抬头")
    theirs = _staff_ticket(session, agent.user, other, "冯刚的保修问题")
    csrf = sign_in(portal_client, session, buyer)

    assert portal_client.get(f"/portal/tickets/{mine.id}").status_code == 200
    page = portal_client.get(f"/portal/tickets/{theirs.id}")
    assert page.status_code == 404
    assert "冯刚" not in page.text and "/portal" in page.text
    reply = portal_client.post(
        f"/portal/tickets/{theirs.id}/reply", data={"csrf_token": csrf, "body": "hello"}
    )
    assert reply.status_code == 404
    assert (
        session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == theirs.id)).all()
        == []
    )
    assert theirs.id not in {int(t) for t in _listed(portal_client.get("/portal/tickets").text)}
    assert portal_client.get("/portal/tickets/not-a-number").status_code == 404
    cookie = {"cookie": f"{auth.COOKIE}={portal_client.cookies.get(auth.COOKIE)}"}
    with TestClient(portal_client.app) as stranger:
        for path in (f"/api/v1/tickets/{mine.id}", "/api/v1/tickets"):
            answer = stranger.get(path, headers=cookie)
            assert answer.status_code == 401 and "发票抬头" not in answer.text
        staff_page = stranger.get(
            f"/service/tickets/{mine.id}", headers=cookie, follow_redirects=False
        )
        assert staff_page.status_code in (303, 404)
        assert staff_page.status_code == 404 or staff_page.headers["location"].startswith("/login")


def _listed(html: str) -> list[str]:
    import re

    return re.findall(r'data-ticket="(\d+)"', html)


def test_the_customer_follows_the_conversation_and_replies(
    portal_client: TestClient, people: People, session: Session
) -> None:
    agent = people.user("admin")
    buyer = make_customer(session, agent.user, "曹颖", emails=["cao.ying@example.com"])
    ticket = _staff_ticket(session, agent.user, buyer, "安装预约")
    desk.add_note(session, actor=agent.user, ticket=ticket, body="客户难缠，内部备注")
    session.add(
        TicketMessage(
            ticket_id=ticket.id, kind="reply", body="请告诉我们方便的时间。", created_at=utcnow()
        )
    )
    desk.change_status(session, actor=agent.user, ticket=ticket, status="waiting")
    session.flush()
    csrf = sign_in(portal_client, session, buyer)

    page = portal_client.get(f"/portal/tickets/{ticket.id}")
    assert "请告诉我们方便的时间。" in page.text
    assert "内部备注" not in page.text

    blank = portal_client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"csrf_token": csrf, "body": "   "}
    )
    assert blank.status_code == 422
    sent = portal_client.post(
        f"/portal/tickets/{ticket.id}/reply",
        data={"csrf_token": csrf, "body": "周六上午可以。"},
        follow_redirects=False,
    )

    assert sent.status_code == 303
    session.expire_all()
    message = session.scalars(
        select(TicketMessage).where(
            TicketMessage.ticket_id == ticket.id, TicketMessage.kind == "customer"
        )
    ).one()
    assert (message.body, message.author_id) == ("周六上午可以。", None)
    changes = session.scalars(
        select(TicketChange).where(
            TicketChange.ticket_id == ticket.id, TicketChange.actor_label == "customer"
        )
    ).all()
    assert {(c.field, c.new_value) for c in changes} == {
        ("message", f"#{message.id}"),
        ("status", "in_progress"),
    }
    refreshed = session.get(Ticket, ticket.id)
    assert refreshed is not None and refreshed.status == "in_progress"
    assert "周六上午可以。" in portal_client.get(f"/portal/tickets/{ticket.id}").text

    desk.change_status(session, actor=agent.user, ticket=refreshed, status="resolved")
    desk.change_status(session, actor=agent.user, ticket=refreshed, status="closed")
    session.flush()
    closed = portal_client.post(
        f"/portal/tickets/{ticket.id}/reply", data={"csrf_token": csrf, "body": "还有一个问题"}
    )
    assert closed.status_code == 409 and "open a new one" in closed.text


def test_pending_surveys_link_to_their_answer_page(
    portal_client: TestClient,
    people: People,
    session: Session,
    portal_app_settings: Settings,
) -> None:
    agent = people.user("admin")
    buyer = make_customer(session, agent.user, "邓超", emails=["deng.chao@example.com"])
    other = make_customer(session, agent.user, "彭宇", emails=["peng.yu@example.com"])
    now = utcnow()
    made = {}
    for who, name, answered, expires in (
        (buyer, "open", None, now + timedelta(days=3)),
        (buyer, "answered", now, now + timedelta(days=3)),
        (buyer, "expired", None, now - timedelta(days=1)),
        (other, "foreign", None, now + timedelta(days=3)),
    ):
        ticket = _staff_ticket(session, agent.user, who, f"survey {name}")
        survey = Survey(
            ticket_id=ticket.id,
            customer_id=who.id,
            email_address=who.emails[0].address,
            sent_at=now,
            expires_at=expires,
            answered_at=answered,
        )
        session.add(survey)
        session.flush()
        made[name] = survey
    sign_in(portal_client, session, buyer)

    page = portal_client.get("/portal/surveys")

    assert page.status_code == 200
    assert f'data-survey="{made["open"].id}"' in page.text
    assert f'href="/survey/{surveys.token_for(portal_app_settings, made["open"])}"' in page.text
    for name in ("answered", "expired", "foreign"):
        assert f'data-survey="{made[name].id}"' not in page.text
