"""The condition for tickets a search names: a ticket number, or a fragment of the subject
looked up through the subject's term index (``subject_terms``), never by scanning every
subject. The queue page (``worklists``) and the ticket API (``service.list_tickets``) both use
it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    column,
    false,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from guanxi.service_desk import subject_terms
from guanxi.service_desk.models import Ticket


def ticket_number(q: str) -> int | None:
    """The ticket id a search names (``123`` or ``#123``), if it is one."""
    text = q.strip().removeprefix("#")
    return int(text) if text.isdigit() and len(text) <= 18 else None


def subject_matches(session: Session, q: str) -> ColumnElement[bool]:
    """Tickets a search names: ``#123`` by its id; anything else by the subject's index terms
    (``subject_terms``), never by scanning every subject; bare digits (``123``) find ticket
    #123 as well as subjects that hold them (a model number)."""
    number = ticket_number(q)
    if number is not None and q.strip().startswith("#"):
        return Ticket.id == number
    wanted, exact = subject_terms.query_terms(q)
    if not wanted:
        return false()  # nothing indexable (punctuation only)
    clause: ColumnElement[bool]
    if session.get_bind().dialect.name == "postgresql":
        clause = Ticket.search_grams.op("@>")(bindparam(None, wanted, type_=ARRAY(Text())))
    else:
        match = fts_match(wanted)
        clause = Ticket.id.in_(
            select(text("rowid"))
            .select_from(text("ticket_grams"))
            .where(text("ticket_grams MATCH :ticket_terms").bindparams(ticket_terms=match))
        )
    if not exact:
        clause = and_(clause, subject_holds(q))
    return clause if number is None else or_(Ticket.id == number, clause)


def subject_holds(q: str) -> ColumnElement[bool]:
    # pairs or runs of three may lie apart: the subject itself decides, on the rows found
    escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Ticket.subject.ilike(f"%{escaped}%", escape="\\")


def driven_by_terms(
    session: Session, stmt: Select[Any], q: str
) -> tuple[Select[Any], ColumnElement[int]] | None:
    """On SQLite, ``stmt`` narrowed to a subject fragment by joining the FTS5 table, and the
    table's row id to order by, newest first: read in the index's own row order it stops at a
    page, where ``id IN (matches)`` would collect every match of a common word (漏水: one
    ticket in eight) and sort them. None where that does not apply (PostgreSQL, whose planner
    weighs the GIN index itself; a ticket number; nothing indexable)."""
    if session.get_bind().dialect.name != "sqlite" or ticket_number(q) is not None:
        return None
    wanted, exact = subject_terms.query_terms(q)
    if not wanted:
        return None
    grams = table("ticket_grams", column("rowid", BigInteger))
    driven = stmt.join(grams, grams.c.rowid == Ticket.id).where(
        text("ticket_grams MATCH :ticket_terms").bindparams(ticket_terms=fts_match(wanted))
    )
    if not exact:
        driven = driven.where(subject_holds(q))
    return driven, grams.c.rowid


def fts_match(wanted: list[str]) -> str:
    """An FTS5 query that every term in ``wanted`` must match (each a quoted phrase)."""
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in wanted)
