"""E-mail to and from customers: send one through SMTP and log it, read mailboxes and log what
matches, and the templates with the customer's fields.

Sending refuses a customer whose e-mail consent is withdrawn (the consent ledger decides, at the
moment of sending) and says so in words; the interaction is written (flushed) before the server
is asked, so a refusal by the server rolls it back and nothing is logged for a mail that never
left. Templates are rendered in Jinja's immutable sandbox with strict fields: a template may
show the documented fields with conditions and filters, and anything else (an unknown field,
``''.__class__``, a huge repetition) is a clear 422 naming the part, never a 500.

Inbound mail (an uploaded .eml or .mbox, or the IMAP job) is matched by address, case-
insensitively, to customers' e-mail addresses and contacts' addresses; a mail from our own
sender address is logged as outbound and matched by its To and Cc. The unique (customer,
Message-ID) keeps every mail logged once per customer however often a mailbox is read.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formataddr, getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    nodes,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanxi import mail
from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.concurrency import ensure_version
from guanxi.config import Settings
from guanxi.customers import consent
from guanxi.customers import service as customer_service
from guanxi.customers.models import Contact, Customer, CustomerEmail, CustomerPhone
from guanxi.db import utcnow
from guanxi.errors import (
    N_,
    Conflict,
    FieldError,
    GuanxiError,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)
from guanxi.interactions import service as interactions
from guanxi.interactions.mail.schemas import (
    ImportResult,
    MailPreview,
    MailTemplateIn,
    MailTemplateUpdate,
)
from guanxi.interactions.models import Interaction, MailTemplate

CONSENT_PURPOSE = "marketing_email"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_RENDERED_CHARS = 200_000
MAX_NOTES_CHARS = 100_000
IMPORT_CHUNK = 500

# The fields a template may use, shown on the template form. ``contact.*`` is the chosen
# contact, or the customer when none is chosen (so "Dear {{ contact.name }}" always reads).
CUSTOMER_FIELDS = (
    "name",
    "kind",
    "customer_type",
    "gender",
    "birthday",
    "occupation",
    "industry",
    "company",
    "region",
    "city",
    "district",
    "address",
    "postal_code",
    "preferred_contact_time",
    "source_channel",
    "value_tier",
    "lifecycle_stage",
)
TEMPLATE_FIELDS: tuple[str, ...] = (
    *(f"customer.{name}" for name in CUSTOMER_FIELDS),
    "customer.email",
    "customer.phone",
    "customer.custom_fields",
    "contact.name",
    "contact.title",
    "contact.email",
    "user.label",
    "user.email",
)


class MailNotSent(GuanxiError):
    """The SMTP server could not be reached or refused the message; nothing was logged."""

    status = 502
    slug = "mail-not-sent"
    title = N_("E-mail not sent")


# ---------------------------------------------------------------- templates in a sandbox


class _Fields(dict[str, Any]):
    """A group of template fields (``customer``, ``contact``, ``user``) that knows its name, so
    an unknown field is reported as ``customer.nickname``."""

    def __init__(self, group: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self._group = group


class _CustomFields(dict[str, Any]):
    """A customer's custom fields (``customer.custom_fields.<key>``): a key this customer has no
    value for reads as empty, since custom fields are optional."""

    def __missing__(self, key: str) -> str:
        return ""


class _UnknownField(StrictUndefined):
    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        owner = self._undefined_obj
        if isinstance(owner, _Fields):
            return f"{owner._group}.{self._undefined_name}"
        return str(self._undefined_name)


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox narrowed to what a letter needs: fields, conditions and a few
    filters. Loops, calls (``'x'.ljust(10**9)``), assignments, macros and includes are refused
    when the template is read, and so are large repetitions and powers, so the work a template
    can cause grows only with its length and never eats the memory or the CPU."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers are not allowed")
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_RENDERED_CHARS:
                raise SecurityError("the repetition is too large")
        return super().call_binop(context, operator, left, right)


# filters whose output is never much longer than their input
SAFE_FILTERS = (
    "capitalize",
    "d",
    "default",
    "first",
    "last",
    "length",
    "lower",
    "string",
    "title",
    "trim",
    "truncate",
    "upper",
)
_FORBIDDEN_NODES = (
    nodes.For,
    nodes.Call,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.Assign,
    nodes.AssignBlock,
    nodes.With,
    nodes.Block,
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
)
_SANDBOX = _Sandbox(undefined=_UnknownField, autoescape=False, keep_trailing_newline=True)
_SANDBOX.filters = {name: _SANDBOX.filters[name] for name in SAFE_FILTERS}
_SANDBOX.tests = {name: _SANDBOX.tests[name] for name in ("defined", "undefined", "none")}
_SANDBOX.globals = {}


def _compile(source: str) -> Template:
    """The template, refused (SecurityError) when it holds a loop, call or assignment."""
    tree = _SANDBOX.parse(source)
    for node in tree.find_all(_FORBIDDEN_NODES):
        raise SecurityError(
            f"line {node.lineno}: loops, calls and assignments are not allowed in templates"
        )
    return _SANDBOX.from_string(tree)


def render_text(source: str, fields: Mapping[str, Any], *, part: str) -> str:
    """``source`` rendered with ``fields``; InvalidInput naming ``part`` when it cannot be."""
    try:
        rendered = _compile(source).render(fields)
    except TemplateSyntaxError as exc:
        raise InvalidInput(
            N_("The {part} is not a valid template (line {line}): {problem}"),
            errors=[
                FieldError(
                    part, N_("Check the template's tags: each opening mark needs its closing one.")
                )
            ],
            part=part,
            line=exc.lineno,
            problem=exc.message or "",
        ) from exc
    except SecurityError as exc:
        raise InvalidInput(
            N_("The {part} uses code that templates may not run: {problem}"),
            errors=[
                FieldError(
                    part, N_("A template may only show fields, with conditions and filters.")
                )
            ],
            part=part,
            problem=str(exc),
        ) from exc
    except UndefinedError as exc:
        raise InvalidInput(
            N_("The {part} uses {name}, which is not one of the template fields."),
            errors=[FieldError(part, N_("Use only the fields listed with the template."))],
            part=part,
            name=str(exc),
        ) from exc
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise InvalidInput(
            N_("The {part} could not be rendered: {problem}"),
            errors=[
                FieldError(
                    part, N_("A template may only show fields, with conditions and filters.")
                )
            ],
            part=part,
            problem=str(exc),
        ) from exc
    if len(rendered) > MAX_RENDERED_CHARS:
        raise InvalidInput(
            N_("The {part} is too long once rendered."),
            errors=[FieldError(part, N_("Must be at most {max_length} characters."))],
            part=part,
        )
    return rendered


def template_fields(
    session: Session,
    *,
    customer: Customer,
    contact: Contact | None,
    user: User,
) -> dict[str, Any]:
    """The values of ``TEMPLATE_FIELDS`` for one customer (dates as ISO text)."""
    values: dict[str, Any] = {}
    for name in CUSTOMER_FIELDS:
        value = getattr(customer, name)
        values[name] = value.isoformat() if hasattr(value, "isoformat") else (value or "")
    values["email"] = _primary_email(session, customer.id) or ""
    phone = session.scalar(
        select(CustomerPhone.number)
        .where(CustomerPhone.customer_id == customer.id)
        .order_by(CustomerPhone.position, CustomerPhone.id)
        .limit(1)
    )
    values["phone"] = phone or ""
    values["custom_fields"] = _CustomFields(customer.custom_fields or {})
    contact_values = (
        {"name": contact.name, "title": contact.title, "email": contact.email}
        if contact is not None
        else {"name": customer.name, "title": "", "email": values["email"]}
    )
    return {
        "customer": _Fields("customer", values),
        "contact": _Fields("contact", contact_values),
        "user": _Fields("user", {"label": user.label, "email": user.email}),
    }


def _sample_fields() -> dict[str, Any]:
    """Every field with a placeholder value: a template that renders with these uses no
    unknown field."""
    customer: dict[str, Any] = {name: "x" for name in CUSTOMER_FIELDS}
    customer |= {"email": "x@example.com", "phone": "x", "custom_fields": _CustomFields()}
    return {
        "customer": _Fields("customer", customer),
        "contact": _Fields("contact", {"name": "x", "title": "x", "email": "x@example.com"}),
        "user": _Fields("user", {"label": "x", "email": "x@example.com"}),
    }


def check_template(*, subject: str, body: str) -> None:
    """Refuse a template that does not parse, uses unknown fields or unsafe code."""
    fields = _sample_fields()
    render_text(subject, fields, part="subject")
    render_text(body, fields, part="body")


# ---------------------------------------------------------------- template records


def list_templates(session: Session, *, active_only: bool = False) -> list[MailTemplate]:
    stmt = select(MailTemplate).order_by(MailTemplate.name, MailTemplate.id)
    if active_only:
        stmt = stmt.where(MailTemplate.is_active.is_(True))
    return list(session.scalars(stmt))


def get_template(session: Session, *, template_id: int) -> MailTemplate:
    template = session.get(MailTemplate, template_id)
    if template is None:
        raise NotFound(N_("Record {id} was not found."), id=template_id)
    return template


def create_template(session: Session, *, template_in: MailTemplateIn) -> MailTemplate:
    _check_name(session, name=template_in.name.strip(), template_id=None)
    check_template(subject=template_in.subject, body=template_in.body)
    template = MailTemplate(
        name=template_in.name.strip(),
        subject=template_in.subject,
        body=template_in.body,
        is_active=template_in.is_active,
    )
    session.add(template)
    session.flush()
    return template


def update_template(
    session: Session,
    *,
    template: MailTemplate,
    changes: MailTemplateUpdate,
    expected_version: int | None = None,
) -> MailTemplate:
    ensure_version(template.version, expected_version)
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in values:
        values["name"] = values["name"].strip()
        _check_name(session, name=values["name"], template_id=template.id)
    check_template(
        subject=values.get("subject", template.subject), body=values.get("body", template.body)
    )
    for name, value in values.items():
        setattr(template, name, value)
    session.flush()
    return template


def delete_template(session: Session, *, template: MailTemplate) -> None:
    session.delete(template)
    session.flush()


def _check_name(session: Session, *, name: str, template_id: int | None) -> None:
    taken = session.scalar(
        select(MailTemplate.id).where(
            MailTemplate.name == name, MailTemplate.id != (template_id or 0)
        )
    )
    if taken is not None:
        raise InvalidInput(
            N_("The template could not be saved."),
            errors=[FieldError("name", N_("Another template has this name."))],
        )


# ---------------------------------------------------------------- sending


def consent_withdrawn(session: Session, *, customer_id: int) -> bool:
    """Whether the customer's newest e-mail consent entry withdraws it (the consent ledger's
    current state). A customer never asked has not withdrawn anything: a personal e-mail may
    go to them; marketing asks ``consent.granted_ids`` instead, which needs a grant."""
    current = consent.state(session=session, customer_id=customer_id).get(CONSENT_PURPOSE)
    return current is not None and not current.granted


def refuse_without_consent(session: Session, *, customer: Customer) -> None:
    if consent_withdrawn(session, customer_id=customer.id):
        raise Conflict(
            N_("{customer} has withdrawn consent to e-mail; nothing was sent."),
            customer=customer.name,
        )


def addresses(session: Session, *, customer: Customer) -> list[tuple[str, Contact | None]]:
    """The addresses an e-mail to the customer may go to: the customer's own (primary first),
    then its contacts', each with the contact it belongs to."""
    own = session.scalars(
        select(CustomerEmail.address)
        .where(CustomerEmail.customer_id == customer.id)
        .order_by(CustomerEmail.position, CustomerEmail.id)
    )
    found: list[tuple[str, Contact | None]] = [(address.lower(), None) for address in own]
    contacts = session.scalars(
        select(Contact)
        .where(
            Contact.organisation_id == customer.id,
            Contact.deleted_at.is_(None),
            Contact.email != "",
        )
        .order_by(Contact.name, Contact.id)
    )
    known = {address for address, _ in found}
    for contact in contacts:
        address = contact.email.strip().lower()
        if address not in known:
            known.add(address)
            found.append((address, contact))
    return found


