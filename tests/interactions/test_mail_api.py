"""The e-mail API: sending to a customer (refused with a clear message when consent is
withdrawn, e-mail is off or the server fails, and then nothing is logged), mailbox uploads,
templates and the admin's mail settings, with roles and record visibility on every route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi import settings_store
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.interactions.mail import admin_settings as mail_settings
from tests.conftest import TEST_SECRET, People
from tests.interactions.support_mail import (
    DATA,
    contact,
    customer,
    email_interactions,
    set_consent,
)
from tests.mail_server import Inbox, smtp_server

EMAILS = "/api/v1/interactions/emails"
TEMPLATES = "/api/v1/interactions/mail-templates"
SETTINGS = "/api/v1/interactions/mail-settings"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database: Database, inbox: Inbox) -> Settings:
    """The app's settings, sending through the loopback SMTP server."""
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        default_locale="en",
        smtp_host=inbox.host,
        smtp_port=inbox.port,
        mail_from="crm@guanxi.test",
    )


def test_an_email_to_a_customer_who_withdrew_consent_is_refused_with_a_clear_message(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "赵丽", emails=["zhao@example.com"])
    set_consent(session, buyer.id, granted=False)
    headers = people.token(sales)

    reply = client.post(
        EMAILS,
        json={"customer_id": buyer.id, "subject": "Spring offer", "body": "Hello"},
        headers=headers,
    )

    assert reply.status_code == 409
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["detail"] == "赵丽 has withdrawn consent to e-mail; nothing was sent."
    assert inbox.received == []
    session.expire_all()
    assert email_interactions(session, buyer.id) == []


def test_an_email_is_sent_through_smtp_and_logged_with_its_message_id(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "王小明", emails=["xiaoming@example.com"])
    set_consent(session, buyer.id, granted=True)
    headers = people.token(sales)
    template = client.post(
        TEMPLATES,
        json={
            "name": "Order shipped",
            "subject": "{{ customer.name }}: shipped",
            "body": "Hi {{ contact.name }}",
        },
        headers=headers,
    )
    assert template.status_code == 201, template.text

    reply = client.post(
        EMAILS,
        json={"customer_id": buyer.id, "template_id": template.json()["id"]},
        headers=headers,
    )

    assert reply.status_code == 201, reply.text
    sent = reply.json()
    [(recipients, message)] = inbox.received
    assert recipients == ["xiaoming@example.com"]
    assert str(message["Subject"]) == "王小明: shipped"
    assert message.get_content().strip() == "Hi 王小明"
    assert sent["message_id"] == str(message["Message-ID"])
    assert sent["to"] == "xiaoming@example.com"
    assert sent["subject"] == "王小明: shipped"
    session.expire_all()
    [logged] = email_interactions(session, buyer.id)
    assert logged.id == sent["interaction_id"]
    assert logged.message_id == sent["message_id"]
    detail = client.get(f"/api/v1/interactions/{logged.id}", headers=headers)
    assert detail.status_code == 200 and detail.json()["channel"] == "email"


def test_when_the_smtp_server_fails_the_user_gets_a_problem_and_nothing_is_logged(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "钱多", emails=["qian@example.com"])
    inbox.refuse = True

    reply = client.post(
        EMAILS,
        json={"customer_id": buyer.id, "subject": "Hi", "body": "Hi"},
        headers=people.token(sales),
    )

    assert reply.status_code == 502
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert "nothing was sent or logged" in reply.json()["detail"]
    session.expire_all()
    assert email_interactions(session, buyer.id) == []


