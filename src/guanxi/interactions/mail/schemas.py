"""API shapes for e-mail to and from customers: sending, mailbox imports, templates and the
admin's mail settings (passwords go in, never out: a read says only whether one is set)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ImapSecurity = Literal["ssl", "starttls", "none"]


class EmailSend(BaseModel):
    """An e-mail to a customer. ``to`` is one of the customer's (or the contact's) addresses;
    without it the customer's primary address. With ``template_id`` and no subject or body,
    the template's are rendered for the customer; a subject and body sent are rendered too, so
    they may use the same fields."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int
    to: str | None = Field(default=None, max_length=320)
    subject: str = Field(default="", max_length=200)
    body: str = Field(default="", max_length=100_000)
    template_id: int | None = None
    contact_id: int | None = None


class EmailSent(BaseModel):
    """The interaction logged for a sent e-mail."""

    interaction_id: int
    customer_id: int
    message_id: str
    to: str
    subject: str
    occurred_at: datetime


class ImportResult(BaseModel):
    """What one mailbox import did: messages read, those whose address matched a customer,
    interactions logged, those already logged before (by Message-ID) and those nobody matched.
    A message matching two customers logs one interaction for each."""

    read: int
    matched: int
    logged: int
    duplicates: int
    unmatched: int


class MailTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=100_000)
    is_active: bool = True


class MailTemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=100_000)
    is_active: bool | None = None


class MailTemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    subject: str
    body: str
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class MailPreview(BaseModel):
    """A template rendered for one customer: what the e-mail would say."""

    subject: str
    body: str
    to: str | None


class MailSettingsIn(BaseModel):
    """The admin's SMTP and IMAP settings. An empty ``smtp_host`` leaves sending to the
    process settings (``GUANXI_SMTP_*``); an empty ``imap_host`` turns the mailbox reader off.
    A password left out (null) keeps the stored one; an empty string clears it."""

    model_config = ConfigDict(extra="forbid")

    smtp_host: str = Field(default="", max_length=255)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = Field(default="", max_length=255)
    smtp_password: str | None = Field(default=None, max_length=1000)
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    mail_from: str = Field(default="", max_length=320)
    imap_host: str = Field(default="", max_length=255)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_username: str = Field(default="", max_length=255)
    imap_password: str | None = Field(default=None, max_length=1000)
    imap_security: ImapSecurity = "ssl"
    imap_folder: str = Field(default="INBOX", min_length=1, max_length=255)


class MailSettingsRead(BaseModel):
    """The stored settings without the passwords: ``*_password_set`` says whether one is kept."""

    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password_set: bool
    smtp_starttls: bool
    smtp_ssl: bool
    mail_from: str
    imap_host: str
    imap_port: int
    imap_username: str
    imap_password_set: bool
    imap_security: ImapSecurity
    imap_folder: str
    # what sending uses now: "admin" (these settings), "process" (GUANXI_SMTP_*) or "off"
    smtp_in_use: Literal["admin", "process", "off"]