def _primary_email(session: Session, customer_id: int) -> str | None:
    return session.scalar(
        select(CustomerEmail.address)
        .where(CustomerEmail.customer_id == customer_id)
        .order_by(CustomerEmail.position, CustomerEmail.id)
        .limit(1)
    )


def _recipient(
    session: Session, *, customer: Customer, to: str | None, contact_id: int | None
) -> tuple[str, Contact | None]:
    """The address to send to and the contact it belongs to; InvalidInput naming ``to`` or
    ``contact_id`` when it is not one of the customer's."""
    choices = addresses(session, customer=customer)
    contact: Contact | None = None
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.organisation_id != customer.id or contact.deleted_at:
            raise InvalidInput(
                N_("The e-mail could not be sent."),
                errors=[FieldError("contact_id", N_("Not a record of this customer."))],
            )
    if to is None or not to.strip():
        if contact is not None and contact.email:
            return contact.email.strip().lower(), contact
        if not choices:
            raise InvalidInput(
                N_("{customer} has no e-mail address; nothing was sent."),
                errors=[FieldError("to", N_("Add an e-mail address to the customer first."))],
                customer=customer.name,
            )
        return choices[0][0], choices[0][1] or contact
    wanted = parseaddr(to)[1].strip().lower()
    for address, owner in choices:
        if address == wanted:
            return address, owner or contact
    raise InvalidInput(
        N_("The e-mail could not be sent."),
        errors=[FieldError("to", N_("Not one of this customer's e-mail addresses."))],
    )


