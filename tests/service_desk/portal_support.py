"""What the portal tests share: an app whose jobs run at once inside the test's transaction and
mail through a real SMTP server on loopback, customers made through the customer service, and
signing in the way a customer does (a link, its confirmation form, the session cookie)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database, utcnow
from guanxi.service_desk.models import PortalLoginLink
from guanxi.service_desk.portal import auth
from tests.conftest import TEST_SECRET
from tests.customers.import_helpers import app_running_jobs_inline
from tests.mail_server import Inbox, smtp_server

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"http://portal\.test/portal/login/([A-Za-z0-9_\-]+)")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def portal_app_settings(tmp_path: Path, database: Database, inbox: Inbox) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
        public_url="http://portal.test",
        smtp_host=inbox.host,
        smtp_port=inbox.port,
        mail_from="service@guanxi.test",
    )


@pytest.fixture
def portal_client(
    portal_app_settings: Settings,
    database: Database,
    sessions: sessionmaker[Session],
    session: Session,
) -> Iterator[TestClient]:
    app = app_running_jobs_inline(portal_app_settings, database, sessions)
    session.flush()
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def make_customer(
    session: Session, owner: User, name: str, *, emails: list[str], **fields: object
) -> Customer:
    made = customer_service.create(
        session=session,
        actor=owner,
        customer_in=CustomerCreate.model_validate({"name": name, "emails": emails, **fields}),
    )
    session.flush()
    return made


def csrf_of(html: str) -> str:
    found = _CSRF.findall(html)
    assert found, "no form with a CSRF token on the page"
    return str(found[-1])


def issue_link(session: Session, customer: Customer, *, minutes: int = 30) -> str:
    """A sign-in link as ``request_link`` makes it, without the mail (for tests about pages)."""
    token = secrets.token_urlsafe(32)
    session.add(
        PortalLoginLink(
            token_hash=auth.digest(token),
            customer_id=customer.id,
            email_address=customer.emails[0].address,
            expires_at=utcnow() + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return token


def open_link(client: TestClient, token: str) -> int:
    """Open a sign-in link and press its button; the status of the press (303 when signed in)."""
    page = client.get(f"/portal/login/{token}")
    if page.status_code != 200:
        return page.status_code
    pressed = client.post(
        f"/portal/login/{token}", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    return pressed.status_code


def sign_in(client: TestClient, session: Session, customer: Customer) -> str:
    """Sign ``customer`` in on ``client``; returns the portal CSRF token of the session."""
    assert open_link(client, issue_link(session, customer)) == 303
    return csrf_of(client.get("/portal").text)
