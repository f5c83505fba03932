"""The caller lookup (来电查询): from a name, a phone fragment or part of a serial number to the
caller and, on one screen, what the agent needs while they talk: value tier, lifecycle stage,
the products they own (purchase date, retailer), their tickets and who handled them, their
latest interactions and orders.

Customers are found by the customers' own search (the global search box's); serial numbers
by the installed base's. Everything shown goes through the visibility rule of its domain, so a
sales rep finds only their customers while the service role finds every caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.search import CustomerFilter
from guanxi.interactions import service as interaction_service
from guanxi.interactions.models import Interaction
from guanxi.sales import owned_items
from guanxi.sales.models import Order, OwnedItem
from guanxi.sales.orders import service as order_service
from guanxi.service_desk import service as ticket_service
from guanxi.service_desk.models import OPEN_STATUSES, Ticket

MAX_QUERY = 100
CARD_ROWS = 10  # tickets, interactions and orders shown of each kind


@dataclass(frozen=True)
class CallerMatch:
    """A customer the query found, with the owned items whose serial number it matched."""

    customer: Customer
    items: list[OwnedItem] = field(default_factory=list)


@dataclass(frozen=True)
class CallerCard:
    """What the agent sees of one caller."""

    customer: Customer
    items: list[OwnedItem]
    product_names: dict[int, str]
    open_tickets: list[Ticket]
    past_tickets: list[Ticket]
    interactions: list[Interaction]
    orders: list[Order]
    # labels of the people named on the card: ticket handlers, interaction authors
    people: dict[int, str]


def find_callers(*, session: Session, actor: User, q: str, limit: int = 10) -> list[CallerMatch]:
    """Customers whose serial numbers, name, company, phone or e-mail hold ``q``; serial matches
    first, since a serial names the product the caller holds."""
    q = q.strip()[:MAX_QUERY]
    if not q:
        return []
    by_customer: dict[int, list[OwnedItem]] = {}
    for item in owned_items.search_by_serial(session=session, actor=actor, fragment=q, limit=limit):
        by_customer.setdefault(item.customer_id, []).append(item)
    found: dict[int, Customer] = {}
    if by_customer:
        rows = session.scalars(select(Customer).where(Customer.id.in_(by_customer)))
        found = {c.id: c for c in rows}
    matches = [CallerMatch(found[cid], items) for cid, items in by_customer.items() if cid in found]
    if len(matches) < limit:
        page = customer_service.list_customers(
            session=session, actor=actor, spec=CustomerFilter(q=q), limit=limit
        )
        matches += [CallerMatch(c) for c in page.items if c.id not in found]
    return matches[:limit]


def caller_card(*, session: Session, actor: User, customer_id: int) -> CallerCard:
    """The caller's card; a customer the actor may not see is not found."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    items = owned_items.list_for_customer(session=session, actor=actor, customer_id=customer.id)
    tickets = _tickets(session, actor, customer.id)
    interactions = (
        interaction_service.list_for_customer(
            session=session, actor=actor, customer_id=customer.id, limit=CARD_ROWS
        )
        if actor.can("interactions", "read")
        else []
    )
    orders = (
        order_service.list_for_customer(
            session=session, actor=actor, customer_id=customer.id, limit=CARD_ROWS
        )
        if actor.can("orders", "read")
        else []
    )
    user_ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    user_ids |= {i.user_id for i in interactions if i.user_id is not None}
    return CallerCard(
        customer=customer,
        items=items,
        product_names=owned_items.product_names(session, items),
        open_tickets=[t for t in tickets if t.status in OPEN_STATUSES],
        past_tickets=[t for t in tickets if t.status not in OPEN_STATUSES][:CARD_ROWS],
        interactions=interactions,
        orders=orders,
        people=user_labels(session, user_ids),
    )


def _tickets(session: Session, actor: User, customer_id: int) -> list[Ticket]:
    if not actor.can("tickets", "read"):
        return []
    stmt = (
        ticket_service.visible_tickets(actor)
        .where(Ticket.customer_id == customer_id, Ticket.merged_into_id.is_(None))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(CARD_ROWS * 5)  # every open ticket and the latest past ones, for a customer
    )
    return list(session.scalars(stmt))


def user_labels(session: Session, user_ids: set[int]) -> dict[int, str]:
    """People's display names by id, in one query."""
    if not user_ids:
        return {}
    return {u.id: u.label for u in session.scalars(select(User).where(User.id.in_(user_ids)))}


def visible_customers(session: Session, actor: User, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are customers the actor may see (a pre-filled ticket form checks it)."""
    if not ids:
        return set()
    stmt = restrict(select(Customer.id).where(Customer.id.in_(ids)), Customer, actor)
    return set(session.scalars(stmt))
