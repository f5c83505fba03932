"""Signing in to the customer portal with a one-time link mailed to an address on the record.

The answer to "send me a link" is the same whether the address is known or not, and takes about
as long: the request is recorded and counted either way, and the mail itself goes out from the
job queue after the commit, never inside the request. Requests are limited per address (further
ones are dropped silently, so the limit says nothing either) and per client address (a 429).

Links and sessions carry 256 random bits; only their SHA-256 is stored. A link is redeemed with a
conditional UPDATE (``used_at`` set where it is still NULL and the link has not expired), so of two
clicks racing each other exactly one signs in. The portal session has a cookie of its own, scoped
to ``/portal``; staff authentication never reads it (``guanxi.deps`` knows only the staff cookie).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from email.utils import formataddr

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from guanxi import crypto, mail
from guanxi.audit import tracking as audit
from guanxi.audit.chain import AuditActor
from guanxi.config import Settings
from guanxi.customers import normalize
from guanxi.customers.models import Customer, CustomerEmail
from guanxi.db import Database, utcnow
from guanxi.errors import N_, FieldError, Gone, InvalidInput, TooManyRequests
from guanxi.jobs import JobContext, enqueue_after_commit, job, periodic
from guanxi.service_desk.models import PortalLoginLink, PortalLoginRequest, PortalSession
from guanxi.web import i18n

log = logging.getLogger("guanxi.service_desk.portal")

COOKIE = "guanxi_portal"
COOKIE_PATH = "/portal"
LINK_MINUTES = 30
SESSION_HOURS = 12
RATE_WINDOW = timedelta(hours=1)
PER_ADDRESS_PER_HOUR = 5
PER_IP_PER_HOUR = 20
# one address may be on a few records (a person and their shop); each gets its own link
MAX_LINKS_PER_REQUEST = 5

LINK_SUBJECT = N_("Your sign-in link for the customer portal")
LINK_BODY = N_(
    "Dear {customer},\n\n"
    "use this link to sign in to the customer portal. It works once and until {expires} (UTC):\n\n"
    "{link}\n\n"
    "If you did not ask for it, ignore this e-mail: nobody can sign in without the link."
)


class PortalThrottled(TooManyRequests):
    """Too many sign-in requests from one client address."""


class LinkNotValid(Gone):
    """A sign-in link that is unknown, used or expired: all three answer alike."""


def digest(token: str) -> str:
    # tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless
    return hashlib.sha256(token.encode()).hexdigest()


def _address_key(address: str) -> str:
    # keyed, so the request log cannot be searched for a guessed address without the key
    return crypto.cipher().blind_index("portal-login:" + address)


def customer_actor(customer_id: int, ip_address: str = "") -> AuditActor:
    """How the audit log names a customer acting for themselves in the portal."""
    return AuditActor(None, f"portal:customer:{customer_id}", ip_address[:64])


# ---------------------------------------------------------------- asking for a link


def normalised_address(raw: str) -> str:
    try:
        return normalize.email(raw[:254])
    except normalize.InvalidValue as exc:
        raise InvalidInput(
            N_("Enter an e-mail address."),
            errors=[FieldError("email", N_("Not an e-mail address."))],
        ) from exc


def request_link(
    session: Session,
    *,
    address: str,
    ip_address: str,
    locale: str,
    now: datetime | None = None,
) -> None:
    """Record a request for a sign-in link to ``address`` and, when the address is on a live
    customer's record and under its limit, queue the mail for after the commit.

    Returns nothing on purpose: the caller cannot tell a known address from an unknown one.
    Raises ``PortalThrottled`` when ``ip_address`` asked too often this hour."""
    moment = now or utcnow()
    address = normalised_address(address)
    ip_address = ip_address[:64]
    since = moment - RATE_WINDOW
    from_ip = session.scalar(
        select(func.count())
        .select_from(PortalLoginRequest)
        .where(PortalLoginRequest.ip_address == ip_address, PortalLoginRequest.at > since)
    )
    if (from_ip or 0) >= PER_IP_PER_HOUR:
        raise PortalThrottled(
            N_("Too many sign-in requests from your network. Try again in an hour."),
            retry_after_seconds=int(RATE_WINDOW.total_seconds()),
        )
    key = _address_key(address)
    session.add(PortalLoginRequest(address_hash=key, ip_address=ip_address, at=moment))
    session.flush()
    for_address = session.scalar(
        select(func.count())
        .select_from(PortalLoginRequest)
        .where(PortalLoginRequest.address_hash == key, PortalLoginRequest.at > since)
    )
    if (for_address or 0) > PER_ADDRESS_PER_HOUR:
        return
    for customer_id in _customers_with(session, address):
        link, token = _new_link(session, customer_id=customer_id, address=address, now=moment)
        # the token rides the queue sealed, so the queue's storage holds nothing usable
        enqueue_after_commit(
            session,
            send_link_mail,
            link_id=link.id,
            sealed_token=crypto.cipher().encrypt(token),
            locale=locale,
        )


def _new_link(
    session: Session, *, customer_id: int, address: str, now: datetime
) -> tuple[PortalLoginLink, str]:
    token = secrets.token_urlsafe(32)
    link = PortalLoginLink(
        token_hash=digest(token),
        customer_id=customer_id,
        email_address=address,
        created_at=now,
        expires_at=now + timedelta(minutes=LINK_MINUTES),
    )
    session.add(link)
    session.flush()
    return link, token


def issue_links(
    session: Session, *, settings: Settings, address: str, now: datetime | None = None
) -> list[tuple[int, str]]:
    """One-time sign-in links for the live customers with ``address``, handed to an operator
    instead of mailed (a customer whose mail does not arrive, or the demo, which has no mail
    server): (customer id, URL) pairs, each audited. No rate limit: only someone who runs the
    command line on the server can ask."""
    moment = now or utcnow()
    address = normalised_address(address)
    links = []
    for customer_id in _customers_with(session, address):
        link, token = _new_link(session, customer_id=customer_id, address=address, now=moment)
        audit.record(
            session,
            "portal_link_issued",
            "customer",
            customer_id,
            {"link_id": link.id, "expires_at": link.expires_at.isoformat()},
        )
        links.append((customer_id, link_url(settings, token)))
    return links


def _customers_with(session: Session, address: str) -> list[int]:
    """Live customers (not deleted, erased or merged away) with ``address`` on their record."""
    return list(
        session.scalars(
            select(Customer.id)
            .join(CustomerEmail, CustomerEmail.customer_id == Customer.id)
            .where(
                CustomerEmail.address == address,
                Customer.deleted_at.is_(None),
                Customer.erased_at.is_(None),
                Customer.merged_into_id.is_(None),
            )
            .distinct()
            .order_by(Customer.id)
            .limit(MAX_LINKS_PER_REQUEST)
        )
    )


def _live_customer(session: Session, customer_id: int) -> Customer | None:
    customer = session.get(Customer, customer_id)
    if (
        customer is None
        or customer.deleted_at is not None
        or customer.erased_at is not None
        or customer.merged_into_id is not None
    ):
        return None
    return customer


# ---------------------------------------------------------------- mailing the link


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/portal/login/{token}"


@job(retries=3, retry_delay=60)
def send_link_mail(ctx: JobContext, *, link_id: int, sealed_token: str, locale: str) -> None:
    send_link(ctx.settings, ctx.db, link_id=link_id, sealed_token=sealed_token, locale=locale)


def send_link(
    settings: Settings, db: Database, *, link_id: int, sealed_token: str, locale: str
) -> bool:
    """Mail one sign-in link; False when there is nothing to send (used, expired, the customer
    gone, or e-mail is off). A refusing server raises ``mail.MailError`` so the job retries."""
    with db.unit_of_work() as session:
        link = session.get(PortalLoginLink, link_id)
        if link is None or link.used_at is not None or link.expires_at <= utcnow():
            return False
        customer = _live_customer(session, link.customer_id)
        if customer is None:
            return False
        sending = mail.effective_settings(session, settings)
        if not mail.enabled(sending):
            log.info("e-mail is off; portal sign-in link %s not mailed", link.id)
            return False
        translations = i18n.translations(locale)
        values = {
            "customer": customer.name,
            "expires": link.expires_at.strftime("%Y-%m-%d %H:%M"),
            "link": link_url(settings, crypto.cipher().decrypt(sealed_token)),
        }
        message = mail.build(
            sending,
            to=formataddr((customer.name, link.email_address)),
            subject=translations.gettext(LINK_SUBJECT),
            text=translations.gettext(LINK_BODY).format(**values),
        )
        address = link.email_address
    # not logged as an interaction: the message is a key, not a conversation
    mail.send(sending, message)
    log.info("portal sign-in link %s mailed to %s", link_id, address)
    return True


# ---------------------------------------------------------------- redeeming it, sessions


def redeem_link(
    session: Session, *, token: str, ip_address: str, now: datetime | None = None
) -> tuple[PortalSession, str]:
    """Use a sign-in link once and start a portal session: (the session, its cookie token).

    Raises ``LinkNotValid`` (410) for a link that is unknown, already used or expired."""
    moment = now or utcnow()
    claimed = session.execute(
        update(PortalLoginLink)
        .where(
            PortalLoginLink.token_hash == digest(token),
            PortalLoginLink.used_at.is_(None),
            PortalLoginLink.expires_at > moment,
        )
        .values(used_at=moment)
        .returning(PortalLoginLink.customer_id, PortalLoginLink.email_address)
    ).one_or_none()
    if claimed is None:
        raise LinkNotValid(
            N_("This sign-in link has expired or was used already. Ask for a new one.")
        )
    customer_id, address = claimed
    if _live_customer(session, customer_id) is None:
        raise LinkNotValid(
            N_("This sign-in link has expired or was used already. Ask for a new one.")
        )
    audit.set_actor(session, customer_actor(customer_id, ip_address))
    cookie_token = secrets.token_urlsafe(32)
    record = PortalSession(
        token_hash=digest(cookie_token),
        customer_id=customer_id,
        email_address=address,
        csrf_token=secrets.token_urlsafe(32),
        created_at=moment,
        expires_at=moment + timedelta(hours=SESSION_HOURS),
    )
    session.add(record)
    session.flush()
    audit.record(session, "portal.login", "customer", customer_id)
    return record, cookie_token


def resolve_session(
    session: Session, *, token: str, now: datetime | None = None
) -> PortalSession | None:
    """The live portal session for a cookie token, or None (unknown, expired, customer gone)."""
    if not token:
        return None
    record = session.scalar(select(PortalSession).where(PortalSession.token_hash == digest(token)))
    if record is None or record.expires_at <= (now or utcnow()):
        return None
    if _live_customer(session, record.customer_id) is None:
        return None
    return record


def end_session(session: Session, *, record: PortalSession) -> None:
    audit.record(session, "portal.logout", "customer", record.customer_id)
    session.delete(record)
    session.flush()


def prune(session: Session, *, now: datetime | None = None) -> int:
    """Forget expired links and sessions and requests older than the rate window."""
    moment = now or utcnow()
    removed = 0
    for statement in (
        delete(PortalLoginLink).where(PortalLoginLink.expires_at < moment - RATE_WINDOW),
        delete(PortalSession).where(PortalSession.expires_at < moment),
        delete(PortalLoginRequest).where(PortalLoginRequest.at < moment - RATE_WINDOW),
    ):
        removed += int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
    return removed


@periodic(minute="41")
def prune_portal_job(ctx: JobContext) -> None:
    with ctx.db.unit_of_work() as session:
        removed = prune(session)
    if removed:
        log.info("portal: %d expired links, sessions and requests removed", removed)
