"""Sending an e-mail to a customer: it reaches a real SMTP server on loopback with the
template's fields filled in and is logged with its Message-ID; a customer who withdrew consent,
a template with unknown fields or unsafe code, an address that is not the customer's and a
mail system that is off are refused with clear messages, and then nothing is sent or logged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from guanxi import mail, settings_store
from guanxi.config import Settings
from guanxi.errors import Conflict, InvalidInput, ServiceUnavailable
from guanxi.interactions.mail import admin_settings as mail_settings
from guanxi.interactions.mail import service as mail_service
from guanxi.interactions.mail import templates as mail_templates
from guanxi.interactions.mail.schemas import MailSettingsIn, MailTemplateIn
from tests.conftest import People
from tests.interactions.support_mail import (
    contact,
    customer,
    email_interactions,
    set_consent,
    smtp_settings,
)
from tests.mail_server import Inbox, smtp_server


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


def test_an_email_reaches_the_smtp_server_with_the_template_fields_and_is_logged(
    session: Session, people: People, settings: Settings, inbox: Inbox
) -> None:
    sales = people.user("sales")
    sales.user.display_name = "李销售"
    buyer = customer(
        session,
        sales.user,
        "王小明",
        emails=["Xiaoming@Example.com", "wang@home.example"],
        city="杭州",
    )
    set_consent(session, buyer.id, granted=True)
    template = mail_templates.create_template(
        session,
        template_in=MailTemplateIn(
            name="Welcome",
            subject="{{ customer.name }}, welcome",
            body="Dear {{ contact.name }} in {{ customer.city }},\nregards, {{ user.label }}",
        ),
    )

    interaction = mail_service.send_to_customer(
        session,
        actor=sales.user,
        settings=smtp_settings(settings, inbox),
        customer_id=buyer.id,
        template_id=template.id,
    )

    assert len(inbox.received) == 1
    recipients, message = inbox.received[0]
    assert recipients == ["xiaoming@example.com"]  # the primary address
    assert str(message["Subject"]) == "王小明, welcome"
    assert message.get_content().splitlines() == ["Dear 王小明 in 杭州,", "regards, 李销售"]
    assert interaction.message_id == str(message["Message-ID"])
    logged = email_interactions(session, buyer.id)
    assert [(i.direction, i.source, i.email_address, i.user_id) for i in logged] == [
        ("outbound", "email_out", "xiaoming@example.com", sales.user.id)
    ]
    assert logged[0].subject == "王小明, welcome"
    assert "regards, 李销售" in logged[0].notes


def test_an_email_to_a_customer_who_withdrew_consent_is_refused_with_a_clear_message(
    session: Session, people: People, settings: Settings, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "赵丽", emails=["zhao@example.com"])
    set_consent(session, buyer.id, granted=True)
    set_consent(session, buyer.id, granted=False)

    with pytest.raises(Conflict) as refused:
        mail_service.send_to_customer(
            session,
            actor=sales.user,
            settings=smtp_settings(settings, inbox),
            customer_id=buyer.id,
            subject="Spring offer",
            body="Hello",
        )

    assert refused.value.detail == "赵丽 has withdrawn consent to e-mail; nothing was sent."
    assert inbox.received == []
    assert email_interactions(session, buyer.id) == []


def test_the_newest_consent_entry_decides_and_a_customer_never_asked_may_be_written_to(
    session: Session, people: People, settings: Settings, inbox: Inbox
) -> None:
    sales = people.user("sales")
    never_asked = customer(session, sales.user, "钱多", emails=["qian@example.com"])
    regranted = customer(session, sales.user, "孙悟", emails=["sun@example.com"])
    set_consent(session, regranted.id, granted=False)
    set_consent(session, regranted.id, granted=True)

    for target in (never_asked, regranted):
        mail_service.send_to_customer(
            session,
            actor=sales.user,
            settings=smtp_settings(settings, inbox),
            customer_id=target.id,
            subject="Your order",
            body="It has shipped.",
        )

    assert [r for r, _ in inbox.received] == [["qian@example.com"], ["sun@example.com"]]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("Hi {{ customer.nickname }}", "The body uses customer.nickname, which is not one of"),
        ("Hi {{ nobody }}", "The body uses nobody, which is not one of the template fields."),
        ("{{ ''.__class__.__mro__ }}", "The body uses code that templates may not run"),
        ("{{ customer.name.__class__ }}", "The body uses code that templates may not run"),
        ("{{ 'x' * 1000000000 }}", "The body uses code that templates may not run"),
        ("{% for x in %}", "The body is not a valid template (line 1)"),
        ("{{ 'x'.ljust(999999999) }}", "The body uses code that templates may not run: line 1"),
        ("{% for c in customer.name %}{{ c }}{% endfor %}", "The body uses code that templates"),
        ("{% set x = 'a' %}", "The body uses code that templates may not run"),
        ("{{ 10 ** 10 ** 10 }}", "The body uses code that templates may not run"),
        ("Hi\n{{ customer.name|replace('a', 'aa') }}", "The body is not a valid template (line 2)"),
        ("{{ range(10) }}", "The body uses code that templates may not run"),
    ],
)
def test_a_template_with_an_unknown_field_or_unsafe_code_is_refused_naming_it(
    session: Session, body: str, detail: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        mail_templates.create_template(
            session, template_in=MailTemplateIn(name="Bad", subject="Hello", body=body)
        )
    assert refused.value.detail.startswith(detail)
    assert [e.field for e in refused.value.errors] == ["body"]


def test_fields_conditions_and_the_safe_filters_render(session: Session, people: People) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "wang xiaoming", emails=["w@example.com"], city="")
    template = mail_templates.create_template(
        session,
        template_in=MailTemplateIn(
            name="Filters",
            subject="Hi {{ customer.name|title }}",
            body=(
                "{% if customer.city %}in {{ customer.city }}{% else %}no city{% endif %}, "
                "{{ customer.occupation|default('friend', true)|upper }}, "
                "{{ (customer.name ~ '!')|truncate(9, true, '…', 0) }}"
            ),
        ),
    )
    preview = mail_service.preview(
        session, actor=sales.user, template_id=template.id, customer_id=buyer.id, contact_id=None
    )
    assert (preview.subject, preview.body) == ("Hi Wang Xiaoming", "no city, FRIEND, wang xia…")


def test_custom_fields_render_and_one_the_customer_lacks_reads_as_empty(
    session: Session, people: People
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "周杰", emails=["zhou@example.com"])
    buyer.custom_fields = {"vip_level": "金卡"}
    template = mail_templates.create_template(
        session,
        template_in=MailTemplateIn(
            name="VIP",
            subject="Hi",
            body="{{ customer.custom_fields.vip_level }}|{{ customer.custom_fields.since }}|",
        ),
    )
    preview = mail_service.preview(
        session, actor=sales.user, template_id=template.id, customer_id=buyer.id, contact_id=None
    )
    assert preview.body == "金卡||"


def test_typed_text_is_refused_when_it_uses_unsafe_code_and_nothing_is_sent(
    session: Session, people: People, settings: Settings, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "周杰", emails=["zhou@example.com"])
    with pytest.raises(InvalidInput) as refused:
        mail_service.send_to_customer(
            session,
            actor=sales.user,
            settings=smtp_settings(settings, inbox),
            customer_id=buyer.id,
            subject="{{ ''.__class__ }}",
            body="Hi",
        )
    assert [e.field for e in refused.value.errors] == ["subject"]
    assert inbox.received == []
    assert email_interactions(session, buyer.id) == []


def test_the_address_must_be_the_customers_or_a_contacts(
    session: Session, people: People, settings: Settings, inbox: Inbox
) -> None:
    sales = people.user("sales")
    firm = customer(
        session, sales.user, "青山茶业", kind="organisation", emails=["info@qingshan.example"]
    )
    buyer_id = contact(session, sales.user, firm, "陈采购", "Chen@QingShan.example")
    sending = smtp_settings(settings, inbox)

    with pytest.raises(InvalidInput) as refused:
        mail_service.send_to_customer(
            session,
            actor=sales.user,
            settings=sending,
            customer_id=firm.id,
            to="someone@elsewhere.example",
            subject="Quote",
            body="Attached",
        )
    assert [e.field for e in refused.value.errors] == ["to"]

    sent = mail_service.send_to_customer(
        session,
        actor=sales.user,
        settings=sending,
        customer_id=firm.id,
        to="CHEN@qingshan.example",
        subject="Quote for {{ contact.name }}",
        body="Dear {{ contact.name }} ({{ customer.name }})",
    )
    assert sent.contact_id == buyer_id
    assert sent.email_address == "chen@qingshan.example"
    _, message = inbox.received[0]
    assert str(message["Subject"]) == "Quote for 陈采购"
    assert "陈采购 <chen@qingshan.example>" in str(message["To"])


def test_a_customer_without_any_address_gets_a_clear_refusal(
    session: Session, people: People, settings: Settings, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "吴无邮")
    with pytest.raises(InvalidInput) as refused:
        mail_service.send_to_customer(
            session,
            actor=sales.user,
            settings=smtp_settings(settings, inbox),
            customer_id=buyer.id,
            subject="Hi",
            body="Hi",
        )
    assert refused.value.detail == "吴无邮 has no e-mail address; nothing was sent."


def test_with_email_off_nothing_is_sent_and_the_user_is_told(
    session: Session, people: People, settings: Settings
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "郑关", emails=["zheng@example.com"])
    assert not settings.smtp_host
    with pytest.raises(ServiceUnavailable) as refused:
        mail_service.send_to_customer(
            session,
            actor=sales.user,
            settings=settings,
            customer_id=buyer.id,
            subject="Hi",
            body="Hi",
        )
    assert "E-mail is not set up" in refused.value.detail
    assert email_interactions(session, buyer.id) == []


def test_the_admins_smtp_server_replaces_the_process_one_and_passwords_are_encrypted(
    session: Session, people: People, settings: Settings, inbox: Inbox
) -> None:
    sales = people.user("sales")
    buyer = customer(session, sales.user, "冯达", emails=["feng@example.com"])
    assert mail.effective_settings(session, settings) == settings  # nothing stored yet

    mail_settings.save(
        session,
        settings=settings,
        changes=MailSettingsIn(
            smtp_host=inbox.host,
            smtp_port=inbox.port,
            smtp_starttls=False,
            mail_from="Guanxi CRM <crm@shop.example>",
            imap_host="imap.shop.example",
            imap_username="crm",
            imap_password="imap-secret-123",
        ),
    )
    sent = mail_service.send_to_customer(
        session,
        actor=sales.user,
        settings=settings,  # no smtp_host of its own: the admin's server is used
        customer_id=buyer.id,
        subject="Hi",
        body="Hi",
    )
    _, message = inbox.received[0]
    assert str(message["From"]) == "Guanxi CRM <crm@shop.example>"
    assert sent.message_id is not None and sent.message_id.endswith("@shop.example>")

    stored = settings_store.get(session, mail_settings.SETTINGS_KEY)
    assert stored is not None
    assert "imap-secret-123" not in str(stored)
    assert stored["imap_password_encrypted"].startswith("v1:")
    imap = mail_settings.imap(session)
    assert imap is not None and imap.password == "imap-secret-123"
    read = mail_settings.read(session, settings)
    assert read.imap_password_set and read.smtp_in_use == "admin"


def test_mail_settings_refuse_passwords_in_clear_text_and_a_sender_that_is_no_address(
    session: Session, settings: Settings
) -> None:
    with pytest.raises(InvalidInput) as refused:
        mail_settings.save(
            session,
            settings=settings,
            changes=MailSettingsIn(
                smtp_host="smtp.example.com",
                smtp_username="crm",
                smtp_password="secret",
                smtp_starttls=False,
                mail_from="not an address",
                imap_host="imap.example.com",
                imap_security="none",
            ),
        )
    fields = {e.field for e in refused.value.errors}
    assert fields == {
        "smtp_starttls",
        "mail_from",
        "imap_username",
        "imap_password",
        "imap_security",
    }
    assert settings_store.get(session, mail_settings.SETTINGS_KEY) is None
