"""Web behaviour events (网页浏览): page and product views from the shop, their browsing sessions,
and linking anonymous visitors to customers once they log in.

Events are behaviour data, written in bulk: a batch of thousands is checked as a whole and
written with one multi-row insert (``guanxi.bulk.insert_many``: multi-row VALUES on SQLite,
COPY on PostgreSQL), or not at all. Who the visitor is comes from a trusted caller (an API token
naming the customer) or from an earlier login (``VisitorLink``); ``identify`` records such a
login and gives the visitor's earlier anonymous events to the customer. ``purge`` removes events
older than the retention, a chunk at a time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, delete, false, func, select, update
from sqlalchemy.orm import Session

from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.bulk import insert_many
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.errors import N_, FieldError, InvalidInput, NotFound, PermissionDenied
from guanxi.interactions.events.schemas import EventIn
from guanxi.interactions.models import EVENT_KINDS, VisitorLink, WebEvent
from guanxi.pagination import DEFAULT_LIMIT, Page, paginate_sorted

# a browser clock may run a little fast; an event later than this is refused
FUTURE_SLACK = timedelta(days=1)
# a refused batch names at most this many wrong fields
MAX_ERRORS = 50
# ids per lookup of a batch's visitors and customers
_LOOKUP_CHUNK = 5000
_TABLE: Any = WebEvent.__table__


def write_first(session: Session) -> None:
    """On SQLite, make this transaction the writer before it reads anything.

    SQLite has one writer, and a transaction that has read cannot become the writer once another
    one has committed since (SQLITE_BUSY_SNAPSHOT, returned at once, a 503): with the snippet's
    batches arriving side by side that is the common case. A write as the transaction's first
    statement instead waits its turn for the lock (busy timeout). An UPDATE that matches no row
    is such a write. The caller must not have read in this transaction yet (the routes end the
    sign-in's transaction first). PostgreSQL needs none of this.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(VisitorLink)
            .where(false())
            .values(visitor_id=VisitorLink.visitor_id)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class Ingested:
    accepted: int
    linked: int


def ingest(session: Session, *, events: Sequence[EventIn], actor: User | None) -> Ingested:
    """Store a batch of events, all or none.

    ``actor`` is the API token's user, who may say which customer an event belongs to
    (``customer_id`` or the shop's ``customer_external_id``) among the customers they may see;
    None is the browser snippet with the public ingest key, which may not. Other events belong
    to the customer their visitor was linked to by ``identify``, if any. Raises InvalidInput
    naming ``events[i].field`` for a wrong event and PermissionDenied for a browser naming a
    customer; nothing is written then.
    """
    now = utcnow()
    latest = now + FUTURE_SLACK
    errors: list[FieldError] = []
    rows: list[dict[str, Any]] = []
    by_id: dict[int, list[int]] = {}
    by_external: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        occurred_at = event["occurred_at"]
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        if occurred_at > latest:
            errors.append(FieldError(f"events[{index}].occurred_at", N_("Lies in the future.")))
        url = event.get("url") or ""
        product_id = event.get("product_id")
        product_sku = event.get("product_sku") or ""
        if event["kind"] == "page_view":
            if not url:
                errors.append(FieldError(f"events[{index}].url", N_("A page view needs its URL.")))
        elif product_id is None and not product_sku:
            errors.append(
                FieldError(
                    f"events[{index}].product_id",
                    N_("A product view needs the product's id or SKU."),
                )
            )
        customer_id = event.get("customer_id")
        external_id = event.get("customer_external_id")
        if customer_id is not None:
            by_id.setdefault(customer_id, []).append(index)
        elif external_id is not None:
            by_external.setdefault(external_id, []).append(index)
        rows.append(
            {
                "kind": event["kind"],
                "occurred_at": occurred_at,
                "visitor_id": event["visitor_id"],
                "session_id": event["session_id"],
                "customer_id": customer_id,
                "url": url,
                "title": event.get("title") or "",
                "referrer": event.get("referrer") or "",
                "product_id": product_id,
                "product_sku": product_sku,
                "dwell_seconds": event.get("dwell_seconds"),
            }
        )
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise InvalidInput(
            N_("The batch has events with missing or wrong fields; nothing was stored."),
            errors=errors,
        )
    if (by_id or by_external) and actor is None:
        first = min(i for indexes in (*by_id.values(), *by_external.values()) for i in indexes)
        raise PermissionDenied(
            N_("Only a caller with an API token may say which customer an event belongs to."),
            errors=[
                FieldError(f"events[{first}].customer_id", N_("Not allowed with the ingest key."))
            ],
        )
    write_first(session)
    if actor is not None:
        _resolve_customers(session, actor=actor, rows=rows, by_id=by_id, by_external=by_external)
    _apply_visitor_links(session, rows)
    insert_many(session.connection(), _TABLE, rows)
    if rows:
        _audit_batch(session, rows, actor)
    linked = sum(1 for row in rows if row["customer_id"] is not None)
    return Ingested(accepted=len(rows), linked=linked)


def _audit_batch(session: Session, rows: list[dict[str, Any]], actor: User | None) -> None:
    tracking.record(
        session,
        "web_events.ingest",
        "web_event_batch",
        uuid.uuid4().hex,
        {
            "accepted": len(rows),
            "via": "token" if actor is not None else "ingest_key",
            "from": min(row["occurred_at"] for row in rows),
            "to": max(row["occurred_at"] for row in rows),
        },
    )


def _resolve_customers(
    session: Session,
    *,
    actor: User,
    rows: list[dict[str, Any]],
    by_id: dict[int, list[int]],
    by_external: dict[str, list[int]],
) -> None:
    """Check the customers a trusted caller named exist and are theirs to see; an external id
    becomes the customer's id. A customer the caller may not see is as unknown as a missing one."""
    errors: list[FieldError] = []
    known: set[int] = set()
    ids = list(by_id)
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        known.update(
            customer_service.visible_ids(
                session=session, actor=actor, customer_ids=ids[start : start + _LOOKUP_CHUNK]
            )
        )
    for customer_id, indexes in by_id.items():
        if customer_id not in known:
            errors.append(FieldError(f"events[{indexes[0]}].customer_id", N_("No such customer.")))
    externals = list(by_external)
    found: dict[str, int] = {}
    for start in range(0, len(externals), _LOOKUP_CHUNK):
        chunk = externals[start : start + _LOOKUP_CHUNK]
        stmt = select(Customer.external_id, Customer.id).where(
            Customer.external_id.in_(chunk),
            Customer.deleted_at.is_(None),
            Customer.merged_into_id.is_(None),
        )
        found.update(
            (str(ext), cid) for ext, cid in session.execute(restrict(stmt, Customer, actor))
        )
    for external_id, indexes in by_external.items():
        resolved = found.get(external_id)
        if resolved is None:
            errors.append(
                FieldError(f"events[{indexes[0]}].customer_external_id", N_("No such customer."))
            )
            continue
        for index in indexes:
            rows[index]["customer_id"] = resolved
    if errors:
        raise InvalidInput(
            N_("The batch names customers that are not known; nothing was stored."),
            errors=errors[:MAX_ERRORS],
        )


def _apply_visitor_links(session: Session, rows: list[dict[str, Any]]) -> None:
    """Give events of linked visitors to their customer, one lookup per few thousand visitors."""
    visitors = list({row["visitor_id"] for row in rows if row["customer_id"] is None})
    links: dict[str, int] = {}
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(visitors), _LOOKUP_CHUNK):
        chunk = visitors[start : start + _LOOKUP_CHUNK]
        # thousands of ids go as one parameter, an array on PostgreSQL (= ANY) and JSON text
        # on SQLite (json_each): IN (...) would make a statement of thousands of placeholders
        # that costs more to build than to run
        if on_postgresql:
            wanted = VisitorLink.visitor_id == any_(
                bindparam("visitors", chunk, type_=ARRAY(String))
            )
        else:
            listed = func.json_each(json.dumps(chunk)).table_valued("value")
            wanted = VisitorLink.visitor_id.in_(select(listed.c.value))
        found = session.execute(
            select(VisitorLink.visitor_id, VisitorLink.customer_id).where(wanted)
        )
        links.update((visitor_id, customer_id) for visitor_id, customer_id in found)
    if not links:
        return
    for row in rows:
        if row["customer_id"] is None:
            row["customer_id"] = links.get(row["visitor_id"])


