"""Signing in to the customer portal: a one-time link mailed to an address on the record, an
answer that never tells a known address from an unknown one, limits per address and per client,
links that work once and expire, and a session that opens the portal and nothing else."""

from __future__ import annotations

import functools
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guanxi import crypto
from guanxi.audit.models import AuditEntry
from guanxi.config import Settings
from guanxi.db import utcnow
from guanxi.service_desk.models import PortalLoginLink, PortalLoginRequest, PortalSession
from guanxi.service_desk.portal import auth
from tests.conftest import People
from tests.customers.import_helpers import SavepointUnits
from tests.mail_server import Inbox
from tests.service_desk.portal_support import (
    LINK,
    csrf_of,
    inbox,
    issue_link,
    make_customer,
    open_link,
    portal_app_settings,
    portal_client,
    sign_in,
)

__all__ = ["inbox", "portal_app_settings", "portal_client"]  # fixtures


def _ask(client: TestClient, address: str) -> tuple[int, str, str]:
    form = client.get("/portal/login")
    reply = client.post(
        "/portal/login",
        data={"email": address, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    return reply.status_code, reply.headers.get("location", ""), reply.text


def test_a_known_address_gets_a_link_that_signs_in_once(
    portal_client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "李娜", emails=["li.na@example.com"])

    status, location, _ = _ask(portal_client, "  Li.Na@Example.com ")

    assert (status, location) == (303, "/portal/login/sent")
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "李娜 <li.na@example.com>"
    token = LINK.findall(message.get_content())[0]
    # only the hash is kept, never the token that opens the portal
    assert auth.digest(token) in {link.token_hash for link in _links(session)}
    assert token not in {link.token_hash for link in _links(session)}

    confirm = portal_client.get(f"/portal/login/{token}")
    assert confirm.status_code == 200  # opening the link uses nothing up: a button does
    pressed = portal_client.post(
        f"/portal/login/{token}",
        data={"csrf_token": csrf_of(confirm.text)},
        follow_redirects=False,
    )
    assert (pressed.status_code, pressed.headers["location"]) == (303, "/portal")
    cookie = pressed.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE}=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/portal" in cookie
    home = portal_client.get("/portal")
    assert home.status_code == 200 and "李娜" in home.text
    cookie_token = portal_client.cookies.get(auth.COOKIE)
    stored = session.scalars(select(PortalSession.token_hash)).all()
    assert auth.digest(str(cookie_token)) in stored and cookie_token not in stored
    assert _audited(session, "portal.login", buyer.id) == 1

    # the same link again, in this browser or another: used up
    assert portal_client.get(f"/portal/login/{token}").status_code == 410
    with TestClient(portal_client.app) as other:
        assert open_link(other, token) == 410
        assert other.get("/portal", follow_redirects=False).headers["location"] == "/portal/login"


def _links(session: Session) -> list[PortalLoginLink]:
    session.expire_all()
    return list(session.scalars(select(PortalLoginLink)))


def _audited(session: Session, action: str, customer_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.entity_id == str(customer_id))
        )
        or 0
    )


