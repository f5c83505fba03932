"""The SLA report: the share of first-response and resolution targets met, by team, queue,
priority, kind and value tier, over the tickets resolved in a period that the reader may see
(``service_desk.visibility``).

A target counts when the ticket had one (a policy applied). It is met when it was done at or
before its due time (``sla.met``): the first response by the first reply, or by the resolution
when the ticket was resolved without one; the resolution by ``resolved_at``. Due times already
carry the pauses while the ticket waited on the customer. A ticket's team is its queue's team,
else its assignee's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from guanxi.auth.models import Team, User
from guanxi.service_desk.models import ServiceQueue, Ticket
from guanxi.service_desk.satisfaction import Period
from guanxi.service_desk.visibility import ticket_clause

DIMENSIONS: Final = ("team", "queue", "priority", "kind", "tier")
NONE_KEY = ""  # tickets without a team, queue or tier


@dataclass(frozen=True)
class Share:
    """How many of a group's targets were met, of those that had one."""

    met: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.total, 1) if self.total else None


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    tickets: int
    response: Share
    resolution: Share


@dataclass(frozen=True)
class SlaReport:
    tickets: int
    response: Share
    resolution: Share
    by: dict[str, list[Row]]

    def as_json(self) -> dict[str, Any]:
        def share(s: Share) -> dict[str, Any]:
            return {"met": s.met, "total": s.total, "percent": s.percent}

        return {
            "tickets": self.tickets,
            "first_response": share(self.response),
            "resolution": share(self.resolution),
            "by": {
                name: [
                    {
                        "key": row.key,
                        "label": row.label,
                        "tickets": row.tickets,
                        "first_response": share(row.response),
                        "resolution": share(row.resolution),
                    }
                    for row in rows
                ]
                for name, rows in self.by.items()
            },
        }


def report(session: Session, *, actor: User, period: Period) -> SlaReport:
    """Shares met over the tickets resolved in ``period`` that ``actor`` may see."""
    queue = aliased(ServiceQueue)
    assignee = aliased(User)
    team = aliased(Team)
    team_id = func.coalesce(queue.team_id, assignee.team_id)
    keys: dict[str, Any] = {
        "team": team_id,
        "queue": Ticket.queue_id,
        "priority": Ticket.priority,
        "kind": Ticket.kind,
        "tier": Ticket.tier,
    }
    labels: dict[str, Any] = {
        "team": team.name,
        "queue": queue.name,
        "priority": Ticket.priority,
        "kind": Ticket.kind,
        "tier": Ticket.tier,
    }
    # the moment the first response counts as given: the first reply, else the resolution
    responded = func.coalesce(Ticket.first_responded_at, Ticket.resolved_at)
    response_has = Ticket.first_response_due.is_not(None)
    resolution_has = Ticket.resolution_due.is_not(None)
    figures = [
        func.count(Ticket.id),
        func.sum(case((and_(response_has, responded <= Ticket.first_response_due), 1), else_=0)),
        func.sum(case((response_has, 1), else_=0)),
        func.sum(
            case((and_(resolution_has, Ticket.resolved_at <= Ticket.resolution_due), 1), else_=0)
        ),
        func.sum(case((resolution_has, 1), else_=0)),
    ]
    base = (
        select()
        .select_from(Ticket)
        .outerjoin(queue, queue.id == Ticket.queue_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
        .outerjoin(team, team.id == team_id)
        .where(
            Ticket.resolved_at.is_not(None),
            Ticket.merged_into_id.is_(None),
            *period.clauses(Ticket.resolved_at),
        )
    )
    clause = ticket_clause(actor)
    if clause is not None:
        base = base.where(clause)

    total = session.execute(base.add_columns(literal(""), literal(""), *figures)).one()
    by: dict[str, list[Row]] = {}
    for name in DIMENSIONS:
        stmt = base.add_columns(keys[name], labels[name], *figures).group_by(
            keys[name], labels[name]
        )
        rows = [_row(values) for values in session.execute(stmt)]
        by[name] = sorted(rows, key=lambda row: (-row.tickets, row.label))
    whole = _row(total)
    return SlaReport(whole.tickets, whole.response, whole.resolution, by)


def _row(values: Any) -> Row:
    key, label, tickets, response_met, response_total, resolution_met, resolution_total = values
    return Row(
        key=NONE_KEY if key is None else str(key),
        label=label or "",
        tickets=int(tickets or 0),
        response=Share(int(response_met or 0), int(response_total or 0)),
        resolution=Share(int(resolution_met or 0), int(resolution_total or 0)),
    )
