"""Inbound e-mail: an uploaded .eml or .mbox, or what the IMAP job reads, logged to customers.

Messages are matched by address, case-insensitively, to customers' e-mail addresses and
contacts' addresses; a mail from our own sender address is logged as outbound and matched by its
To and Cc. The unique (customer, Message-ID) keeps every mail logged once per customer however
often a mailbox is read.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanxi import mail
from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.config import Settings
from guanxi.customers.models import Contact, Customer, CustomerEmail
from guanxi.db import as_utc, utcnow
from guanxi.errors import (
    N_,
    FieldError,
    InvalidInput,
)
from guanxi.interactions import service as interactions
from guanxi.interactions.mail.schemas import (
    ImportResult,
)
from guanxi.interactions.models import Interaction

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_NOTES_CHARS = 100_000
IMPORT_CHUNK = 500


# ---------------------------------------------------------------- reading mailboxes


def parse_upload(*, filename: str, data: bytes) -> list[EmailMessage]:
    """The messages of an uploaded .eml (one message) or .mbox (many); InvalidInput naming
    ``file`` for an empty, oversized or unreadable file."""
    name = filename.lower()
    if not data:
        raise _bad_file(N_("The file is empty."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise _bad_file(N_("The file is larger than 50 MB; split the mailbox."))
    if name.endswith(".mbox") or (not name.endswith(".eml") and data.startswith(b"From ")):
        messages = _read_mbox(data)
        if not messages:
            raise _bad_file(N_("The mailbox holds no messages."))
    elif name.endswith(".eml"):
        messages = [parse_message(data)]
    else:
        raise _bad_file(N_("Upload an .eml file (one message) or an .mbox file (a mailbox)."))
    for message in messages:
        if not message["From"]:
            raise _bad_file(N_("The file holds no e-mail: a message has no From header."))
    return messages


def _bad_file(problem: str) -> InvalidInput:
    return InvalidInput(problem, errors=[FieldError("file", problem)])


def parse_message(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)  # policy.default makes EmailMessage
    return parsed


def _read_mbox(data: bytes) -> list[EmailMessage]:
    # mailbox.mbox reads from a path; the upload goes to a private temporary file
    handle, path = tempfile.mkstemp(suffix=".mbox")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        box = mailbox.mbox(path, create=False)
        try:
            return [parse_message(message.as_bytes()) for message in box]
        finally:
            box.close()
    finally:
        os.unlink(path)


@dataclass
class _Counts:
    read: int = 0
    matched: int = 0
    logged: int = 0
    duplicates: int = 0
    unmatched: int = 0
    seen: set[tuple[int, str]] = field(default_factory=set)

    def result(self) -> ImportResult:
        return ImportResult(
            read=self.read,
            matched=self.matched,
            logged=self.logged,
            duplicates=self.duplicates,
            unmatched=self.unmatched,
        )


@dataclass(frozen=True)
class _Owner:
    customer_id: int
    contact_id: int | None


def import_messages(
    session: Session,
    *,
    actor: User | None,
    settings: Settings,
    messages: Iterable[EmailMessage],
    source: str,
) -> ImportResult:
    """Log each message as an e-mail interaction of every customer whose address it names.

    ``actor`` None is the system (the IMAP job: every customer); a person's import matches only
    the customers they may see. A mail from our sender address is outbound, matched by To and
    Cc; any other is inbound, matched by From. A mail already logged for a customer (same
    Message-ID) counts as a duplicate and is not logged again. One audit record tells the run.
    """
    ours = {
        parseaddr(mail.effective_settings(session, settings).mail_from)[1].lower(),
        parseaddr(settings.mail_from)[1].lower(),
    } - {""}
    counts = _Counts()
    for chunk in _chunks(messages, IMPORT_CHUNK):
        _import_chunk(session, actor=actor, ours=ours, chunk=chunk, counts=counts)
    result = counts.result()
    tracking.record(
        session, "import", "interaction", "mailbox", {"source": source, **result.model_dump()}
    )
    return result


def _chunks(messages: Iterable[EmailMessage], size: int) -> Iterator[list[EmailMessage]]:
    chunk: list[EmailMessage] = []
    for message in messages:
        chunk.append(message)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class _Parsed:
    message_id: str
    direction: str
    addresses: tuple[str, ...]
    occurred_at: datetime
    subject: str
    notes: str


def _parse(message: EmailMessage, ours: set[str]) -> _Parsed:
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    outbound = sender in ours
    if outbound:
        fields = [str(v) for v in message.get_all("To", []) + message.get_all("Cc", [])]
        found = [a.lower() for _, a in getaddresses(fields) if "@" in a]
    else:
        found = [sender] if "@" in sender else []
    subject = " ".join(str(message.get("Subject", "")).split())[:200]
    notes = _plain_text(message)[:MAX_NOTES_CHARS]
    return _Parsed(
        message_id=_message_id(message, sender=sender, subject=subject, notes=notes),
        direction="outbound" if outbound else "inbound",
        addresses=tuple(dict.fromkeys(found)),
        occurred_at=_date(message),
        subject=subject,
        notes=notes,
    )


def _message_id(message: EmailMessage, *, sender: str, subject: str, notes: str) -> str:
    given = str(message.get("Message-ID", "")).strip()
    if given and len(given) <= 255:
        return given
    # none (or an absurd one): a stable stand-in, so reading the mail again finds it again
    digest = hashlib.sha256(
        "\n".join([given, sender, str(message.get("Date", "")), subject, notes]).encode()
    ).hexdigest()
    return f"<{digest[:40]}@guanxi.import>"


def _date(message: EmailMessage) -> datetime:
    raw = message.get("Date")
    if raw:
        try:
            return as_utc(parsedate_to_datetime(str(raw)))
        except (TypeError, ValueError, IndexError):
            pass
    return utcnow()


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = content if isinstance(content, str) else ""
    if part.get_content_subtype() == "html":
        text = _html_text(text)
    return text.strip()


class _TextOfHtml(HTMLParser):
    """The readable text of an HTML mail: no tags, scripts or styles; blocks on new lines."""

    _SKIPPED = frozenset({"script", "style", "head", "title"})
    _BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # line breaks in HTML source are spaces; only blocks start new lines
            self.parts.append(data.replace("\r", " ").replace("\n", " "))


def _html_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _owners(
    session: Session, *, actor: User | None, addresses: set[str]
) -> dict[str, list[_Owner]]:
    """For each address, the live customers (and contacts) that have it, as the actor sees."""
    owners: dict[str, list[_Owner]] = {}
    if not addresses:
        return owners
    live = (Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
    own = (
        select(CustomerEmail.address, Customer.id)
        .join(Customer, Customer.id == CustomerEmail.customer_id)
        .where(CustomerEmail.address.in_(addresses), *live)
    )
    contacts = (
        select(Contact.email, Customer.id, Contact.id)
        .join(Customer, Customer.id == Contact.organisation_id)
        .where(Contact.email.in_(addresses), Contact.deleted_at.is_(None), *live)
    )
    if actor is not None:
        own = restrict(own, Customer, actor)
        contacts = restrict(contacts, Customer, actor)
    for address, customer_id in session.execute(own):
        owners.setdefault(address.lower(), []).append(_Owner(customer_id, None))
    # both kinds of address are stored lower-cased (customers.normalize.email), so the
    # indexed columns answer the case-insensitive match
    for address, customer_id, contact_id in session.execute(contacts):
        found = owners.setdefault(address.lower(), [])
        if all(o.customer_id != customer_id for o in found):
            found.append(_Owner(customer_id, contact_id))
    return owners


def _import_chunk(
    session: Session,
    *,
    actor: User | None,
    ours: set[str],
    chunk: list[EmailMessage],
    counts: _Counts,
) -> None:
    parsed = [_parse(message, ours) for message in chunk]
    owners = _owners(session, actor=actor, addresses={a for p in parsed for a in p.addresses})
    known = session.execute(
        select(Interaction.customer_id, Interaction.message_id).where(
            Interaction.message_id.in_({p.message_id for p in parsed})
        )
    )
    counts.seen |= {(c, m) for c, m in known if m is not None}
    # held for the chunk, so logging finds each customer in the identity map instead of
    # loading it (and its collections) again for every mail
    held = list(
        session.scalars(
            select(Customer).where(
                Customer.id.in_({o.customer_id for found in owners.values() for o in found})
            )
        )
    )
    for mail_in in parsed:
        counts.read += 1
        targets: dict[int, tuple[_Owner, str]] = {}
        for address in mail_in.addresses:
            for owner in owners.get(address, []):
                targets.setdefault(owner.customer_id, (owner, address))
        if not targets:
            counts.unmatched += 1
            continue
        counts.matched += 1
        for customer_id, (owner, address) in targets.items():
            key = (customer_id, mail_in.message_id)
            if key in counts.seen:
                counts.duplicates += 1
                continue
            counts.seen.add(key)
            if _log_once(session, actor=actor, owner=owner, address=address, mail_in=mail_in):
                counts.logged += 1
            else:
                counts.duplicates += 1
    del held


def _log_once(
    session: Session, *, actor: User | None, owner: _Owner, address: str, mail_in: _Parsed
) -> bool:
    """Log one mail for one customer; False when another reader logged it meanwhile (the
    unique key refuses the copy, and only this insert is undone)."""
    try:
        with session.begin_nested():
            # the customer was found through ``restrict`` for this actor already, so it is
            # logged as the system with the actor as its user (one visibility query per
            # mailbox chunk instead of one per mail)
            interactions.log(
                session,
                actor=None,
                user_id=actor.id if actor is not None else None,
                customer_id=owner.customer_id,
                channel="email",
                direction=mail_in.direction,
                subject=mail_in.subject,
                notes=mail_in.notes,
                occurred_at=mail_in.occurred_at,
                contact_id=owner.contact_id,
                source="email_in",
                message_id=mail_in.message_id,
                email_address=address,
            )
    except IntegrityError:
        return False
    return True