@dataclass(frozen=True)
class Identified:
    visitor_id: str
    customer_id: int
    linked_events: int


def identify(
    session: Session,
    *,
    actor: User,
    visitor_id: str,
    customer_id: int | None = None,
    customer_external_id: str | None = None,
) -> Identified:
    """The visitor has logged in as this customer: link them, and give the customer the
    visitor's earlier anonymous events (one UPDATE). Events already given to somebody else stay
    theirs (a shared computer). A later login as another customer moves the link, so new events
    go to whoever logged in last. The customer must be one the actor may see (else NotFound).

    A batch being ingested while the link is written may still store that visitor's events
    anonymously; the visitor's next login gives them to the customer.
    """
    write_first(session)
    customer = _customer(
        session, actor=actor, customer_id=customer_id, customer_external_id=customer_external_id
    )
    link = session.get(VisitorLink, visitor_id)
    if link is None:
        session.add(VisitorLink(visitor_id=visitor_id, customer_id=customer.id))
    elif link.customer_id != customer.id:
        link.customer_id = customer.id
        link.linked_at = utcnow()
    session.flush()
    result: Any = session.execute(
        update(WebEvent)
        .where(WebEvent.visitor_id == visitor_id, WebEvent.customer_id.is_(None))
        .values(customer_id=customer.id)
        .execution_options(synchronize_session=False)
    )
    linked_events = int(result.rowcount or 0)
    tracking.record(
        session,
        "web_events.identify",
        "customer",
        customer.id,
        {"visitor_id": visitor_id, "linked_events": linked_events},
    )
    return Identified(visitor_id, customer.id, linked_events)


