"""Who sees a ticket: an administrator sees all; a member or the manager of its queue, its
assignee and its creator see it; the customer's owner sees their customer's tickets; an agent
of another queue and another sales rep are told 404, on reads, lists, changes and files."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.errors import NotFound
from guanxi.service_desk import service
from guanxi.service_desk.models import Ticket
from tests.conftest import People
from tests.service_desk.support import agent, customer, queue, ticket

API = "/api/v1/tickets"


@pytest.fixture
def world(session: Session, people: People) -> dict[str, Any]:
    rep = people.user("sales")
    buyer = customer(session, rep.user, "王小明")
    manager = people.user("manager")
    repairs = queue(session, "维修", manager=manager.user)
    complaints = queue(session, "投诉")
    repair_agent = agent(people, repairs)
    complaint_agent = agent(people, complaints)
    made = ticket(session, rep.user, buyer.id, queue_id=repairs.id)
    return {
        "ticket": made,
        "customer": buyer,
        "rep": rep,
        "manager": manager,
        "repair_agent": repair_agent,
        "complaint_agent": complaint_agent,
        "complaints": complaints,
    }


def _ids(session: Session, user: Any) -> set[int]:
    spelled_in_sql = set(
        session.scalars(service.visible_tickets(user).with_only_columns(Ticket.id))
    )
    # the same rule with the user's queues read first (what the queue page uses)
    read_first = service.visible_tickets(user, session).with_only_columns(Ticket.id)
    assert set(session.scalars(read_first)) == spelled_in_sql
    return spelled_in_sql


def test_who_sees_a_ticket(session: Session, people: People, world: dict[str, Any]) -> None:
    made = world["ticket"]
    assert made.assignee_id == world["repair_agent"].user.id
    admin = people.user("admin")
    analyst = people.user("analyst")  # reaches every record and works no queue
    other_rep = people.user("sales")
    stranger_manager = people.user("manager", team=people.team("华南"))
    seeing = [
        admin.user,
        analyst.user,
        world["repair_agent"].user,  # queue member and assignee
        world["manager"].user,  # the queue's manager
        world["rep"].user,  # the customer's owner, and the creator
    ]
    hidden = [world["complaint_agent"].user, other_rep.user, stranger_manager.user]
    for user in seeing:
        assert made.id in _ids(session, user), user.username
        assert service.get_visible_ticket(session, user, made.id).id == made.id
    for user in hidden:
        assert made.id not in _ids(session, user), user.username
        with pytest.raises(NotFound):
            service.get_visible_ticket(session, user, made.id)


def test_the_creator_sees_a_ticket_routed_to_a_queue_they_do_not_work(
    session: Session, world: dict[str, Any]
) -> None:
    creator = world["complaint_agent"].user
    made = ticket(session, creator, world["customer"].id, queue_id=None)
    routed_elsewhere = ticket(
        session, world["rep"].user, world["customer"].id, queue_id=world["complaints"].id
    )
    session.flush()
    assert made.created_by_id == creator.id
    visible = _ids(session, creator)
    assert made.id in visible and routed_elsewhere.id in visible
    assert world["ticket"].id not in visible


def test_a_team_manager_sees_the_tickets_of_the_team_s_customers(
    session: Session, people: People
) -> None:
    team = people.team("华东")
    lead = people.user("manager", team=team)
    member = people.user("sales", team=team)
    buyer = customer(session, member.user, "李四")
    made = ticket(session, member.user, buyer.id)
    assert made.id in _ids(session, lead.user)


def test_a_ticket_hidden_from_the_caller_is_404_on_every_route(
    client: TestClient, people: People, world: dict[str, Any]
) -> None:
    made = world["ticket"].id
    outsider = people.token(world["complaint_agent"])
    calls = [
        client.get(f"{API}/{made}", headers=outsider),
        client.patch(f"{API}/{made}", json={"priority": "urgent"}, headers=outsider),
        client.post(f"{API}/{made}/status", json={"status": "in_progress"}, headers=outsider),
        client.post(f"{API}/{made}/notes", json={"body": "看看"}, headers=outsider),
        client.post(f"{API}/{made}/replies", json={"body": "您好"}, headers=outsider),
        client.get(f"{API}/{made}/history", headers=outsider),
        client.get(f"{API}/{made}/messages", headers=outsider),
        client.get(f"{API}/{made}/attachments", headers=outsider),
        client.get(f"{API}/{made}/attachments/1", headers=outsider),
        client.post(
            f"{API}/{made}/attachments",
            files={"file": ("a.txt", b"hello", "text/plain")},
            headers=outsider,
        ),
    ]
    assert [reply.status_code for reply in calls] == [404] * len(calls)
    listed = client.get(API, headers=outsider).json()["items"]
    assert made not in [t["id"] for t in listed]
    other_rep = people.token(people.user("sales"))
    assert client.get(f"{API}/{made}", headers=other_rep).status_code == 404
    # while the owner rep and the queue's agent read it
    assert client.get(f"{API}/{made}", headers=people.token(world["rep"])).status_code == 200
    in_queue = people.token(world["repair_agent"])
    assert client.get(f"{API}/{made}", headers=in_queue).status_code == 200
    assert made in [t["id"] for t in client.get(API, headers=in_queue).json()["items"]]


def test_an_inactive_user_sees_nothing(session: Session, world: dict[str, Any]) -> None:
    agent_user = world["repair_agent"].user
    agent_user.is_active = False
    session.flush()
    assert _ids(session, agent_user) == set()
    assert session.scalar(select(Ticket.id).where(Ticket.id == world["ticket"].id))