def test_sending_needs_the_permission_and_sight_of_the_customer(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    owner = people.user("sales")
    stranger = people.user("sales")
    analyst = people.user("analyst")  # reads everything, creates no interactions
    buyer = customer(session, owner.user, "孙悟", emails=["sun@example.com"])
    body = {"customer_id": buyer.id, "subject": "Hi", "body": "Hi"}

    assert client.post(EMAILS, json=body, headers=people.token(stranger)).status_code == 404
    assert client.post(EMAILS, json=body, headers=people.token(analyst)).status_code == 403
    preview_of = f"{TEMPLATES}/1/preview?customer_id={buyer.id}"
    assert client.post(preview_of, headers=people.token(analyst)).status_code == 403
    assert inbox.received == []


def test_a_bad_address_or_template_is_a_422_naming_the_field(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "周杰", emails=["zhou@example.com"])
    headers = people.token(sales)

    wrong_to = client.post(
        EMAILS,
        json={"customer_id": buyer.id, "to": "x@elsewhere.example", "subject": "a", "body": "b"},
        headers=headers,
    )
    unsafe = client.post(
        EMAILS,
        json={"customer_id": buyer.id, "subject": "a", "body": "{{ ''.__class__ }}"},
        headers=headers,
    )
    unknown = client.post(
        TEMPLATES,
        json={"name": "Bad", "subject": "Hi {{ customer.nickname }}", "body": "x"},
        headers=headers,
    )

    assert wrong_to.status_code == 422
    assert wrong_to.json()["errors"] == [
        {"field": "to", "message": "Not one of this customer's e-mail addresses."}
    ]
    assert unsafe.status_code == 422
    assert unsafe.json()["detail"].startswith("The body uses code that templates may not run")
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == (
        "The subject uses customer.nickname, which is not one of the template fields."
    )
    assert inbox.received == []


def test_templates_are_listed_changed_previewed_and_deleted(
    client: TestClient, people: People, session: Session
) -> None:
    manager = people.user("manager")
    other = people.user("sales")
    firm = customer(
        session, manager.user, "青山茶业", kind="organisation", emails=["info@qs.example"]
    )
    chen = contact(session, manager.user, firm, "陈采购", "chen@qs.example")
    headers = people.token(manager)

    made = client.post(
        TEMPLATES,
        json={
            "name": "Quote",
            "subject": "Quote for {{ customer.name }}",
            "body": "Dear {{ contact.name }}",
        },
        headers=headers,
    )
    assert made.status_code == 201
    template_id = made.json()["id"]
    taken = client.post(
        TEMPLATES, json={"name": "Quote", "subject": "x", "body": "y"}, headers=headers
    )
    assert taken.status_code == 422 and taken.json()["errors"][0]["field"] == "name"

    preview = client.post(
        f"{TEMPLATES}/{template_id}/preview",
        params={"customer_id": firm.id, "contact_id": chen},
        headers=headers,
    )
    assert preview.status_code == 200
    assert preview.json() == {
        "subject": "Quote for 青山茶业",
        "body": "Dear 陈采购",
        "to": "info@qs.example",
    }
    hidden = client.post(
        f"{TEMPLATES}/{template_id}/preview",
        params={"customer_id": firm.id},
        headers=people.token(other),
    )
    assert hidden.status_code == 404

    stale = client.patch(
        f"{TEMPLATES}/{template_id}",
        json={"is_active": False},
        headers={**headers, "If-Match": 'W/"99"'},
    )
    assert stale.status_code == 412
    changed = client.patch(
        f"{TEMPLATES}/{template_id}",
        json={"is_active": False},
        headers={**headers, "If-Match": made.headers["ETag"]},
    )
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert client.get(f"{TEMPLATES}?active=true", headers=headers).json() == []
    assert [t["name"] for t in client.get(TEMPLATES, headers=headers).json()] == ["Quote"]

    assert client.delete(f"{TEMPLATES}/{template_id}", headers=headers).status_code == 204
    assert client.get(f"{TEMPLATES}/{template_id}", headers=headers).status_code == 404


def test_mail_settings_need_settings_manage_and_never_return_passwords(
    client: TestClient, people: People, session: Session
) -> None:
    admin = people.user("admin")
    manager = people.user("manager")
    headers = people.token(admin)
    body = {
        "smtp_host": "smtp.example.com",
        "smtp_port": 587,
        "smtp_username": "crm",
        "smtp_password": "smtp-secret-456",
        "smtp_starttls": True,
        "mail_from": "crm@example.com",
    }

    assert client.get(SETTINGS, headers=people.token(manager)).status_code == 403
    assert client.put(SETTINGS, json=body, headers=people.token(manager)).status_code == 403
    saved = client.put(SETTINGS, json=body, headers=headers)

    assert saved.status_code == 200, saved.text
    assert "smtp-secret-456" not in saved.text
    assert saved.json()["smtp_password_set"] is True
    assert saved.json()["smtp_in_use"] == "admin"
    session.expire_all()
    stored = settings_store.get(session, mail_settings.SETTINGS_KEY)
    assert stored is not None
    assert stored["smtp_password_encrypted"] != "smtp-secret-456"
    assert "smtp-secret-456" not in str(stored)
    # a later save without the password keeps it; the plain text never comes back
    kept = client.put(SETTINGS, json={**body, "smtp_password": None}, headers=headers)
    assert kept.json()["smtp_password_set"] is True
    read = client.get(SETTINGS, headers=headers)
    assert "smtp-secret-456" not in read.text and 'smtp_password"' not in read.text
    refused = client.put(SETTINGS, json={**body, "smtp_starttls": False}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "smtp_starttls"


def test_an_uploaded_mailbox_is_matched_and_a_bad_file_is_a_422_naming_the_problem(
    client: TestClient, people: People, session: Session
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "王小明", emails=["xiaoming@example.com"])
    headers = people.token(sales)
    url = f"{EMAILS}/import"

    def upload(name: str, data: bytes | None = None):  # type: ignore[no-untyped-def]
        content = (DATA / name).read_bytes() if data is None else data
        return client.post(url, files={"file": (name, content)}, headers=headers)

    first = upload("mailbox.mbox")
    again = upload("mailbox.mbox")
    bad = upload("not_mail.eml")
    empty = upload("empty.mbox", b"")

    assert first.status_code == 200, first.text
    assert first.json() == {"read": 5, "matched": 3, "logged": 3, "duplicates": 0, "unmatched": 2}
    assert again.json() == {"read": 5, "matched": 3, "logged": 0, "duplicates": 3, "unmatched": 2}
    assert bad.status_code == 422
    assert bad.json()["detail"] == "The file holds no e-mail: a message has no From header."
    assert bad.json()["errors"] == [{"field": "file", "message": bad.json()["detail"]}]
    assert empty.status_code == 422 and empty.json()["detail"] == "The file is empty."
    session.expire_all()
    assert len(email_interactions(session, buyer.id)) == 3
    analyst = people.token(people.user("analyst"))
    files = {"file": ("inbound.eml", (DATA / "inbound.eml").read_bytes())}
    assert client.post(url, files=files, headers=analyst).status_code == 403
