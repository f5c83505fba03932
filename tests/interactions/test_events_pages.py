"""The web behaviour admin page: what the store holds, the ingest key shown once, the snippet,
retention and origins with inline errors, and only for those who manage settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.models import VisitorLink, WebEvent
from tests.conftest import People
from tests.interactions.support_events import customer, page_view
from tests.web.forms import csrf_from, sign_in, submit

PAGE = "/admin/web-events"


def _admin(client: TestClient, people: People) -> None:
    admin = people.user("admin")
    people.session.flush()
    assert sign_in(client, admin.username, admin.password).status_code == 303


def test_the_page_shows_what_is_stored(
    client: TestClient, session: Session, people: People
) -> None:
    owner = people.user("admin").user
    buyer = customer(session, owner)
    oldest = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    for n in range(3):
        session.add(
            WebEvent(
                kind="page_view",
                occurred_at=oldest.replace(day=4 + n),
                visitor_id="v",
                session_id="s",
                url="https://shop.example.cn/",
            )
        )
    session.add(VisitorLink(visitor_id="v", customer_id=buyer))
    session.flush()
    _admin(client, people)

    page = client.get(PAGE)

    assert page.status_code == 200
    assert re.search(r'data-count="events">3<', page.text)
    assert re.search(r'data-count="linked-visitors">1<', page.text)
    assert "2026-03-04 13:06" in page.text  # in Shanghai, the company's time zone
    assert "There is no ingest key yet" in page.text
    assert "/static/interactions/guanxi-events.js" in page.text
    assert "YOUR-INGEST-KEY" in page.text


def test_a_new_key_is_shown_once_and_works(
    client: TestClient, session: Session, people: People
) -> None:
    _admin(client, people)
    made = submit(client, PAGE, f"{PAGE}/key", {})
    assert made.status_code == 200
    key = re.search(r"<code data-new-key>(gxk_[^<]+)</code>", made.text)
    assert key, made.text
    # the snippet to paste carries the key this once
    assert f'data-key="{key.group(1)}"' in made.text.replace("&#34;", '"')
    reply = client.post(
        "/api/v1/events",
        json={"events": [page_view()]},
        headers={"X-Guanxi-Ingest-Key": key.group(1)},
    )
    assert reply.status_code == 202

    again = client.get(PAGE)
    assert key.group(1) not in again.text
    assert key.group(1)[:8] in again.text  # its first letters, to tell keys apart
    # a second key replaces the first
    submit(client, PAGE, f"{PAGE}/key", {})
    reply = client.post(
        "/api/v1/events",
        json={"events": [page_view()]},
        headers={"X-Guanxi-Ingest-Key": key.group(1)},
    )
    assert reply.status_code == 401


def test_retention_and_origins_are_saved(
    client: TestClient, session: Session, people: People
) -> None:
    _admin(client, people)
    reply = submit(
        client,
        PAGE,
        PAGE,
        {
            "retention_days": "90",
            "allowed_origins": "https://Shop.example.cn/\nhttp://localhost:3000",
        },
    )
    assert reply.status_code == 303
    session.expire_all()
    stored = events_settings.load(session)
    assert stored.retention_days == 90
    assert stored.allowed_origins == ("https://shop.example.cn", "http://localhost:3000")
    page = client.get(PAGE)
    assert "Changes saved." in page.text
    assert 'value="90"' in page.text and "http://localhost:3000" in page.text


@pytest.mark.parametrize(
    ("retention", "origins", "field"),
    [
        ("0", "", "retention_days"),
        ("9999", "", "retention_days"),
        ("a year", "", "retention_days"),
        ("30", "https://shop.example.cn/checkout", "allowed_origins"),
        ("30", "shop.example.cn", "allowed_origins"),
    ],
)
def test_wrong_settings_are_shown_inline_and_not_saved(
    client: TestClient,
    session: Session,
    people: People,
    retention: str,
    origins: str,
    field: str,
) -> None:
    _admin(client, people)
    reply = submit(client, PAGE, PAGE, {"retention_days": retention, "allowed_origins": origins})
    assert reply.status_code == 422
    assert f'id="e-{field}"' in reply.text
    assert f'value="{retention}"' in reply.text  # what was typed is kept
    session.expire_all()
    assert events_settings.load(session).retention_days == 365


@pytest.mark.parametrize("role", ["manager", "sales", "marketing", "service", "analyst"])
def test_only_those_who_manage_settings_see_the_page(
    client: TestClient, session: Session, people: People, role: str
) -> None:
    person = people.user(role)
    session.flush()
    sign_in(client, person.username, person.password)
    assert client.get(PAGE).status_code == 403
    token = csrf_from(client.get("/").text)
    reply = client.post(f"{PAGE}/key", data={"csrf_token": token}, follow_redirects=False)
    assert reply.status_code == 403
    assert not events_settings.load(session).has_key