def _customer(
    session: Session, *, actor: User, customer_id: int | None, customer_external_id: str | None
) -> Customer:
    if customer_id is not None:
        return customer_service.get(session=session, actor=actor, customer_id=customer_id)
    if not customer_external_id:
        raise InvalidInput(
            N_("Say which customer the visitor is."),
            errors=[FieldError("customer_id", N_("Give customer_id or customer_external_id."))],
        )
    stmt = select(Customer).where(
        Customer.external_id == customer_external_id,
        Customer.deleted_at.is_(None),
        Customer.merged_into_id.is_(None),
    )
    found = session.scalars(restrict(stmt, Customer, actor)).one_or_none()
    if found is None:
        raise NotFound(
            N_("No customer has the external id {external_id}."), external_id=customer_external_id
        )
    return found


def list_events(
    session: Session,
    *,
    actor: User,
    customer_id: int,
    kind: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[WebEvent]:
    """The events of a customer the actor may see (else NotFound), newest first."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    stmt = select(WebEvent).where(WebEvent.customer_id == customer.id)
    if kind is not None:
        if kind not in EVENT_KINDS:
            raise InvalidInput(
                N_("Unknown kind of event."),
                errors=[FieldError("kind", N_("Must be page_view or product_view."))],
            )
        stmt = stmt.where(WebEvent.kind == kind)
    return paginate_sorted(
        session,
        stmt,
        WebEvent.occurred_at,
        WebEvent.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )


def purge_chunk(session: Session, *, older_than: datetime, chunk_size: int = 10_000) -> int:
    """Delete up to ``chunk_size`` events that happened before ``older_than``; how many went.
    Small chunks keep each transaction (and PostgreSQL's locks and WAL) short; the job commits
    between them."""
    oldest = (
        select(WebEvent.id)
        .where(WebEvent.occurred_at < older_than)
        .order_by(WebEvent.occurred_at)
        .limit(chunk_size)
    )
    result: Any = session.execute(
        delete(WebEvent)
        .where(WebEvent.id.in_(oldest.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Overview:
    events: int
    linked_visitors: int
    oldest_event_at: datetime | None


def overview(session: Session) -> Overview:
    """What the store holds, for the admin page."""
    return Overview(
        events=int(session.scalar(select(func.count()).select_from(WebEvent)) or 0),
        linked_visitors=int(session.scalar(select(func.count()).select_from(VisitorLink)) or 0),
        oldest_event_at=session.scalar(select(func.min(WebEvent.occurred_at))),
    )


@dataclass(frozen=True)
class BrowsingSession:
    """One browser session of a customer on the shop: when it began and ended (its last event
    plus that event's dwell time), how many pages and products were viewed, the time spent, the
    page it started on and the products seen (in the order first seen)."""

    session_id: str
    started_at: datetime
    ended_at: datetime
    page_views: int
    product_views: int
    dwell_seconds: int
    first_url: str
    product_ids: tuple[int, ...]


def sessions_for_customer(
    session: Session, *, customer_id: int, before: datetime | None, limit: int
) -> list[BrowsingSession]:
    """The customer's browsing sessions that started at or before ``before`` (all when None),
    newest first, at most ``limit``.

    Two queries: the newest sessions' ids from the customer's events up to ``before`` (a
    session that started by then has its first event among them, so the earliest time found is
    its start), then every event of those sessions, summed up here.
    """
    if limit <= 0:
        return []
    started = func.min(WebEvent.occurred_at)
    newest = (
        select(WebEvent.session_id, started)
        .where(WebEvent.customer_id == customer_id)
        .group_by(WebEvent.session_id)
        .order_by(started.desc(), WebEvent.session_id.desc())
        .limit(limit)
    )
    if before is not None:
        newest = newest.where(WebEvent.occurred_at <= before)
    session_ids = [row[0] for row in session.execute(newest)]
    if not session_ids:
        return []
    rows = session.execute(
        select(
            WebEvent.session_id,
            WebEvent.kind,
            WebEvent.occurred_at,
            WebEvent.url,
            WebEvent.product_id,
            WebEvent.dwell_seconds,
        )
        .where(WebEvent.customer_id == customer_id, WebEvent.session_id.in_(session_ids))
        .order_by(WebEvent.occurred_at, WebEvent.id)
    )
    builders: dict[str, _SessionBuilder] = {}
    for session_id, kind, occurred_at, url, product_id, dwell in rows:
        builder = builders.get(session_id)
        if builder is None:
            builder = builders[session_id] = _SessionBuilder(session_id, occurred_at)
        builder.add(kind, occurred_at, url, product_id, dwell)
    summaries = [builders[sid].build() for sid in session_ids if sid in builders]
    return sorted(summaries, key=lambda s: (s.started_at, s.session_id), reverse=True)


class _SessionBuilder:
    """Sums one session's events, read in time order."""

    def __init__(self, session_id: str, started_at: datetime) -> None:
        self.session_id = session_id
        self.started_at = started_at
        self.ended_at = started_at
        self.page_views = 0
        self.product_views = 0
        self.dwell_seconds = 0
        self.first_url = ""
        self.product_ids: dict[int, None] = {}

    def add(
        self,
        kind: str,
        occurred_at: datetime,
        url: str,
        product_id: int | None,
        dwell: int | None,
    ) -> None:
        # a page viewed for two minutes keeps the session going for those two minutes
        ended = occurred_at + timedelta(seconds=dwell) if dwell else occurred_at
        self.ended_at = max(self.ended_at, ended)
        if kind == "page_view":
            self.page_views += 1
        else:
            self.product_views += 1
        if not self.first_url and url:
            self.first_url = url
        if product_id is not None:
            self.product_ids.setdefault(product_id, None)
        if dwell:
            self.dwell_seconds += dwell

    def build(self) -> BrowsingSession:
        return BrowsingSession(
            session_id=self.session_id,
            started_at=self.started_at,
            ended_at=self.ended_at,
            page_views=self.page_views,
            product_views=self.product_views,
            dwell_seconds=self.dwell_seconds,
            first_url=self.first_url,
            product_ids=tuple(self.product_ids),
        )
