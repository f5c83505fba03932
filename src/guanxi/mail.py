"""Outgoing e-mail over SMTP: build a message with proper headers, and send it.

Every domain that writes to people (contract warnings, follow-up reminders, e-mail to
customers; marketing later) builds its message with ``build`` and hands it to ``send``. The
server comes from the settings ``smtp_*`` and ``mail_from``, as ``effective_settings`` gives
them: the administrator's SMTP server (kept in ``app_settings`` under ``mail``, see
``interactions.mail.admin_settings``) replaces ``GUANXI_SMTP_*`` when one is set. An empty
``smtp_host`` turns e-mail off, so a fresh install sends nothing and says so in the log instead
of failing.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from sqlalchemy.orm import Session

from guanxi import crypto, settings_store
from guanxi.config import Settings
from guanxi.db import utcnow

log = logging.getLogger("guanxi.mail")
TIMEOUT_SECONDS = 30


# the app_settings key of the administrator's mail settings (SMTP out, IMAP in)
SETTINGS_KEY = "mail"


class MailError(Exception):
    """The SMTP server refused the message or could not be reached; worth retrying later."""


def effective_settings(session: Session, settings: Settings) -> Settings:
    """The process settings with the admin's SMTP server (and sender) in place, when set.

    The admin's server replaces ``GUANXI_SMTP_*`` as a whole: a host from one place and a
    password from the other would be nobody's intent. ``mail_from`` overrides on its own."""
    stored = settings_store.get(session, SETTINGS_KEY) or {}
    update: dict[str, Any] = {}
    if stored.get("smtp_host"):
        password = stored.get("smtp_password_encrypted", "")
        update |= {
            "smtp_host": stored["smtp_host"],
            "smtp_port": stored.get("smtp_port", 587),
            "smtp_username": stored.get("smtp_username", ""),
            "smtp_password": crypto.cipher().decrypt(password) if password else "",
            "smtp_starttls": bool(stored.get("smtp_starttls", False)),
            "smtp_ssl": bool(stored.get("smtp_ssl", False)),
        }
    if stored.get("mail_from"):
        update["mail_from"] = stored["mail_from"]
    return settings.model_copy(update=update) if update else settings


def enabled(settings: Settings) -> bool:
    """Whether e-mail is configured at all."""
    return bool(settings.smtp_host)


def build(
    settings: Settings,
    *,
    to: str | list[str],
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A message from ``mail_from`` with a plain-text body (and an HTML alternative if given).

    ``Message-ID`` and ``Date`` are set here, so a receiver can tell one message from its resend;
    ``headers`` adds others (``List-Unsubscribe`` and ``List-Unsubscribe-Post`` for RFC 8058
    one-click unsubscribe, for instance).
    """
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(to) if isinstance(to, list) else to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(settings: Settings, message: EmailMessage) -> bool:
    """Send ``message``; True when the server accepted it, False when e-mail is off.

    Raises ``MailError`` when the server cannot be reached or refuses every recipient, so a job
    can retry. ``smtp_ssl`` speaks TLS from the first byte (port 465); ``smtp_starttls`` upgrades
    a plain connection (port 587); credentials are sent only over one of those or to loopback.
    """
    if not enabled(settings):
        log.info("e-mail is off (no smtp_host); not sending %r", message["Subject"])
        return False
    if settings.smtp_username and not (
        settings.smtp_ssl or settings.smtp_starttls or _loopback(settings)
    ):
        # a password in clear text over the network is refused, not sent
        raise MailError(
            "refusing to send SMTP credentials without TLS: set GUANXI_SMTP_STARTTLS or "
            "GUANXI_SMTP_SSL"
        )
    try:
        with _connect(settings) as smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"sending {message['Message-ID']} failed: {exc}") from exc
    log.info("sent %s to %s", message["Message-ID"], message["To"])
    return True


def _loopback(settings: Settings) -> bool:
    try:
        return ipaddress.ip_address(settings.smtp_host).is_loopback
    except ValueError:
        return settings.smtp_host == "localhost"


def _connect(settings: Settings) -> smtplib.SMTP:
    if settings.smtp_ssl:
        return smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS)
