"""The e-mail pages: composing to a customer (the refusal for withdrawn consent shown before
anything is typed, and again if a stale page is posted), templates filled in server-side, the
mail settings form, the template forms and the mailbox upload, each with its roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi import mail, settings_store
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.interactions.mail import admin_settings as mail_settings
from guanxi.interactions.mail import templates as mail_templates
from guanxi.interactions.mail.schemas import MailTemplateIn
from tests.conftest import TEST_SECRET, People
from tests.interactions.support_mail import DATA, customer, email_interactions, set_consent
from tests.mail_server import Inbox, smtp_server
from tests.web.forms import csrf_from, sign_in, submit


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database: Database, inbox: Inbox) -> Settings:
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


def _field(html: str, name: str) -> str:
    """The value of an input or the text of a textarea named ``name``."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html) or re.search(
        rf'name="{name}"[^>]*>([^<]*)</textarea>', html
    )
    assert found, f"no field {name}"
    return found.group(1)


def test_an_email_to_a_customer_who_withdrew_consent_is_refused_on_the_page_too(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "赵丽", emails=["zhao@example.com"])
    set_consent(session, buyer.id, granted=False)
    session.flush()
    sign_in(client, sales.username, sales.password)
    page_url = f"/interactions/email/new?customer_id={buyer.id}"

    page = client.get(page_url)
    assert page.status_code == 200
    assert 'data-refusal="consent"' in page.text
    assert "赵丽 has withdrawn consent to e-mail; nothing can be sent." in page.text
    assert "Send e-mail" not in page.text  # refused before anything is typed

    # a page loaded before the withdrawal, posted now
    posted = client.post(
        "/interactions/email/new",
        data={
            "csrf_token": csrf_from(page.text),
            "customer_id": buyer.id,
            "to": "zhao@example.com",
            "subject": "Spring offer",
            "body": "Hello",
        },
        follow_redirects=False,
    )
    assert posted.status_code == 409
    assert "赵丽 has withdrawn consent to e-mail; nothing was sent." in posted.text
    assert inbox.received == []
    session.expire_all()
    assert email_interactions(session, buyer.id) == []


