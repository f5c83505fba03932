"""Routing (分派): which queue a new ticket goes to, which agent takes it, and which service
station (服务网点) handles a service request.

Rules are data (``routing_rules``): the first active rule by position whose every condition
matches the ticket chooses the queue and the skill the agent needs. Within the queue the ticket
goes to the available member with that skill who has the fewest open tickets. A service request
goes to the active station nearest to where the problem is: the coordinates on the ticket, or
else the customer's address located offline (see ``geo``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers.models import Customer
from guanxi.sales.models import OwnedItem
from guanxi.service_desk import geo
from guanxi.service_desk.models import (
    OPEN_STATUSES,
    QueueMember,
    RoutingRule,
    ServiceQueue,
    ServiceStation,
    Ticket,
)

# what a rule may test; each takes one value or a list (keywords: a list, any one found)
CONDITION_KEYS: Final = ("kind", "category", "product_id", "region", "tier", "language", "keywords")


def _values(condition: Any) -> list[Any]:
    if condition is None:
        return []
    if isinstance(condition, list | tuple | set):
        return list(condition)
    return [condition]


def _text(value: Any) -> str:
    return str(value).strip().casefold()


def _place(value: str) -> str:
    """A region as people compare them: 上海 and 上海市, 广西 and 广西壮族自治区 are one."""
    text = value.strip()
    return geo.short_name(text, geo.PROVINCE) if text else ""


class TicketFacts:
    """What rules look at, gathered once per ticket."""

    def __init__(self, session: Session, ticket: Ticket, customer: Customer | None) -> None:
        self.kind = ticket.kind
        self.category = _text(ticket.category or "")
        self.language = _text(ticket.language or "")
        self.tier = _text(ticket.tier or (customer.value_tier if customer else "") or "")
        product_id = ticket.product_id
        if product_id is None and ticket.owned_item_id is not None:
            item = session.get(OwnedItem, ticket.owned_item_id)
            product_id = item.product_id if item else None
        self.product_id = product_id
        self.regions = (
            {_place(customer.region), _place(customer.city)} - {""} if customer else set()
        )
        self.text = f"{ticket.subject or ''}\n{ticket.description or ''}".casefold()


def rule_matches(conditions: Mapping[str, Any], facts: TicketFacts) -> bool:
    """Every condition given must hold; a rule without conditions matches every ticket."""
    for key, condition in conditions.items():
        wanted = _values(condition)
        if not wanted:
            continue
        if key == "kind":
            ok = facts.kind in wanted
        elif key == "category":
            ok = facts.category in {_text(v) for v in wanted}
        elif key == "product_id":
            ok = facts.product_id is not None and facts.product_id in {int(v) for v in wanted}
        elif key == "region":
            ok = bool(facts.regions & {_place(str(v)) for v in wanted})
        elif key == "tier":
            ok = facts.tier in {_text(v) for v in wanted}
        elif key == "language":
            ok = facts.language in {_text(v) for v in wanted}
        elif key == "keywords":
            ok = any(_text(word) and _text(word) in facts.text for word in wanted)
        else:
            ok = False  # an unknown condition never matches rather than matching everything
        if not ok:
            return False
    return True


def first_matching_rule(session: Session, facts: TicketFacts) -> RoutingRule | None:
    rules = session.scalars(
        select(RoutingRule)
        .join(ServiceQueue, ServiceQueue.id == RoutingRule.queue_id)
        .where(RoutingRule.is_active.is_(True), ServiceQueue.is_active.is_(True))
        .order_by(RoutingRule.position, RoutingRule.id)
    )
    return next((rule for rule in rules if rule_matches(rule.conditions or {}, facts)), None)


def default_queue_id(session: Session) -> int | None:
    """Where tickets go that no rule claims: the first active queue."""
    return session.scalar(
        select(ServiceQueue.id)
        .where(ServiceQueue.is_active.is_(True))
        .order_by(ServiceQueue.id)
        .limit(1)
    )


def agent_loads(session: Session, queue_id: int) -> list[tuple[int, list[Any], int]]:
    """(user id, skills, open tickets assigned to them anywhere) for each available, active
    member of the queue, least loaded first, then by user id: one query."""
    # a correlated count per member rides the (assignee_id, status) index; grouping by the
    # skills column instead would need JSON equality, which PostgreSQL does not have
    load = (
        select(func.count(Ticket.id))
        .where(Ticket.assignee_id == QueueMember.user_id, Ticket.status.in_(OPEN_STATUSES))
        .correlate(QueueMember)
        .scalar_subquery()
    )
    rows = session.execute(
        select(QueueMember.user_id, QueueMember.skills, load)
        .join(User, User.id == QueueMember.user_id)
        .where(
            QueueMember.queue_id == queue_id,
            QueueMember.available.is_(True),
            User.is_active.is_(True),
        )
        .order_by(load, QueueMember.user_id)
    )
    return [(user_id, list(skills or []), count) for user_id, skills, count in rows]


def least_loaded_agent(session: Session, queue_id: int, skill: str = "") -> int | None:
    """The available member with the skill (any member when none is asked) who has the fewest
    open tickets; ties go to the lower user id. None when nobody fits."""
    needed = _text(skill)
    for user_id, skills, _load in agent_loads(session, queue_id):
        if not needed or needed in {_text(s) for s in skills}:
            return user_id
    return None


def nearest_station(session: Session, latitude: float, longitude: float) -> ServiceStation | None:
    """The active station closest by great-circle distance (ties by id). Stations are few, so
    their coordinates are read once and measured here rather than in SQL."""
    stations = session.scalars(
        select(ServiceStation).where(ServiceStation.is_active.is_(True)).order_by(ServiceStation.id)
    ).all()
    return nearest_of(stations, latitude, longitude)


def nearest_of(
    stations: Sequence[ServiceStation], latitude: float, longitude: float
) -> ServiceStation | None:
    if not stations:
        return None
    return min(
        stations,
        key=lambda s: (geo.haversine_km(latitude, longitude, s.latitude, s.longitude), s.id),
    )


def locate_customer(customer: Customer) -> tuple[float, float] | None:
    """(latitude, longitude) of the customer, located offline; None when unknown."""
    return geo.locate_customer(customer)


def problem_location(ticket: Ticket, customer: Customer | None) -> tuple[float, float] | None:
    """Where the problem is: coordinates on the ticket, else the customer's located address."""
    if ticket.latitude is not None and ticket.longitude is not None:
        return ticket.latitude, ticket.longitude
    return geo.locate_customer(customer) if customer is not None else None


