"""The customer timeline: one newest-first stream of everything that happened with a customer.

Each domain registers a source, a function ``(session, customer, before, limit)`` answering at
most ``limit`` of its entries at or before ``before`` (all when it is None), newest first. This
module registers the customer's change history (from the audit log) and the consent ledger;
interactions, orders, tickets and campaigns register theirs. The stream merges the sources and
pages by time: a cursor names the last entry shown (its time and key), so entries with the same
time are neither repeated nor skipped.

A source with many entries per customer (the touch centre's thousands of calls) registers with
``register_paged``: it is given a ``Window`` (the cursor's time and key, the limit and the channel
asked for) and answers exactly the entries after the cursor, with one indexed query however many
entries share a time. Such a source may declare the ``channels`` it can filter on; the timeline's
channel filter offers those, so the customer domain never has to know what a channel is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, select, tuple_
from sqlalchemy.orm import Session

from guanxi.audit import service as audit_service
from guanxi.audit.models import AuditEntry
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.customers import consent, custom_fields, extensions
from guanxi.customers.labels import (
    CHOICE_LABELS,
    CONTACT_FIELD_LABELS,
    FIELD_LABELS,
    choice_label,
)
from guanxi.customers.models import Contact, Customer
from guanxi.errors import N_, NotFound
from guanxi.web import i18n

CONSENT_SOURCES = CHOICE_LABELS["consent_source"]


@dataclass(frozen=True)
class Change:
    """One changed field: its label and values as text; ``translated`` values are labels to
    translate (choice values), the others are shown as they are."""

    label: str
    before: str
    after: str
    translated: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened. ``title`` and ``detail`` are English templates marked with
    ``N_()``, filled from ``params`` when shown (``text``); the params named in ``labels`` are
    labels to translate too (a list is translated item by item). ``key`` is unique across
    sources (``"audit:000000000012"``) and orders entries of the same time."""

    at: datetime
    kind: str
    title: str
    key: str
    detail: str = ""
    actor: str = ""
    link: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    labels: frozenset[str] = frozenset()
    changes: tuple[Change, ...] = ()


def text(entry: TimelineEntry) -> tuple[str, str]:
    """The entry's title and detail in the current language."""
    params = {}
    for name, value in entry.params.items():
        if name in entry.labels:
            items = value if isinstance(value, list) else [value]
            value = ", ".join(i18n.gettext(str(item)) for item in items)
        params[name] = value
    title = i18n.translate_template(entry.title, params)
    return title, i18n.translate_template(entry.detail, params) if entry.detail else ""


# (session, customer, viewer, before, limit) -> entries; a source whose records have their own
# visibility (orders, opportunities) shows the viewer only those they may see
Source = Callable[[Session, Customer, User | None, datetime | None, int], list[TimelineEntry]]


@dataclass(frozen=True)
class Window:
    """What a paged source is asked for: at most ``limit`` entries older than ``after`` (the time
    and key of the last entry shown; None for the newest), newest first by (time, key), of one
    ``channel`` when it is set."""

    after: tuple[datetime, str] | None
    limit: int
    channel: str | None = None

    @property
    def before(self) -> datetime | None:
        return self.after[0] if self.after else None

    def older_than(
        self, at: SQLColumnExpression[datetime], number: SQLColumnExpression[int], prefix: str
    ) -> ColumnElement[bool] | None:
        """The SQL condition for "older than the cursor" for a source whose keys are ``prefix``
        followed by its rows' zero-padded ``number`` (``"interaction:000000000042"``), so that
        key order is number order; None when there is no cursor. Written as a time range plus a
        row-value comparison, which both stores answer from an index on (..., time, number)."""
        if self.after is None:
            return None
        moment, key = self.after
        # the row value's bind is not the column's UTC type: give it the instant in UTC
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        if key.startswith(prefix) and key[len(prefix) :].isdigit():
            tie = int(key[len(prefix) :])
            return and_(at <= moment, tuple_(at, number) < tuple_(moment, tie))
        # the cursor is another source's entry: at its time, this source's keys all sort
        # either before it or after it
        return at <= moment if prefix < key else at < moment


# (session, customer, viewer, window) -> the entries after the window's cursor
PagedSource = Callable[[Session, Customer, User | None, Window], list[TimelineEntry]]


@dataclass(frozen=True)
class _Registered:
    kind: str
    label: str
    source: Source | None
    resource: str | None
    paged: PagedSource | None = None
    channels: tuple[tuple[str, str], ...] = ()


_sources: dict[str, _Registered] = {}


def register(kind: str, label: str, source: Source, *, resource: str | None = None) -> None:
    """Add a domain's entries to every customer's timeline; ``label`` (marked with ``N_()``)
    names the kind in the timeline's filter. Entries of a ``resource`` (orders, contracts) are
    shown only to users whose role may read it."""
    _sources[kind] = _Registered(kind, label, source, resource)


