"""Personal iCalendar feeds (RFC 5545): a secret URL per user that calendar apps subscribe to,
with the user's open follow-ups and the expiries of the contracts they own.

The URL's token is looked up by its SHA-256, so the table never holds a usable secret in the
clear; it is also kept encrypted (guanxi.crypto) so the profile page can show the same URL
again. Revoking makes the URL answer 404 and the next request for a URL makes a new one.

The feed is read with its owner's rights at the time it is fetched: a follow-up of a customer
the user no longer sees, or a contract they cannot open, drops out of it. A calendar app polls
the feed all day, so it is four small indexed queries however long the feed: the token with its
user, the role's permissions, the open follow-ups with their customers' names, the contracts.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from guanxi import crypto
from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.errors import N_, NotFound
from guanxi.interactions import followups
from guanxi.interactions.models import CalendarFeed, FollowUp
from guanxi.sales.contracts import service as contract_service
from guanxi.sales.contracts.status import LIVE
from guanxi.sales.models import Contract
from guanxi.web import i18n

PRODUCT_ID = "-//Guanxi CRM//Follow-ups//EN"
# a follow-up is a point in time; calendars show it as a short appointment
FOLLOW_UP_MINUTES = 30


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/calendar/{token}.ics"


def current_url(*, session: Session, settings: Settings, user: User) -> str | None:
    """The URL of the user's live feed, or None if they have none."""
    feed = _live_feed(session, user)
    if feed is None:
        return None
    return feed_url(settings, crypto.cipher().decrypt(feed.token_encrypted))


def ensure_url(*, session: Session, settings: Settings, user: User) -> str:
    """The URL of the user's live feed, made on first use; later calls give the same URL."""
    existing = current_url(session=session, settings=settings, user=user)
    if existing is not None:
        return existing
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        user_id=user.id,
        token_hash=token_hash(token),
        token_encrypted=crypto.cipher().encrypt(token),
    )
    session.add(feed)
    session.flush()
    tracking.record(session, "calendar_feed.created", "user", user.id, {"feed_id": feed.id})
    return feed_url(settings, token)


def revoke(*, session: Session, user: User) -> bool:
    """Turn off the user's feed URL; True if there was one."""
    revoked = session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    done = bool(revoked.rowcount)  # type: ignore[attr-defined]
    if done:
        tracking.record(session, "calendar_feed.revoked", "user", user.id)
    return done


def _live_feed(session: Session, user: User) -> CalendarFeed | None:
    return session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id.desc())
        .limit(1)
    )


def owner_of(*, session: Session, token: str) -> User | None:
    """The active user whose live feed has this token, or None."""
    user = session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(
            CalendarFeed.token_hash == token_hash(token),
            CalendarFeed.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    )
    if user is None or not user.can("interactions", "read"):
        return None
    return user


def build_for_token(*, session: Session, settings: Settings, token: str) -> bytes:
    """The feed of the live URL with this token; NotFound for an unknown or revoked one."""
    owner = owner_of(session=session, token=token)
    if owner is None:
        raise NotFound(N_("There is no calendar at this address."))
    return build(session=session, settings=settings, user=owner)


def build(*, session: Session, settings: Settings, user: User) -> bytes:
    """The user's feed as iCalendar text."""
    base = settings.public_url.rstrip("/")
    host = urlsplit(base).hostname or "guanxi"
    translations = i18n.translations(user.locale or settings.default_locale)
    stamp = utcnow()
    feed = Calendar()
    feed.add("prodid", PRODUCT_ID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", translations.gettext("Guanxi follow-ups"))
    rows = session.execute(
        followups.visible_follow_ups(user)
        .add_columns(Customer.name)
        .where(FollowUp.assignee_id == user.id, FollowUp.status == "open")
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    for follow_up, customer_name in rows:
        feed.add_component(_follow_up_event(follow_up, customer_name, base, host, stamp))
    contracts = session.scalars(
        contract_service.visible_contracts(user)
        .where(Contract.owner_id == user.id, Contract.status.in_(LIVE))
        .order_by(Contract.end_date, Contract.id)
    )
    for contract in contracts:
        summary = translations.gettext("Contract {number} expires").format(number=contract.number)
        feed.add_component(_contract_event(contract, summary, base, host, stamp))
    return feed.to_ical()


def _follow_up_event(
    follow_up: FollowUp, customer_name: str, base: str, host: str, stamp: datetime
) -> Event:
    event = Event()
    event.add("uid", f"follow-up-{follow_up.id}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", follow_up.due_at)
    event.add("dtend", follow_up.due_at + timedelta(minutes=FOLLOW_UP_MINUTES))
    event.add(
        "summary", f"{customer_name}: {follow_up.subject}" if follow_up.subject else customer_name
    )
    link = f"{base}/interactions/follow-ups/{follow_up.id}"
    event.add("description", f"{follow_up.note}\n\n{link}" if follow_up.note else link)
    event.add("url", link)
    event.add("categories", [follow_up.channel])
    event.add("sequence", follow_up.version)
    return event


def _contract_event(
    contract: Contract, summary: str, base: str, host: str, stamp: datetime
) -> Event:
    event = Event()
    event.add("uid", f"contract-{contract.id}-end@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", contract.end_date)  # a date: an all-day event
    event.add("dtend", contract.end_date + timedelta(days=1))
    event.add("summary", summary)
    link = f"{base}/sales/contracts/{contract.id}"
    event.add("description", f"{contract.title}\n\n{link}")
    event.add("url", link)
    event.add("transp", "TRANSPARENT")
    event.add("sequence", contract.version)
    return event