def compose(
    session: Session,
    *,
    actor: User,
    customer: Customer,
    template_id: int | None,
    subject: str,
    body: str,
    contact: Contact | None,
) -> tuple[str, str]:
    """The subject and body to send: the template's where none were typed, rendered for the
    customer."""
    if template_id is not None:
        template = get_template(session, template_id=template_id)
        subject = subject or template.subject
        body = body or template.body
    errors = []
    if not subject.strip():
        errors.append(FieldError("subject", N_("This field is required.")))
    if not body.strip():
        errors.append(FieldError("body", N_("This field is required.")))
    if errors:
        raise InvalidInput(N_("The e-mail could not be sent."), errors=errors)
    fields = template_fields(session, customer=customer, contact=contact, user=actor)
    rendered_subject = " ".join(render_text(subject, fields, part="subject").split())
    return rendered_subject[:200], render_text(body, fields, part="body")


def preview(
    session: Session, *, actor: User, template_id: int, customer_id: int, contact_id: int | None
) -> MailPreview:
    """A template rendered for a customer the actor may see."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    contact: Contact | None = None
    if contact_id is not None:
        _, contact = _recipient(session, customer=customer, to=None, contact_id=contact_id)
    subject, body = compose(
        session,
        actor=actor,
        customer=customer,
        template_id=template_id,
        subject="",
        body="",
        contact=contact,
    )
    choices = addresses(session, customer=customer)
    return MailPreview(subject=subject, body=body, to=choices[0][0] if choices else None)


def send_to_customer(
    session: Session,
    *,
    actor: User,
    settings: Settings,
    customer_id: int,
    to: str | None = None,
    subject: str = "",
    body: str = "",
    template_id: int | None = None,
    contact_id: int | None = None,
) -> Interaction:
    """Send an e-mail to a customer the actor may see and log it as an outbound interaction
    with the message's Message-ID.

    Refuses (409) a customer whose e-mail consent is withdrawn, (503) when e-mail is not set up,
    (422) an address that is not the customer's or a template that cannot be rendered, and
    (502) when the SMTP server fails; in every refusal nothing is sent and nothing is logged.
    """
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    refuse_without_consent(session, customer=customer)
    sending = mail.effective_settings(session, settings)
    if not mail.enabled(sending):
        raise ServiceUnavailable(
            N_(
                "E-mail is not set up: an administrator enters the SMTP server under "
                "Administration, Mail. Nothing was sent."
            )
        )
    address, contact = _recipient(session, customer=customer, to=to, contact_id=contact_id)
    subject, text = compose(
        session,
        actor=actor,
        customer=customer,
        template_id=template_id,
        subject=subject,
        body=body,
        contact=contact,
    )
    display_name = contact.name if contact is not None else customer.name
    message = mail.build(
        sending, to=formataddr((display_name, address)), subject=subject, text=text
    )
    interaction = interactions.log(
        session,
        actor=actor,
        customer_id=customer.id,
        channel="email",
        direction="outbound",
        subject=subject,
        notes=text,
        contact_id=contact.id if contact is not None else None,
        source="email_out",
        message_id=str(message["Message-ID"]),
        email_address=address,
    )
    try:
        mail.send(sending, message)
    except mail.MailError as exc:
        raise MailNotSent(
            N_(
                "The mail server did not accept the e-mail; nothing was sent or logged. "
                "Try again later or ask an administrator to check the mail settings."
            )
        ) from exc
    return interaction


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
            return interactions.as_utc(parsedate_to_datetime(str(raw)))
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
