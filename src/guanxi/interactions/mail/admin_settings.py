"""The administrator's mail settings: the SMTP server Guanxi sends through and the IMAP mailbox
whose mail is matched to customers.

They live in ``app_settings`` under ``mail`` with both passwords encrypted (guanxi.crypto), so a
database dump does not give the mailbox away. Whoever sends asks
``guanxi.mail.effective_settings``, the one place that puts the admin's SMTP server in the place
of ``GUANXI_SMTP_*``; this module saves, checks and shows the settings.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy.orm import Session

from guanxi import crypto, mail, settings_store
from guanxi.config import Settings
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.interactions.mail.schemas import MailSettingsIn, MailSettingsRead

SETTINGS_KEY = mail.SETTINGS_KEY


@dataclass(frozen=True)
class ImapSettings:
    """How to reach the mailbox the job reads (password decrypted)."""

    host: str
    port: int
    username: str
    password: str
    security: str  # "ssl" (TLS from the first byte), "starttls" or "none" (loopback only)
    folder: str


def _stored(session: Session) -> dict[str, Any]:
    return settings_store.get(session, SETTINGS_KEY) or {}


def _decrypt(token: str) -> str:
    return crypto.cipher().decrypt(token) if token else ""


def imap(session: Session) -> ImapSettings | None:
    """The mailbox to read, or None when the admin has not set one up."""
    stored = _stored(session)
    if not stored.get("imap_host"):
        return None
    return ImapSettings(
        host=stored["imap_host"],
        port=int(stored.get("imap_port", 993)),
        username=stored.get("imap_username", ""),
        password=_decrypt(stored.get("imap_password_encrypted", "")),
        security=stored.get("imap_security", "ssl"),
        folder=stored.get("imap_folder", "INBOX"),
    )


def read(session: Session, settings: Settings) -> MailSettingsRead:
    """The stored settings without the passwords, and which SMTP server sending uses now."""
    stored = _stored(session)
    in_use = "admin" if stored.get("smtp_host") else ("process" if settings.smtp_host else "off")
    return MailSettingsRead(
        smtp_host=stored.get("smtp_host", ""),
        smtp_port=int(stored.get("smtp_port", 587)),
        smtp_username=stored.get("smtp_username", ""),
        smtp_password_set=bool(stored.get("smtp_password_encrypted")),
        smtp_starttls=bool(stored.get("smtp_starttls", True)),
        smtp_ssl=bool(stored.get("smtp_ssl", False)),
        mail_from=stored.get("mail_from", ""),
        imap_host=stored.get("imap_host", ""),
        imap_port=int(stored.get("imap_port", 993)),
        imap_username=stored.get("imap_username", ""),
        imap_password_set=bool(stored.get("imap_password_encrypted")),
        imap_security=stored.get("imap_security", "ssl"),
        imap_folder=stored.get("imap_folder", "INBOX"),
        smtp_in_use=in_use,
    )


def save(session: Session, *, settings: Settings, changes: MailSettingsIn) -> MailSettingsRead:
    """Store the admin's settings; passwords are encrypted, and kept when none is given.

    Raises InvalidInput naming the field for a sender that is not an address, SSL and STARTTLS
    together, or credentials that would cross the network unencrypted.
    """
    stored = _stored(session)
    smtp_password = _new_secret(changes.smtp_password, stored.get("smtp_password_encrypted", ""))
    imap_password = _new_secret(changes.imap_password, stored.get("imap_password_encrypted", ""))
    errors = _check(
        changes, smtp_password_set=bool(smtp_password), imap_password_set=bool(imap_password)
    )
    if errors:
        raise InvalidInput(N_("The mail settings could not be saved."), errors=errors)
    value = {
        "smtp_host": changes.smtp_host.strip(),
        "smtp_port": changes.smtp_port,
        "smtp_username": changes.smtp_username.strip(),
        "smtp_password_encrypted": smtp_password,
        "smtp_starttls": changes.smtp_starttls,
        "smtp_ssl": changes.smtp_ssl,
        "mail_from": changes.mail_from.strip(),
        "imap_host": changes.imap_host.strip(),
        "imap_port": changes.imap_port,
        "imap_username": changes.imap_username.strip(),
        "imap_password_encrypted": imap_password,
        "imap_security": changes.imap_security,
        "imap_folder": changes.imap_folder.strip(),
    }
    settings_store.put(session, SETTINGS_KEY, value)
    return read(session, settings)


def _new_secret(given: str | None, stored_token: str) -> str:
    """The encrypted password to keep: the stored one when none was given, none when cleared."""
    if given is None:
        return stored_token
    return crypto.cipher().encrypt(given) if given else ""


def loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check(
    changes: MailSettingsIn, *, smtp_password_set: bool, imap_password_set: bool
) -> list[FieldError]:
    errors: list[FieldError] = []
    for field in ("smtp_host", "imap_host"):
        host = getattr(changes, field).strip()
        if host and (any(c.isspace() for c in host) or "/" in host):
            errors.append(
                FieldError(field, N_("Write a host name or address, like mail.example.com."))
            )
    if changes.mail_from.strip() and "@" not in parseaddr(changes.mail_from)[1]:
        errors.append(FieldError("mail_from", N_("Write an e-mail address, like crm@example.com.")))
    smtp_host = changes.smtp_host.strip()
    if smtp_host:
        if changes.smtp_ssl and changes.smtp_starttls:
            errors.append(FieldError("smtp_ssl", N_("Choose SSL or STARTTLS, not both.")))
        if changes.smtp_username.strip():
            if not smtp_password_set:
                errors.append(FieldError("smtp_password", N_("Give the password for this user.")))
            if not (changes.smtp_ssl or changes.smtp_starttls or loopback(smtp_host)):
                errors.append(
                    FieldError(
                        "smtp_starttls",
                        N_("A password is sent only encrypted: turn on STARTTLS or SSL."),
                    )
                )
    imap_host = changes.imap_host.strip()
    if imap_host:
        if not changes.imap_username.strip():
            errors.append(FieldError("imap_username", N_("Give the mailbox's user name.")))
        if not imap_password_set:
            errors.append(FieldError("imap_password", N_("Give the password for this user.")))
        if changes.imap_security == "none" and not loopback(imap_host):
            errors.append(
                FieldError(
                    "imap_security",
                    N_("A password is sent only encrypted: choose SSL or STARTTLS."),
                )
            )
    return errors