def register_paged(
    kind: str,
    label: str,
    source: PagedSource,
    *,
    resource: str | None = None,
    channels: Sequence[tuple[str, str]] = (),
) -> None:
    """Like ``register``, for a source that pages itself by the cursor's time and key (see
    ``Window``). ``channels`` are the (value, label) pairs the source can filter on; when the
    timeline is filtered by a channel, only the sources declaring it are asked."""
    _sources[kind] = _Registered(kind, label, None, resource, source, tuple(channels))


def _shown_to(actor: User | None) -> list[_Registered]:
    extensions.load()
    return [
        r
        for r in _sources.values()
        if r.resource is None or (actor is not None and actor.can(r.resource, "read"))
    ]


def kinds(actor: User | None = None) -> list[tuple[str, str]]:
    """The kinds ``actor`` may see, with their labels, for the filter."""
    return [(r.kind, r.label) for r in _shown_to(actor)]


def channels(actor: User | None = None) -> list[tuple[str, str]]:
    """The channels the timeline can be filtered by for ``actor``, with their labels, in the
    order the sources declare them."""
    found: dict[str, str] = {}
    for registered in _shown_to(actor):
        for value, label in registered.channels:
            found.setdefault(value, label)
    return list(found.items())


def channels_of(kind: str) -> list[str]:
    """The channels a kind's source can filter on (none for an unknown kind)."""
    extensions.load()
    registered = _sources.get(kind)
    return [value for value, _ in registered.channels] if registered else []


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None


def encode_cursor(entry: TimelineEntry) -> str:
    return f"{entry.at.isoformat()}|{entry.key}"


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, key) a cursor names; None for no cursor or one this page never issued."""
    if not cursor or "|" not in cursor:
        return None
    at, _, key = cursor.partition("|")
    try:
        return datetime.fromisoformat(at), key
    except ValueError:
        return None


def stream(
    session: Session,
    customer: Customer,
    *,
    actor: User | None = None,
    kind: str | None = None,
    channel: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> TimelinePage:
    """A page of the customer's timeline as ``actor`` may see it, newest first, optionally of
    one kind and one channel only.

    Every source is asked for ``limit + 1`` entries after the cursor, so a page reads at most
    that many rows from each however long the customer's history is."""
    after = decode_cursor(cursor)
    before = after[0] if after else None
    chosen = [
        r
        for r in _shown_to(actor)
        if kind in (None, "", r.kind)
        and (not channel or any(value == channel for value, _ in r.channels))
    ]
    window = Window(after, limit + 1, channel or None)
    merged: list[TimelineEntry] = []
    maybe_more = False
    for registered in chosen:
        if registered.paged is not None:
            entries = registered.paged(session, customer, actor, window)
        elif registered.source is not None:
            entries = registered.source(session, customer, actor, before, limit + 1)
        else:
            continue
        # a source that filled its quota may hold older entries than those it answered
        maybe_more = maybe_more or len(entries) > limit
        merged.extend(entries)
    ordered = sorted(merged, key=lambda e: (e.at, e.key), reverse=True)
    if after is not None:
        ordered = [e for e in ordered if (e.at, e.key) < after]
    shown = ordered[:limit]
    more = len(ordered) > limit or maybe_more
    return TimelinePage(shown, encode_cursor(shown[-1]) if more and shown else None)


# ---------------------------------------------------------------- change history (audit log)

_AUDIT_TITLES = {
    "create": N_("Customer record created"),
    "demo.create": N_("Customer record created"),
    "update": N_("Customer record changed"),
    "delete": N_("Customer moved to the bin"),
    "merge": N_("Another record was merged into this one"),
    "erase": N_("Personal data erased"),
    "export.personal_data": N_("Personal data exported"),
}


