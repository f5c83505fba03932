"""E-mail to a customer: pick an address, fill a template, send through SMTP and log it.

Sending refuses a customer whose e-mail consent is withdrawn (the consent ledger decides, at the
moment of sending) and says so in words; the interaction is written (flushed) before the server
is asked, so a refusal by the server rolls it back and nothing is logged for a mail that never
left. Templates are in ``mail.templates``, mailbox reading in ``mail.inbound``.
"""

from __future__ import annotations

from email.utils import formataddr, parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi import mail
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers import consent
from guanxi.customers import service as customer_service
from guanxi.customers.models import Contact, Customer, CustomerEmail
from guanxi.errors import (
    N_,
    Conflict,
    FieldError,
    GuanxiError,
    InvalidInput,
    ServiceUnavailable,
)
from guanxi.interactions import service as interactions
from guanxi.interactions.mail.schemas import (
    MailPreview,
)
from guanxi.interactions.mail.templates import (
    get_template,
    render_text,
    template_fields,
)
from guanxi.interactions.models import Interaction

CONSENT_PURPOSE = "marketing_email"


class MailNotSent(GuanxiError):
    """The SMTP server could not be reached or refused the message; nothing was logged."""

    status = 502
    slug = "mail-not-sent"
    title = N_("E-mail not sent")


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
    answers_their_request: bool = False,
) -> Interaction:
    """Send an e-mail to a customer the actor may see and log it as an outbound interaction
    with the message's Message-ID.

    Refuses (409) a customer whose e-mail consent is withdrawn, unless the mail
    ``answers_their_request`` (a reply on a ticket the customer opened: withdrawing consent to
    e-mail stops what the company starts, not the answer to what the customer asked), (503) when
    e-mail is not set up,
    (422) an address that is not the customer's or a template that cannot be rendered, and
    (502) when the SMTP server fails; in every refusal nothing is sent and nothing is logged.
    """
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    if not answers_their_request:
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
