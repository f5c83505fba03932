"""The service queue page's question: which tickets, in which order, a page at a time.

Views: the actor's own tickets, their queues' tickets, unassigned tickets, and every ticket
they may see; narrowed by status, queue, priority, kind, due soon or breached, and a subject
fragment or a ticket number. Ordered by the resolution due time (soonest first, tickets
without one last) or newest first, with keyset pages, so the millionth ticket costs what the
first does.

A list is read as a merge: each (queue or assignee, status) pair is one range of an index in
the list's order, read for at most a page of rows, and only those heads are sorted; a queue's
40,000 open tickets are never sorted to show 50. A search uses the subject's term index
(``subject_terms``) and lists newest first. Visibility is the ticket service's
(``visibility``); this module only narrows what it allows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.db import utcnow
from guanxi.errors import N_, InvalidInput
from guanxi.pagination import Page
from guanxi.service_desk import ticket_search, visibility
from guanxi.service_desk.models import (
    KINDS,
    OPEN_STATUSES,
    PRIORITIES,
    STATUSES,
    Ticket,
)

VIEWS: Final = ("mine", "queues", "unassigned", "all")
SORTS: Final = ("due", "newest")
DUE_FILTERS: Final = ("soon", "breached")
# "due soon": a target falls within this many hours (wall clock, as the agent reads it)
SOON: Final = timedelta(hours=4)
MAX_QUERY: Final = 100


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page lists; each field is a URL parameter of the page.

    ``status`` is a status, ``"open"`` (any open status, the default) or ``"any"``."""

    view: str = "mine"
    status: str = "open"
    queue_id: int | None = None
    priority: str = ""
    kind: str = ""
    due: str = ""
    q: str = ""
    sort: str = "due"


def filter_from_query(params: Any) -> QueueFilter:
    """A filter from the page's URL; values it does not know fall back to the default, so an
    edited link still opens a list."""

    def one(name: str) -> str:
        return str(params.get(name) or "").strip()

    queue = one("queue_id")
    status = one("status") or "open"
    # a search lists what it finds newest first unless an order is chosen: the ticket looked
    # for is most often a recent one, and its index reads in that order
    sort = one("sort") if one("sort") in SORTS else "newest" if one("q") else "due"
    return QueueFilter(
        view=one("view") if one("view") in VIEWS else "mine",
        status=status if status in (*STATUSES, "open", "any") else "open",
        queue_id=int(queue) if queue.isdigit() else None,
        priority=one("priority") if one("priority") in PRIORITIES else "",
        kind=one("kind") if one("kind") in KINDS else "",
        due=one("due") if one("due") in DUE_FILTERS else "",
        q=one("q")[:MAX_QUERY],
        sort=sort,
    )


def _conditions(
    actor: User, spec: QueueFilter, queue_ids: list[int], now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Ticket.merged_into_id.is_(None)]
    if spec.view == "mine":
        conditions.append(Ticket.assignee_id == actor.id)
    elif spec.view == "queues":
        conditions.append(Ticket.queue_id.in_(queue_ids))
    elif spec.view == "unassigned":
        conditions.append(Ticket.assignee_id.is_(None))
    if spec.status == "open":
        conditions.append(Ticket.status.in_(OPEN_STATUSES))
    elif spec.status != "any":
        conditions.append(Ticket.status == spec.status)
    if spec.queue_id is not None:
        conditions.append(Ticket.queue_id == spec.queue_id)
    if spec.priority:
        conditions.append(Ticket.priority == spec.priority)
    if spec.kind:
        conditions.append(Ticket.kind == spec.kind)
    unanswered = Ticket.first_responded_at.is_(None)
    if spec.due == "breached":
        conditions.append(
            or_(
                Ticket.resolution_due < now,
                and_(unanswered, Ticket.first_response_due < now),
            )
        )
    # "due soon" is read in two parts (_due_branches)
    return conditions


Branch = tuple[ColumnElement[bool], bool]


def _due_branches(spec: QueueFilter, now: datetime) -> list[Branch]:
    """The parts a list is read in, each (condition, read as merged streams). "Due soon" is
    two: the resolution due within the window, a range of the streams' own index; and the
    unanswered tickets whose first response falls due in it, a narrow range of the
    ``(status, first_response_due)`` index read in one query. As one OR, each stream would
    walk every ticket after the window looking for a first response due in it."""
    if spec.due != "soon":
        return [(true(), True)]
    resolution = Ticket.resolution_due.between(now, now + SOON)
    response = and_(
        Ticket.first_responded_at.is_(None),
        Ticket.first_response_due.between(now, now + SOON),
        or_(Ticket.resolution_due.is_(None), ~resolution),
    )
    return [(resolution, True), (response, False)]


