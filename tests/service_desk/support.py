"""Small fixtures for the service desk tests: customers made through the customer service,
queues with their agents, service agents and tickets opened through the ticket service (routed
and given their SLA due times as the app does)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerCreate, EmailIn
from guanxi.service_desk import service
from guanxi.service_desk.models import QueueMember, ServiceQueue, ServiceStation, Ticket
from guanxi.service_desk.schemas import TicketCreate
from tests.conftest import People, Person


def customer(
    session: Session, owner: User, name: str = "王小明", *, email: str | None = None, **fields: Any
) -> Customer:
    """A customer owned by ``owner`` (a person unless ``kind`` says otherwise)."""
    made = customer_service.create(
        session=session,
        actor=owner,
        customer_in=CustomerCreate(
            name=name, emails=[EmailIn(address=email)] if email else [], **fields
        ),
    )
    session.flush()
    return made


def queue(
    session: Session,
    name: str,
    *,
    members: list[User] | None = None,
    manager: User | None = None,
    skills: list[str] | None = None,
) -> ServiceQueue:
    """An active queue with its members available for work."""
    made = ServiceQueue(name=name, manager_id=manager.id if manager else None)
    session.add(made)
    session.flush()
    for member in members or []:
        session.add(QueueMember(queue_id=made.id, user_id=member.id, skills=list(skills or [])))
    session.flush()
    return made


def agent(people: People, *queues: ServiceQueue) -> Person:
    """A service agent (role "service"), member of the given queues."""
    person = people.user("service")
    for each in queues:
        people.session.add(QueueMember(queue_id=each.id, user_id=person.user.id, skills=[]))
    people.session.flush()
    return person


def station(session: Session, name: str, latitude: float, longitude: float, **fields: Any) -> int:
    made = ServiceStation(name=name, latitude=latitude, longitude=longitude, **fields)
    session.add(made)
    session.flush()
    return made.id


def ticket(session: Session, actor: User, customer_id: int, **fields: Any) -> Ticket:
    """A ticket opened through the ticket service (routed, with its SLA set)."""
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": "complaint",
        "subject": "空调不制冷",
        "priority": "normal",
    }
    values.update(fields)
    made = service.create_ticket(session, actor=actor, ticket_in=TicketCreate(**values))
    session.flush()
    return made


def ticket_body(customer_id: int, **fields: Any) -> dict[str, Any]:
    """The JSON a script sends to POST /api/v1/tickets."""
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": "complaint",
        "subject": "空调不制冷",
        "priority": "high",
    }
    body.update(fields)
    return body


def walk_pages(client: TestClient, url: str, *, keep: str = "") -> list[int]:
    """The ticket ids the queue page lists from ``url`` on, following its own next links to
    the end; each next link must still hold ``keep`` (a filter it should carry)."""
    seen: list[int] = []
    for _ in range(100):
        html = client.get(url).text
        seen += [int(i) for i in re.findall(r'data-ticket="(\d+)"', html)]
        found = re.search(r'href="(/service\?[^"]*cursor=[^"]+)"', html)
        if found is None:
            return seen
        url = found.group(1).replace("&amp;", "&")
        assert keep in url
    raise AssertionError("the pages never ended")
