"""In-app notifications: each user sees and marks only their own, in their own language, and
the bell in the page header shows how many are unread."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.errors import N_
from guanxi.notifications import service
from tests.conftest import People
from tests.web.forms import sign_in, submit

MESSAGE = N_("Contract {number} ({title}) with {customer} ends on {end_date}.")
VALUES = {
    "number": "HT-2026-000007",
    "title": "年度供货",
    "customer": "青山茶业",
    "end_date": "2026-12-31",
}


def _bell(html: str) -> str:
    match = re.search(r'class="notification-bell"[^>]*data-unread="(\d+)"', html)
    assert match, "no notification bell on the page"
    return match.group(1)


def test_api_lists_and_marks_only_the_callers_own(
    client: TestClient, people: People, session: Session
):
    me, other = people.user("sales"), people.user("sales")
    first = service.notify(
        session,
        user_id=me.user.id,
        kind="contract_expiring",
        message=MESSAGE,
        values=VALUES,
        link="/sales/contracts/7",
    )
    second = service.notify(
        session, user_id=me.user.id, kind="note", message=MESSAGE, values=VALUES
    )
    theirs = service.notify(
        session, user_id=other.user.id, kind="note", message=MESSAGE, values=VALUES
    )
    session.flush()
    api = people.token(me)

    listed = client.get("/api/v1/me/notifications", headers=api)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [n["id"] for n in items] == [second.id, first.id]  # newest first, never theirs
    assert (
        items[1]["text"] == "Contract HT-2026-000007 (年度供货) with 青山茶业 ends on 2026-12-31."
    )
    assert items[1]["link"] == "/sales/contracts/7" and items[1]["read_at"] is None

    assert client.post(f"/api/v1/me/notifications/{theirs.id}/read", headers=api).status_code == 404
    read = client.post(f"/api/v1/me/notifications/{first.id}/read", headers=api)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = client.get("/api/v1/me/notifications?unread=true", headers=api).json()["items"]
    assert [n["id"] for n in unread] == [second.id]

    all_read = client.post("/api/v1/me/notifications/read-all", headers=api)
    assert all_read.json() == {"marked": 1, "unread": 0}
    assert service.unread_count(session, user_id=other.user.id) == 1  # theirs untouched
    assert client.get("/api/v1/me/notifications").status_code == 401


def test_page_shows_them_in_the_viewers_language_and_the_bell_counts(
    client: TestClient, people: People, session: Session
):
    me = people.user("sales")
    me.user.locale = "zh_CN"
    note = service.notify(
        session,
        user_id=me.user.id,
        kind="contract_expiring",
        message=MESSAGE,
        values=VALUES,
        link="/sales/contracts/7",
    )
    service.notify(
        session, user_id=people.user("sales").user.id, kind="x", message=MESSAGE, values=VALUES
    )
    session.flush()
    sign_in(client, me.username, me.password)

    page = client.get("/notifications")
    assert page.status_code == 200
    assert "HT-2026-000007" in page.text and "年度供货" in page.text
    assert "ends on" not in page.text  # translated, not the English msgid
    assert page.text.count('data-notification="') == 1
    assert _bell(page.text) == "1"

    opened = submit(client, "/notifications", f"/notifications/{note.id}/read", {})
    assert opened.status_code == 303 and opened.headers["location"] == "/sales/contracts/7"
    assert _bell(client.get("/notifications").text) == "0"

    service.notify(session, user_id=me.user.id, kind="x", message=MESSAGE, values=VALUES)
    session.flush()
    assert _bell(client.get("/").text) == "1"
    done = submit(client, "/notifications", "/notifications/read-all", {})
    assert done.status_code == 303
    assert _bell(client.get("/notifications").text) == "0"


def test_the_page_needs_a_signed_in_user(client: TestClient):
    reply = client.get("/notifications", follow_redirects=False)
    assert reply.status_code in (303, 401)