def list_queue(
    *,
    session: Session,
    actor: User,
    spec: QueueFilter,
    limit: int = 50,
    cursor: str | None = None,
    now: datetime | None = None,
) -> Page[Ticket]:
    """A page of the tickets ``spec`` asks for among those ``actor`` may see."""
    now = now or utcnow()
    if spec.view in ("mine", "queues") and actor.is_active and actor.id is not None:
        # the assignee and a queue's members and manager see those tickets
        # (visibility.ticket_clause): the view already lies inside what the actor may see, and
        # without the visibility OR the planner walks the assignee or queue index
        stmt = select(Ticket)
        unrestricted = True
    else:
        clause = visibility.ticket_clause(actor, session)
        stmt = select(Ticket) if clause is None else select(Ticket).where(clause)
        unrestricted = clause is None
    # the actor's queues, read once for the view's condition and its streams
    queue_ids = visibility.queue_ids(session, actor) if spec.view == "queues" else []
    stmt = stmt.where(*_conditions(actor, spec, queue_ids, now))
    keys = _Keys(Ticket.id, Ticket.resolution_due)
    if spec.q:
        driven = (
            ticket_search.driven_by_terms(session, stmt, spec.q) if spec.sort == "newest" else None
        )
        if driven is not None:
            stmt, rowid = driven
            keys = _Keys(rowid, Ticket.resolution_due)
        else:
            stmt = stmt.where(ticket_search.subject_matches(session, spec.q))
    # a search is served by its own index, and one ticket number by its key: one query; any
    # other list is a merge of index walks, one per (queue or assignee, status)
    streams = None if spec.q else _streams(actor, spec, queue_ids, unrestricted)
    keyset = _decode(cursor) if cursor else None
    reader = _Reader(session, stmt, streams, _due_branches(spec, now), keys)
    if spec.sort == "newest":
        rows = _newest_first(reader, limit + 1, keyset)
    else:
        rows = _soonest_due_first(reader, limit + 1, keyset)
    more = len(rows) > limit
    tickets = _load(session, [ticket_id for ticket_id, _ in rows[:limit]])
    if not (more and tickets):
        return Page(tickets, None)
    last_id, last_due = rows[limit - 1]
    return Page(tickets, _encode(last_id, last_due if spec.sort == "due" else None))


@dataclass(frozen=True)
class _Keys:
    """The columns a list is ordered by: the ticket's own, or the term index's row id when the
    index drives the search (``ticket_search.driven_by_terms``)."""

    id: Any
    resolution_due: Any


MAX_STREAMS: Final = 64


def _streams(
    actor: User, spec: QueueFilter, queue_ids: list[int], unrestricted: bool
) -> list[ColumnElement[bool]] | None:
    """The list split into parts an index reads in order, each one (queue or assignee, status)
    pair; None when no index splits it (a rep's "all I can see": the planner chooses)."""
    if spec.status == "open":
        statuses: tuple[str, ...] = OPEN_STATUSES
    elif spec.status == "any":
        statuses = STATUSES
    else:
        statuses = (spec.status,)
    owners: list[ColumnElement[bool]]
    if spec.queue_id is not None:
        owners = [Ticket.queue_id == spec.queue_id]
    elif spec.view == "mine":
        owners = [Ticket.assignee_id == actor.id]
    elif spec.view == "queues":
        owners = [Ticket.queue_id == q for q in queue_ids]
    elif spec.view == "unassigned":
        owners = [Ticket.assignee_id.is_(None)]
    elif unrestricted:
        owners = [true()]  # everything: walked by (status, resolution_due)
    else:
        return None
    if not owners or len(owners) * len(statuses) > MAX_STREAMS:
        return None
    return [and_(owner, Ticket.status == status) for owner in owners for status in statuses]


def _order(columns: Any, by: str) -> list[ColumnElement[Any]]:
    """``by``: "newest" (id descending), "due" (resolution due, then id) or "id"."""
    if by == "newest":
        return [columns.id.desc()]
    if by == "due":
        return [columns.resolution_due.asc(), columns.id.asc()]
    return [columns.id.asc()]


