"""Personal iCalendar feeds (RFC 5545): a secret URL per user that calendar apps subscribe to,
with the user's open follow-ups and the expiries of the contracts they own.

The URL's token is looked up by its SHA-256, so the table never holds a usable secret in the
clear; it is also kept encrypted (guanxi.crypto) so the profile page can show the same URL
again. Revoking makes the URL answer 404 and the next request for a URL makes a new one.

The feed is read with its owner's rights at the time it is fetched: a follow-up of a customer
the user no longer sees, or a contract they cannot open, drops out of it. A calendar app polls
the feed all day, so it is four small indexed queries however long the feed (the token with its
user, the role's permissions, the open follow-ups with their customers' names, the contracts),
and an app that sends back the feed's ETag gets "304 Not Modified" without the feed being
built, which is where the time goes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
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
from guanxi.interactions.followups import service as followups
from guanxi.interactions.models import CalendarFeed, FollowUp
from guanxi.sales.contracts import service as contract_service
from guanxi.sales.contracts.status import LIVE
from guanxi.sales.models import Contract
from guanxi.web import i18n

PRODUCT_ID = "-//Guanxi CRM//Follow-ups//EN"
# a follow-up is a point in time; calendars show it as a short appointment
FOLLOW_UP_MINUTES = 30
# open follow-ups overdue for longer than this are left out (they are on "my day"); building an
# entry costs the iCalendar library about half a millisecond, and calendar apps poll often
PAST_DAYS = 90


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


@dataclass(frozen=True)
class FeedReply:
    """A feed answer: its entity tag, and the iCalendar text unless the client's copy (the
    ``If-None-Match`` it sent) is still current."""

    etag: str
    body: bytes | None


def build_for_token(
    *, session: Session, settings: Settings, token: str, if_none_match: str | None = None
) -> FeedReply:
    """The feed of the live URL with this token; NotFound for an unknown or revoked one."""
    owner = owner_of(session=session, token=token)
    if owner is None:
        raise NotFound(N_("There is no calendar at this address."))
    return build(session=session, settings=settings, user=owner, if_none_match=if_none_match)


def build(
    *, session: Session, settings: Settings, user: User, if_none_match: str | None = None
) -> FeedReply:
    """The user's feed. Its tag is a digest of what the entries are made of, so a calendar app
    that polls with ``If-None-Match`` gets "not modified" without the feed being built again
    (building is what costs: the iCalendar library takes about half a millisecond an entry)."""
    stamp = utcnow()
    since = stamp - timedelta(days=PAST_DAYS)
    follow_ups: list[tuple[FollowUp, str]] = [
        (row[0], row[1])
        for row in session.execute(
            followups.visible_follow_ups(user)
            .add_columns(Customer.name)
            .where(
                FollowUp.assignee_id == user.id,
                FollowUp.status == "open",
                FollowUp.due_at >= since,
            )
            .order_by(FollowUp.due_at, FollowUp.id)
        )
    ]
    contracts = list(
        session.scalars(
            contract_service.visible_contracts(user)
            .where(
                Contract.owner_id == user.id,
                Contract.status.in_(LIVE),
                Contract.end_date >= since.date(),
            )
            .order_by(Contract.end_date, Contract.id)
        )
    )
    locale = user.locale or settings.default_locale
    digest = hashlib.sha256(
        repr(
            (
                locale,
                settings.public_url,
                [(f.id, f.version, name) for f, name in follow_ups],
                [(c.id, c.version) for c in contracts],
            )
        ).encode()
    ).hexdigest()[:32]
    etag = f'"{digest}"'
    if if_none_match is not None and etag in (t.strip() for t in if_none_match.split(",")):
        return FeedReply(etag, None)
    base = settings.public_url.rstrip("/")
    host = urlsplit(base).hostname or "guanxi"
    translations = i18n.translations(locale)
    feed = Calendar()
    feed.add("prodid", PRODUCT_ID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", translations.gettext("Guanxi follow-ups"))
    for follow_up, customer_name in follow_ups:
        feed.add_component(_follow_up_event(follow_up, customer_name, base, host, stamp))
    for contract in contracts:
        summary = translations.gettext("Contract {number} expires").format(number=contract.number)
        feed.add_component(_contract_event(contract, summary, base, host, stamp))
    return FeedReply(etag, feed.to_ical())


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
