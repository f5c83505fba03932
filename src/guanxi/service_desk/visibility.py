"""Who sees which tickets: the one place that decides it.

- A user whose role reaches every record and who works in no queue (an administrator, an
  analyst) sees every ticket.
- A member or the manager of a queue sees that queue's tickets; service agents, whose role
  reaches all customers, see only their queues' work, not the whole service desk.
- The assignee and the creator see their tickets.
- A user whose role reaches their own or their team's records sees the tickets of the customers
  they see (owner, shared with them, their team's): a sales rep follows their customers' issues.

Everyone else is told "not found", never "forbidden", so a ticket's id does not leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, false, or_, select

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers.models import Customer
from guanxi.service_desk.models import QueueMember, ServiceQueue, Ticket


def in_queues_of(actor: User) -> ColumnElement[bool]:
    """Tickets in a queue ``actor`` works in or manages."""
    member = select(QueueMember.queue_id).where(QueueMember.user_id == actor.id)
    managed = select(ServiceQueue.id).where(ServiceQueue.manager_id == actor.id)
    return or_(Ticket.queue_id.in_(member), Ticket.queue_id.in_(managed))


def ticket_clause(actor: User) -> ColumnElement[bool] | None:
    """The WHERE condition for the tickets ``actor`` may see; None means every ticket."""
    if not actor.is_active or actor.id is None:
        return false()
    in_a_queue = exists().where(QueueMember.user_id == actor.id)
    conditions: list[ColumnElement[bool]] = [
        in_queues_of(actor),
        Ticket.assignee_id == actor.id,
        Ticket.created_by_id == actor.id,
    ]
    if actor.role.record_scope == "all":
        # decided in SQL, so a list stays one query: everything unless the user works a queue
        conditions.append(~in_a_queue)
    else:
        customers = restrict(select(Customer.id), Customer, actor)
        conditions.append(Ticket.customer_id.in_(customers))
    return or_(*conditions)


def visible_tickets(actor: User) -> Select[Ticket]:
    """A select of the tickets ``actor`` may see (lists, counts, the 360 page and timeline)."""
    stmt = select(Ticket)
    clause = ticket_clause(actor)
    return stmt if clause is None else stmt.where(clause)