@dataclass(frozen=True)
class _Reader:
    """What a list reads: the statement, its streams (None: one query) and its branches."""

    session: Session
    stmt: Select[Any]
    streams: list[ColumnElement[bool]] | None
    branches: list[Branch]
    keys: _Keys

    def read(
        self, where: list[ColumnElement[bool]], by: str, limit: int
    ) -> list[tuple[int, datetime | None]]:
        """(id, resolution due) of the first ``limit`` rows ordered ``by``, from every branch."""
        rows: list[tuple[int, datetime | None]] = []
        for condition, streamed in self.branches:
            stmt = self.stmt.where(condition)
            streams = self.streams if streamed else None
            rows += _merge(self.session, stmt, streams, self.keys, where, by, limit)
        if len(self.branches) > 1:
            rows.sort(key=_sort_key(by))
        return rows[:limit]


def _sort_key(by: str) -> Callable[[tuple[int, datetime | None]], tuple[Any, ...]]:
    """The Python order of ``_order(by)``, for merging the branches' rows."""
    if by == "newest":
        return lambda row: (-row[0],)
    if by == "due":
        return lambda row: (row[1], row[0])
    return lambda row: (row[0],)


def _merge(
    session: Session,
    stmt: Select[Any],
    streams: list[ColumnElement[bool]] | None,
    keys: _Keys,
    where: list[ColumnElement[bool]],
    by: str,
    limit: int,
) -> list[tuple[int, datetime | None]]:
    """(id, resolution due) of the first ``limit`` rows ordered ``by``: read from each stream
    in that order and merged, so no stream is read past ``limit`` rows and nothing is sorted
    but the streams' heads."""
    picked = stmt.with_only_columns(Ticket.id, Ticket.resolution_due).where(*where)
    if streams is None:
        rows = session.execute(picked.order_by(*_order(keys, by)).limit(limit))
        return [(row[0], row[1]) for row in rows]
    heads = [
        picked.where(stream).order_by(*_order(keys, by)).limit(limit).subquery()
        for stream in streams
    ]
    merged = union_all(*(select(head.c.id, head.c.resolution_due) for head in heads)).subquery()
    rows = session.execute(
        select(merged.c.id, merged.c.resolution_due).order_by(*_order(merged.c, by)).limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def _load(session: Session, ids: list[int]) -> list[Ticket]:
    """The tickets of ``ids``, in that order."""
    found = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _newest_first(
    reader: _Reader, limit: int, keyset: tuple[int, datetime | None] | None
) -> list[tuple[int, datetime | None]]:
    return reader.read([reader.keys.id < keyset[0]] if keyset else [], "newest", limit)


def _soonest_due_first(
    reader: _Reader, limit: int, keyset: tuple[int, datetime | None] | None
) -> list[tuple[int, datetime | None]]:
    """Ordered by resolution due time, then id; tickets without a due time (a paused clock)
    come last. Read in two passes, the dated tickets and then the undated ones, so each is one
    index range on either database (SQLite sorts NULLs first, PostgreSQL last); the keyset
    conditions keep the NULLs apart, which a plain tuple comparison would lose."""
    due = Ticket.resolution_due
    rows: list[tuple[int, datetime | None]] = []
    if keyset is None or keyset[1] is not None:
        dated: list[ColumnElement[bool]] = [due.is_not(None)]
        if keyset is not None:
            after, key = keyset
            # a row comparison: one seek into the (…, resolution_due, id) index on both stores,
            # where PostgreSQL turns the spelled-out OR into a scan of the whole stream
            dated.append(
                tuple_(due, Ticket.id)
                > tuple_(
                    bindparam(None, key, type_=due.type),
                    bindparam(None, after, type_=Ticket.id.type),
                )
            )
        rows = reader.read(dated, "due", limit)
    if len(rows) < limit:
        undated: list[ColumnElement[bool]] = [due.is_(None)]
        if keyset is not None and keyset[1] is None:
            undated.append(Ticket.id > keyset[0])
        rows += reader.read(undated, "id", limit - len(rows))
    return rows


def _encode(after: int, key: datetime | None) -> str:
    payload = {"after": after, "key": key.isoformat() if key else None}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, datetime | None]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, key = data["after"], data["key"]
        moment = datetime.fromisoformat(key) if key is not None else None
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput(N_("The cursor is not one this server issued.")) from exc
    if not isinstance(after, int):
        raise InvalidInput(N_("The cursor is not one this server issued."))
    return after, moment


def is_overdue(moment: datetime | None, now: datetime) -> bool:
    """Whether a due time has passed (pages highlight it)."""
    return moment is not None and moment < now