def _audit_source(
    session: Session,
    customer: Customer,
    _actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    # the audit reader's "until" is exclusive; sources answer entries at or before ``before``
    until = before + timedelta(microseconds=1) if before is not None else None
    found: list[TimelineEntry] = []
    page_cursor = None
    while len(found) < limit:
        page = audit_service.list_entries(
            session=session,
            entity_type="customer",
            entity_id=str(customer.id),
            until=until,
            limit=limit,
            cursor=page_cursor,
        )
        # consent changes come from the consent ledger, with their source
        found.extend(
            _audit_entry(session, e) for e in page.items if not e.action.startswith("consent.")
        )
        if page.next_cursor is None:
            break
        page_cursor = page.next_cursor
    return found[:limit]


def _audit_entry(session: Session, entry: AuditEntry) -> TimelineEntry:
    changes: tuple[Change, ...] = ()
    detail, params = "", {}
    if entry.action == "update":
        readable = audit_service.readable_changes(session=session, entry=entry)
        changes = tuple(_changes(session, readable))
    elif entry.action == "merge" and entry.changes.get("fields_from_merged"):
        detail = N_("Values taken from the merged record: {fields}")
        params = {"fields": [FIELD_LABELS.get(f, f) for f in entry.changes["fields_from_merged"]]}
    return TimelineEntry(
        at=entry.occurred_at,
        kind="change",
        title=_AUDIT_TITLES.get(entry.action, entry.action),
        key=f"audit:{entry.id:012d}",
        detail=detail,
        actor=entry.actor_username,
        params=params,
        labels=frozenset(params),
        changes=changes,
    )


def _changes(session: Session, raw: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    definitions: dict[str, str] | None = None
    for name, change in raw.items():
        if name == "team_id" or not isinstance(change, dict):
            continue  # the team follows the owner; the owner's change says it
        before, after = change.get("before"), change.get("after")
        if name == "custom_fields":
            if definitions is None:
                definitions = {
                    d.key: d.label
                    for d in custom_fields.definitions(session, "customer", active_only=False)
                }
            changes.extend(_custom_field_changes(definitions, before, after))
            continue
        label = FIELD_LABELS.get(name, name)
        if name == "owner_id":
            changes.append(Change(label, _user(session, before), _user(session, after)))
        elif name in CHOICE_LABELS:
            changes.append(
                Change(label, choice_label(name, before), choice_label(name, after), True)
            )
        else:
            changes.append(Change(label, _text(before), _text(after)))
    return changes


def _custom_field_changes(labels: dict[str, str], before: Any, after: Any) -> list[Change]:
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    return [
        Change(labels.get(key, key), _text(old.get(key)), _text(new.get(key)))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _user(session: Session, user_id: Any) -> str:
    if user_id is None:
        return ""
    try:
        return auth_service.get_user(session=session, user_id=int(user_id)).label
    except (NotFound, ValueError, TypeError):
        return str(user_id)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# ---------------------------------------------------------------- contacts (audit log)

_CONTACT_TITLES = {
    "create": N_("Contact {name} added"),
    "update": N_("Contact {name} changed"),
    "delete": N_("Contact {name} removed"),
}


def _contacts_source(
    session: Session,
    customer: Customer,
    _actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    """Changes to the organisation's contacts, so whoever reads the 360 page sees who joined,
    changed role or left. Contacts are few, so their ids go into one query."""
    names, present = {}, set()
    for contact_id, name, deleted_at in session.execute(
        select(Contact.id, Contact.name, Contact.deleted_at).where(
            Contact.organisation_id == customer.id
        )
    ):
        names[str(contact_id)] = name
        if deleted_at is None:
            present.add(str(contact_id))
    if not names:
        return []
    until = before + timedelta(microseconds=1) if before is not None else None
    page = audit_service.list_entries(
        session=session, entity_type="contact", entity_ids=list(names), until=until, limit=limit
    )
    entries = []
    for entry in page.items:
        if entry.action not in _CONTACT_TITLES:
            continue
        changes: tuple[Change, ...] = ()
        if entry.action == "update":
            readable = audit_service.readable_changes(session=session, entry=entry)
            changes = tuple(_contact_changes(readable))
        entries.append(
            TimelineEntry(
                at=entry.occurred_at,
                kind="contact",
                title=_CONTACT_TITLES[entry.action],
                key=f"audit:{entry.id:012d}",
                actor=entry.actor_username,
                link=f"/contacts/{entry.entity_id}/edit" if entry.entity_id in present else None,
                params={"name": names[entry.entity_id]},
                changes=changes,
            )
        )
    return entries


def _contact_changes(raw: dict[str, Any]) -> list[Change]:
    changes = []
    for name, change in raw.items():
        if name not in CONTACT_FIELD_LABELS or not isinstance(change, dict):
            continue
        before, after = change.get("before"), change.get("after")
        label = CONTACT_FIELD_LABELS[name]
        if name == "purchase_role":
            changes.append(
                Change(label, choice_label(name, before), choice_label(name, after), True)
            )
        else:
            changes.append(Change(label, _text(before), _text(after)))
    return changes


# ---------------------------------------------------------------- consent ledger


def _consent_source(
    session: Session,
    customer: Customer,
    _actor: User | None,
    before: datetime | None,
    limit: int,
) -> list[TimelineEntry]:
    # a customer's ledger is short (a few purposes, changed now and then): read it whole
    events = consent.history(session=session, customer_id=customer.id)
    entries = [
        TimelineEntry(
            at=e.recorded_at,
            kind="consent",
            title=N_("Consent granted: {purpose}")
            if e.granted
            else N_("Consent withdrawn: {purpose}"),
            key=f"consent:{e.id:012d}",
            detail=N_("Source: {source}"),
            actor=e.recorded_by_name,
            params={
                "purpose": choice_label("consent_purpose", e.purpose),
                "source": CONSENT_SOURCES.get(e.source, e.source),
            },
            labels=frozenset({"purpose", "source"}),
        )
        for e in events
        if before is None or e.recorded_at <= before
    ]
    return entries[:limit]


register("change", N_("Changes"), _audit_source)
register("consent", N_("Consent"), _consent_source)
register("contact", N_("Contacts"), _contacts_source)
