"""The service queue page's question: which tickets, in which order, a page at a time.

Views: the actor's own tickets, their queues' tickets, unassigned tickets, and every ticket
they may see; narrowed by status, queue, priority, kind, due soon or breached, and a subject
fragment or a ticket number. Ordered by the resolution due time (soonest first, tickets
without one last) or newest first, with keyset pages, so the millionth ticket costs what the
first does: the filters and orders match the indexes on ``tickets``. Visibility is the ticket
service's (``visibility``); this module only narrows what it allows.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.db import utcnow
from guanxi.errors import N_, InvalidInput
from guanxi.pagination import Page
from guanxi.service_desk import visibility
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
    return QueueFilter(
        view=one("view") if one("view") in VIEWS else "mine",
        status=status if status in (*STATUSES, "open", "any") else "open",
        queue_id=int(queue) if queue.isdigit() else None,
        priority=one("priority") if one("priority") in PRIORITIES else "",
        kind=one("kind") if one("kind") in KINDS else "",
        due=one("due") if one("due") in DUE_FILTERS else "",
        q=one("q")[:MAX_QUERY],
        sort=one("sort") if one("sort") in SORTS else "due",
    )


def ticket_number(q: str) -> int | None:
    """The ticket id a search names (``123`` or ``#123``), if it is one."""
    text = q.strip().removeprefix("#")
    return int(text) if text.isdigit() and len(text) <= 18 else None


def _conditions(
    session: Session, actor: User, spec: QueueFilter, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Ticket.merged_into_id.is_(None)]
    if spec.view == "mine":
        conditions.append(Ticket.assignee_id == actor.id)
    elif spec.view == "queues":
        conditions.append(Ticket.queue_id.in_(visibility.queue_ids(session, actor)))
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
    elif spec.due == "soon":
        conditions.append(
            or_(
                Ticket.resolution_due.between(now, now + SOON),
                and_(unanswered, Ticket.first_response_due.between(now, now + SOON)),
            )
        )
    return conditions


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    # a number names a ticket: found by its key, not by scanning every subject for digits
    number = ticket_number(q)
    if number is not None:
        return stmt.where(Ticket.id == number)
    escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return stmt.where(Ticket.subject.ilike(f"%{escaped}%", escape="\\"))


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
    else:
        stmt = visibility.visible_tickets(actor, session)
    stmt = stmt.where(*_conditions(session, actor, spec, now))
    if spec.q:
        stmt = _search(stmt, spec.q)
    if spec.sort == "newest":
        return _newest_first(session, stmt, limit, cursor)
    return _soonest_due_first(session, stmt, limit, cursor)


def _newest_first(
    session: Session, stmt: Select[Any], limit: int, cursor: str | None
) -> Page[Ticket]:
    if cursor:
        after, _ = _decode(cursor)
        stmt = stmt.where(Ticket.id < after)
    rows = list(session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _encode(rows[-1].id, None) if more and rows else None)


def _soonest_due_first(
    session: Session, stmt: Select[Any], limit: int, cursor: str | None
) -> Page[Ticket]:
    """Ordered by resolution due time, then id; tickets without a due time (a paused clock)
    come last. The keyset condition spells the NULLs out, which a plain tuple comparison would
    lose."""
    due = Ticket.resolution_due
    if cursor:
        after, key = _decode(cursor)
        if key is None:
            stmt = stmt.where(due.is_(None), Ticket.id > after)
        else:
            stmt = stmt.where(or_(due > key, and_(due == key, Ticket.id > after), due.is_(None)))
    stmt = stmt.order_by(due.asc().nulls_last(), Ticket.id.asc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return Page(rows, None)
    return Page(rows, _encode(rows[-1].id, rows[-1].resolution_due))


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