def test_a_template_fills_the_form_and_sending_logs_the_email(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(
        session,
        sales.user,
        "王小明",
        emails=["xiaoming@example.com", "wang@home.example"],
        city="杭州",
    )
    template = mail_templates.create_template(
        session,
        template_in=MailTemplateIn(
            name="Visit", subject="Visit to {{ customer.city }}", body="Dear {{ contact.name }},"
        ),
    )
    session.flush()
    sign_in(client, sales.username, sales.password)

    filled = client.get(
        "/interactions/email/new", params={"customer_id": buyer.id, "template_id": template.id}
    )
    assert filled.status_code == 200
    assert _field(filled.text, "subject") == "Visit to 杭州"
    assert _field(filled.text, "body") == "Dear 王小明,"
    assert "{{ customer.name }}" in filled.text  # the fields are listed

    sent = client.post(
        "/interactions/email/new",
        data={
            "csrf_token": csrf_from(filled.text),
            "customer_id": buyer.id,
            "to": "wang@home.example",
            "subject": _field(filled.text, "subject"),
            "body": "Dear 王小明,\nsee you on Monday.",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/customers/{buyer.id}#interactions"
    [(recipients, message)] = inbox.received
    assert recipients == ["wang@home.example"]
    assert str(message["Subject"]) == "Visit to 杭州"
    session.expire_all()
    [logged] = email_interactions(session, buyer.id)
    assert logged.message_id == str(message["Message-ID"])
    assert logged.email_address == "wang@home.example"


def test_a_missing_subject_is_shown_inline_and_nothing_is_sent(
    client: TestClient, people: People, session: Session, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "钱多", emails=["qian@example.com"])
    session.flush()
    sign_in(client, sales.username, sales.password)
    page_url = f"/interactions/email/new?customer_id={buyer.id}"

    reply = submit(
        client,
        page_url,
        "/interactions/email/new",
        {"customer_id": buyer.id, "to": "qian@example.com", "subject": "", "body": "Hi"},
    )

    assert reply.status_code == 422
    assert 'id="e-subject"' in reply.text
    assert _field(reply.text, "body") == "Hi"  # what was typed is kept
    assert inbox.received == []


def test_compose_respects_roles_and_visibility(
    client: TestClient, people: People, session: Session
) -> None:
    owner = people.user("sales")
    stranger = people.user("sales")
    analyst = people.user("analyst")
    buyer = customer(session, owner.user, "孙悟", emails=["sun@example.com"])
    session.flush()

    sign_in(client, stranger.username, stranger.password)
    assert client.get(f"/interactions/email/new?customer_id={buyer.id}").status_code == 404
    client.cookies.clear()
    sign_in(client, analyst.username, analyst.password)
    assert client.get(f"/interactions/email/new?customer_id={buyer.id}").status_code == 403


def test_the_admin_saves_mail_settings_and_the_password_is_stored_encrypted(
    client: TestClient, people: People, session: Session
) -> None:
    admin = people.user("admin")
    manager = people.user("manager")
    session.flush()
    sign_in(client, manager.username, manager.password)
    assert client.get("/admin/mail").status_code == 403
    client.cookies.clear()
    sign_in(client, admin.username, admin.password)

    refused = submit(
        client,
        "/admin/mail",
        "/admin/mail/settings",
        {
            "smtp_host": "smtp.example.com",
            "smtp_port": "25",
            "smtp_username": "crm",
            "smtp_password": "pw-789",
            "mail_from": "crm@example.com",
        },
    )
    assert refused.status_code == 422
    assert "A password is sent only encrypted: turn on STARTTLS or SSL." in refused.text
    assert "pw-789" not in refused.text
    saved = submit(
        client,
        "/admin/mail",
        "/admin/mail/settings",
        {
            "smtp_host": "smtp.example.com",
            "smtp_port": "587",
            "smtp_username": "crm",
            "smtp_password": "pw-789",
            "smtp_starttls": "on",
            "mail_from": "crm@example.com",
            "imap_folder": "INBOX",
            "imap_security": "ssl",
        },
    )
    assert saved.status_code == 303

    page = client.get("/admin/mail")
    assert "A password is stored; leave empty to keep it." in page.text
    assert "pw-789" not in page.text
    session.expire_all()
    stored = settings_store.get(session, mail_settings.SETTINGS_KEY)
    assert stored is not None and "pw-789" not in str(stored)
    assert stored["smtp_host"] == "smtp.example.com" and stored["smtp_starttls"] is True
    assert mail.effective_settings(session, Settings()).smtp_password == "pw-789"


def test_templates_are_made_and_changed_through_their_forms(
    client: TestClient, people: People, session: Session
) -> None:
    manager = people.user("manager")
    session.flush()
    sign_in(client, manager.username, manager.password)

    unsafe = submit(
        client,
        "/admin/mail/templates/new",
        "/admin/mail/templates/new",
        {"name": "Bad", "subject": "Hi", "body": "{{ customer.nickname }}", "is_active": "on"},
    )
    assert unsafe.status_code == 422
    assert (
        "The body uses customer.nickname, which is not one of the template fields." in unsafe.text
    )
    assert 'id="e-body"' in unsafe.text

    made = submit(
        client,
        "/admin/mail/templates/new",
        "/admin/mail/templates/new",
        {
            "name": "Thanks",
            "subject": "Thank you, {{ customer.name }}",
            "body": "Dear {{ contact.name }}",
            "is_active": "on",
        },
    )
    assert made.status_code == 303
    [template] = mail_templates.list_templates(session)
    listing = client.get("/admin/mail/templates")
    assert "Thank you, {{ customer.name }}" in listing.text

    edit_url = f"/admin/mail/templates/{template.id}"
    changed = submit(
        client,
        edit_url,
        edit_url,
        {
            "name": "Thanks",
            "subject": "Many thanks",
            "body": "Dear {{ contact.name }}",
            "version": str(template.version),
        },
    )
    assert changed.status_code == 303
    session.expire_all()
    [template] = mail_templates.list_templates(session)
    assert (template.subject, template.is_active) == ("Many thanks", False)


def test_an_uploaded_mailbox_shows_its_counts_and_a_bad_file_its_problem(
    client: TestClient, people: People, session: Session
) -> None:
    admin = people.user("admin")
    customer(session, admin.user, "王小明", emails=["xiaoming@example.com"])
    session.flush()
    sign_in(client, admin.username, admin.password)
    token = csrf_from(client.get("/admin/mail").text)

    def upload(name: str, content: bytes):  # type: ignore[no-untyped-def]
        return client.post(
            "/admin/mail/import",
            data={"csrf_token": token},
            files={"file": (name, content)},
        )

    done = upload("mailbox.mbox", (DATA / "mailbox.mbox").read_bytes())
    again = upload("mailbox.mbox", (DATA / "mailbox.mbox").read_bytes())
    bad = upload("notes.txt", b"hello")

    assert done.status_code == 200
    assert 'data-count="logged">3<' in done.text and 'data-count="unmatched">2<' in done.text
    assert 'data-count="logged">0<' in again.text and 'data-count="duplicates">3<' in again.text
    assert bad.status_code == 422
    assert "Upload an .eml file (one message) or an .mbox file (a mailbox)." in bad.text


def test_the_consent_refusal_is_shown_in_the_users_language(
    client: TestClient, people: People, session: Session
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "赵丽", emails=["zhao@example.com"])
    set_consent(session, buyer.id, granted=False)
    session.flush()
    sign_in(client, sales.username, sales.password)
    client.cookies.set("guanxi_locale", "zh_CN")

    page = client.get(f"/interactions/email/new?customer_id={buyer.id}")

    assert "赵丽 已撤回电子邮件同意，不能发送任何邮件。" in page.text
