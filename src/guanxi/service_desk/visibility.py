"""Who sees which tickets: the one place that decides it.

- A user whose role reaches every record and who works in no queue (an administrator, an
  analyst) sees every ticket.
- A member or the manager of a queue sees that queue's tickets; service agents, whose role
  reaches all customers, see only their queues' work, not the whole service desk.
- The assignee and the creator see their tickets.
- A user whose role reaches their own or their team's records sees the tickets of the customers
  they see (owner, shared with them, their team's): a sales rep follows their customers' issues.

Everyone else is told "not found", never "forbidden", so a ticket's id does not leak.

Given a session, the cheap facts (the actor's queues, whether they work one) are read first
with one small query, so the condition holds constants (``queue_id IN (1, 4)``) a planner can
walk an index with, and a scope-all user in no queue gets no condition at all; without one,
the same rule is spelled as subqueries.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, false, literal, or_, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers.models import Customer
from guanxi.service_desk.models import QueueMember, ServiceQueue, Ticket


def in_queues_of(actor: User) -> ColumnElement[bool]:
    """Tickets in a queue ``actor`` works in or manages."""
    member = select(QueueMember.queue_id).where(QueueMember.user_id == actor.id)
    managed = select(ServiceQueue.id).where(ServiceQueue.manager_id == actor.id)
    return or_(Ticket.queue_id.in_(member), Ticket.queue_id.in_(managed))


@dataclass(frozen=True)
class QueueWork:
    """The queues a user manages or is a member of, read once."""

    member_of: frozenset[int]
    managed: frozenset[int]

    @property
    def queue_ids(self) -> list[int]:
        return sorted(self.member_of | self.managed)


def queue_work(session: Session, actor: User) -> QueueWork:
    """The queues ``actor`` works in (as a member) or manages, in one small query."""
    rows = session.execute(
        select(QueueMember.queue_id, literal(True))
        .where(QueueMember.user_id == actor.id)
        .union_all(
            select(ServiceQueue.id, literal(False)).where(ServiceQueue.manager_id == actor.id)
        )
    ).all()
    return QueueWork(
        member_of=frozenset(queue_id for queue_id, member in rows if member),
        managed=frozenset(queue_id for queue_id, member in rows if not member),
    )


def queue_ids(session: Session, actor: User) -> list[int]:
    """The ids of the queues ``actor`` works in or manages (``in_queues_of`` read as constants)."""
    return queue_work(session, actor).queue_ids


def ticket_clause(actor: User, session: Session | None = None) -> ColumnElement[bool] | None:
    """The WHERE condition for the tickets ``actor`` may see; None means every ticket.

    With ``session`` the actor's queues are read first and written into the condition as ids."""
    if not actor.is_active or actor.id is None:
        return false()
    work = queue_work(session, actor) if session is not None else None
    if work is not None and actor.role.record_scope == "all" and not work.member_of:
        # everything: a scope-all user who works no queue
        return None
    conditions: list[ColumnElement[bool]] = [
        Ticket.assignee_id == actor.id,
        Ticket.created_by_id == actor.id,
    ]
    if work is None:
        conditions.insert(0, in_queues_of(actor))
    elif work.queue_ids:
        conditions.insert(0, Ticket.queue_id.in_(work.queue_ids))
    if actor.role.record_scope == "all":
        if work is None:
            # decided in SQL, so a list stays one query: everything unless the user works a queue
            conditions.append(~exists().where(QueueMember.user_id == actor.id))
    else:
        customers = restrict(select(Customer.id), Customer, actor)
        conditions.append(Ticket.customer_id.in_(customers))
    return or_(*conditions)


def visible_tickets(actor: User, session: Session | None = None) -> Select[Ticket]:
    """A select of the tickets ``actor`` may see (lists, counts, the 360 page and timeline);
    ``session`` lets the actor's queues be read first (see the module's note)."""
    stmt = select(Ticket)
    clause = ticket_clause(actor, session)
    return stmt if clause is None else stmt.where(clause)