def test_known_and_unknown_addresses_get_the_same_answer(
    portal_client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    owner = people.user("sales")
    make_customer(session, owner.user, "王芳", emails=["wang.fang@example.com"])
    gone = make_customer(session, owner.user, "赵强", emails=["zhao.qiang@example.com"])
    gone.deleted_at = utcnow()
    session.flush()

    known = _ask(portal_client, "wang.fang@example.com")
    unknown = _ask(portal_client, "nobody@example.com")
    deleted = _ask(portal_client, "zhao.qiang@example.com")

    assert known == unknown == deleted
    assert known[:2] == (303, "/portal/login/sent")
    # the page it leads to is one page for everybody
    sent = portal_client.get("/portal/login/sent")
    assert sent.status_code == 200 and "If the address is on our records" in sent.text
    assert [m["To"] for m in inbox.messages] == ["王芳 <wang.fang@example.com>"]


def test_a_malformed_address_is_asked_again_with_what_was_typed(
    portal_client: TestClient, inbox: Inbox
) -> None:
    form = portal_client.get("/portal/login")
    reply = portal_client.post(
        "/portal/login", data={"email": "not-an-address", "csrf_token": csrf_of(form.text)}
    )
    assert reply.status_code == 422
    assert 'value="not-an-address"' in reply.text and "Not an e-mail address." in reply.text
    assert inbox.messages == []


def test_the_form_needs_its_csrf_token(portal_client: TestClient, session: Session) -> None:
    reply = portal_client.post("/portal/login", data={"email": "a@example.com"})
    assert reply.status_code == 403
    assert session.scalar(select(func.count()).select_from(PortalLoginRequest)) == 0


def test_requests_are_limited_per_address_silently_and_per_client_with_a_429(
    portal_client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    owner = people.user("sales")
    make_customer(session, owner.user, "陈静", emails=["chen.jing@example.com"])

    answers = {
        _ask(portal_client, "chen.jing@example.com") for _ in range(auth.PER_ADDRESS_PER_HOUR + 1)
    }

    # the sixth answer is the same neutral one, but no sixth mail goes out
    assert len(answers) == 1
    assert len(inbox.messages) == auth.PER_ADDRESS_PER_HOUR
    for n in range(auth.PER_IP_PER_HOUR - auth.PER_ADDRESS_PER_HOUR - 1):
        assert _ask(portal_client, f"someone{n}@example.com")[0] == 303
    form = portal_client.get("/portal/login")
    refused = portal_client.post(
        "/portal/login", data={"email": "late@example.com", "csrf_token": csrf_of(form.text)}
    )
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "3600"
    assert "Too many sign-in requests" in refused.text
    # requests older than the window no longer count
    session.query(PortalLoginRequest).update(
        {PortalLoginRequest.at: utcnow() - auth.RATE_WINDOW}, synchronize_session=False
    )
    session.flush()
    assert _ask(portal_client, "late@example.com")[0] == 303


def test_an_expired_link_signs_nobody_in(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "刘洋", emails=["liu.yang@example.com"])
    token = issue_link(session, buyer, minutes=-1)

    assert open_link(portal_client, token) == 410
    page = portal_client.get("/portal/login")
    pressed = portal_client.post(f"/portal/login/{token}", data={"csrf_token": csrf_of(page.text)})
    assert pressed.status_code == 410 and "expired or was used already" in pressed.text
    assert auth.COOKIE not in portal_client.cookies
    # a link that is still good works once, also when pressed twice
    fresh = issue_link(session, buyer)
    assert open_link(portal_client, fresh) == 303
    again = portal_client.post(f"/portal/login/{fresh}", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 410


def test_signing_out_ends_the_session(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "周敏", emails=["zhou.min@example.com"])
    csrf = sign_in(portal_client, session, buyer)

    assert portal_client.post("/portal/logout", data={}, follow_redirects=False).status_code == 403
    out = portal_client.post("/portal/logout", data={"csrf_token": csrf}, follow_redirects=False)

    assert (out.status_code, out.headers["location"]) == (303, "/portal/login")
    assert session.scalar(select(func.count()).select_from(PortalSession)) == 0
    assert portal_client.get("/portal", follow_redirects=False).headers["location"] == (
        "/portal/login"
    )


def test_the_portal_cookie_opens_nothing_of_the_staff_app_or_the_api(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("admin")
    buyer = make_customer(session, owner.user, "孙丽", emails=["sun.li@example.com"])
    sign_in(portal_client, session, buyer)
    cookie = {"cookie": f"{auth.COOKIE}={portal_client.cookies.get(auth.COOKIE)}"}
    bearer = people.token(owner)
    session.flush()

    with TestClient(portal_client.app) as stranger:
        for path in ("/", "/customers", f"/customers/{buyer.id}", "/service", "/admin"):
            page = stranger.get(path, headers=cookie, follow_redirects=False)
            assert page.status_code == 303, path
            assert page.headers["location"].startswith("/login?next="), path
        for path in ("/api/v1/customers", f"/api/v1/customers/{buyer.id}", "/api/v1/tickets"):
            answer = stranger.get(path, headers=cookie)
            assert answer.status_code == 401, path
            assert "孙丽" not in answer.text
        # and the staff's session opens nothing of the portal
        portal = stranger.get("/portal", headers=bearer, follow_redirects=False)
        assert (portal.status_code, portal.headers["location"]) == (303, "/portal/login")


def test_a_session_ends_when_it_expires_or_the_customer_is_deleted(
    portal_client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "钱进", emails=["qian.jin@example.com"])
    sign_in(portal_client, session, buyer)
    record = session.scalars(select(PortalSession)).one()

    record.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert portal_client.get("/portal", follow_redirects=False).status_code == 303

    record.expires_at = utcnow() + timedelta(hours=1)
    session.flush()
    assert portal_client.get("/portal", follow_redirects=False).status_code == 200
    buyer.deleted_at = utcnow()
    session.flush()
    gone = portal_client.get("/portal/profile", follow_redirects=False)
    assert (gone.status_code, gone.headers["location"]) == (303, "/portal/login")


def test_the_mail_job_sends_nothing_for_a_link_used_or_expired_meanwhile(
    portal_app_settings: Settings,
    sessions: sessionmaker[Session],
    people: People,
    session: Session,
    inbox: Inbox,
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "孔明", emails=["kong.ming@example.com"])
    units = SavepointUnits(sessions)
    token = issue_link(session, buyer)
    link = session.scalars(select(PortalLoginLink)).one()
    sealed = crypto.cipher().encrypt(token)
    send = functools.partial(
        auth.send_link,
        portal_app_settings,
        units,
        link_id=link.id,
        sealed_token=sealed,  # type: ignore[arg-type]
    )

    assert send(locale="zh_CN") is True
    [message] = inbox.messages
    assert message["Subject"] == "您的客户服务门户登录链接"
    assert f"http://portal.test/portal/login/{token}" in message.get_content()
    auth.redeem_link(session, token=token, ip_address="127.0.0.1")
    session.flush()
    assert send(locale="en") is False
    link.used_at, link.expires_at = None, utcnow() - timedelta(minutes=1)
    session.flush()
    assert send(locale="en") is False
    assert len(inbox.messages) == 1


def test_pruning_forgets_expired_links_sessions_and_old_requests(
    people: People, session: Session
) -> None:
    owner = people.user("sales")
    buyer = make_customer(session, owner.user, "贾宝", emails=["jia.bao@example.com"])
    old = utcnow() - timedelta(days=1)
    issue_link(session, buyer, minutes=-24 * 60)
    fresh_token = issue_link(session, buyer)
    session.add(PortalLoginRequest(address_hash="x" * 64, ip_address="10.0.0.1", at=old))
    session.add(PortalLoginRequest(address_hash="y" * 64, ip_address="10.0.0.1", at=utcnow()))
    session.flush()

    assert auth.prune(session) == 2
    assert [link.token_hash for link in _links(session)] == [auth.digest(fresh_token)]
    assert session.scalar(select(func.count()).select_from(PortalLoginRequest)) == 1
