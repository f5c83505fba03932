"""Outgoing e-mail against a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guanxi import mail
from guanxi.config import Settings
from tests.mail_server import Inbox, smtp_server


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


def _settings(tmp_path: Path, inbox: Inbox | None) -> Settings:
    return Settings(
        data_dir=tmp_path,
        smtp_host=inbox.host if inbox else "",
        smtp_port=inbox.port if inbox else 25,
        mail_from="Guanxi CRM <crm@guanxi.example>",
    )


def test_a_message_arrives_with_its_headers_and_both_bodies(tmp_path: Path, inbox: Inbox):
    settings = _settings(tmp_path, inbox)
    message = mail.build(
        settings,
        to="wang.fang@example.com",
        subject="合同 HT-2026-000001 即将到期",
        text="合同将于 2026-12-01 到期。",
        html="<p>合同将于 <b>2026-12-01</b> 到期。</p>",
        headers={"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    assert mail.send(settings, message) is True

    [(recipients, received)] = inbox.received
    assert recipients == ["wang.fang@example.com"]
    assert received["Subject"] == "合同 HT-2026-000001 即将到期"
    assert received["From"] == "Guanxi CRM <crm@guanxi.example>"
    assert received["Message-ID"].endswith("@guanxi.example>")
    assert received["Date"]
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and "2026-12-01 到期" in text.get_content()
    assert html is not None and "<b>2026-12-01</b>" in html.get_content()


def test_each_message_gets_its_own_id(tmp_path: Path):
    settings = _settings(tmp_path, None)
    first = mail.build(settings, to="a@example.com", subject="x", text="x")
    second = mail.build(settings, to="a@example.com", subject="x", text="x")
    assert first["Message-ID"] != second["Message-ID"]


def test_without_a_server_configured_nothing_is_sent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    settings = _settings(tmp_path, None)
    message = mail.build(settings, to="a@example.com", subject="Hello", text="x")
    with caplog.at_level("INFO", logger="guanxi.mail"):
        assert mail.send(settings, message) is False
    assert "e-mail is off" in caplog.text


def test_a_refusing_or_missing_server_raises_mail_error(tmp_path: Path, inbox: Inbox):
    settings = _settings(tmp_path, inbox)
    message = mail.build(settings, to="a@example.com", subject="Hello", text="x")
    inbox.refuse = True
    with pytest.raises(mail.MailError):
        mail.send(settings, message)
    assert inbox.received == []
    gone = Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=1)
    with pytest.raises(mail.MailError):
        mail.send(gone, message)


def test_credentials_are_never_sent_in_clear_to_another_host(tmp_path: Path):
    settings = _settings(tmp_path, None).model_copy(
        update={"smtp_host": "mail.example.com", "smtp_username": "crm", "smtp_password": "pw"}
    )
    message = mail.build(settings, to="li.na@example.com", subject="s", text="t")
    with pytest.raises(mail.MailError, match="without TLS"):
        mail.send(settings, message)


def test_credentials_may_go_to_a_relay_on_loopback(tmp_path: Path, inbox: Inbox):
    settings = _settings(tmp_path, inbox).model_copy(update={"smtp_username": "crm"})
    assert not settings.smtp_starttls and mail._loopback(settings)
    # the loopback test server does not offer AUTH, so the refusal is the server's, not ours
    with pytest.raises(mail.MailError) as refused:
        mail.send(settings, mail.build(settings, to="a@example.com", subject="s", text="t"))
    assert "without TLS" not in str(refused.value)