def route(session: Session, ticket: Ticket) -> None:
    """Fill in what is not yet set on a new ticket: its queue (first matching rule, else the
    station's queue for a service request, else the default queue), its assignee (least-loaded
    available member of the queue with the rule's skill) and, for a service request, the
    nearest active station. Values already set are kept."""
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    facts = TicketFacts(session, ticket, customer)
    rule = first_matching_rule(session, facts)

    station: ServiceStation | None = None
    if ticket.kind == "service_request":
        if ticket.station_id is None:
            where = problem_location(ticket, customer)
            if where is not None:
                station = nearest_station(session, *where)
                if station is not None:
                    ticket.station_id = station.id
        else:
            station = session.get(ServiceStation, ticket.station_id)

    if ticket.queue_id is None:
        if rule is not None:
            ticket.queue_id = rule.queue_id
        elif (
            station is not None
            and station.queue_id is not None
            and _queue_active(session, station.queue_id)
        ):
            ticket.queue_id = station.queue_id
        else:
            ticket.queue_id = default_queue_id(session)

    if ticket.assignee_id is None and ticket.queue_id is not None:
        # the rule's skill counts only in the queue the rule chose
        skill = rule.skill if rule is not None and rule.queue_id == ticket.queue_id else ""
        ticket.assignee_id = least_loaded_agent(session, ticket.queue_id, skill)


def _queue_active(session: Session, queue_id: int) -> bool:
    return bool(session.scalar(select(ServiceQueue.is_active).where(ServiceQueue.id == queue_id)))
