"""The tickets API: the fixed POST interface scripts use (201 and its body; 422 naming the field
for a bad kind, priority or customer; 404 for a customer the caller may not see), the status
flow with its refusals and reopening, every change in the history with who made it, editing
with optimistic locking, the list's filters and pages, and merging duplicates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.concurrency import etag
from guanxi.service_desk.models import SlaPolicy, Survey, TicketAttachment, TicketMessage
from tests.analytics.scores_support import stored_run, stored_score
from tests.conftest import People
from tests.service_desk.support import agent, customer, queue, station, ticket_body

API = "/api/v1/tickets"


@pytest.fixture
def desk(session: Session, people: People) -> dict[str, Any]:
    """A sales rep's customer, a queue with one agent, and an administrator."""
    rep = people.user("sales")
    buyer = customer(session, rep.user, "王小明", email="wang@example.com")
    repairs = queue(session, "维修")
    worker = agent(people, repairs)
    admin = people.user("admin")
    return {
        "rep": rep,
        "customer": buyer,
        "queue": repairs,
        "agent": worker,
        "agent_headers": people.token(worker),
        "admin_headers": people.token(admin),
        "rep_headers": people.token(rep),
    }


def _create(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post(API, json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _problem_fields(reply: Any) -> list[str]:
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.text
    return [error["field"] for error in reply.json().get("errors", [])]


def test_the_fixed_create_interface_answers_201_with_due_times_and_the_nearest_station(
    client: TestClient, session: Session, desk: dict[str, Any]
) -> None:
    station(session, "北京朝阳服务站", 39.92, 116.44)
    shanghai = station(session, "上海徐汇服务站", 31.19, 121.44)
    session.flush()
    body = ticket_body(
        desk["customer"].id,
        kind="service_request",
        subject="洗衣机漏水",
        priority="urgent",
        description="滚筒下方漏水",
        location={"latitude": 31.23, "longitude": 121.47},
    )

    answer = _create(client, desk["agent_headers"], body)

    assert {"id", "status", "first_response_due", "resolution_due", "station"} <= set(answer)
    assert answer["station"] == {"id": shanghai, "name": "上海徐汇服务站"}
    # routed to the only queue and its only agent, so it starts assigned
    assert answer["status"] == "assigned"
    assert answer["queue_id"] == desk["queue"].id
    assert answer["assignee_id"] == desk["agent"].user.id
    response_due = datetime.fromisoformat(answer["first_response_due"])
    resolution_due = datetime.fromisoformat(answer["resolution_due"])
    assert datetime.fromisoformat(answer["created_at"]) < response_due <= resolution_due
    assert answer["location"] == {"latitude": 31.23, "longitude": 121.47}
    fetched = client.get(f"{API}/{answer['id']}", headers=desk["agent_headers"])
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == etag(answer["version"])


def test_a_ticket_other_than_a_service_request_has_no_station(
    client: TestClient, session: Session, desk: dict[str, Any]
) -> None:
    station(session, "上海徐汇服务站", 31.19, 121.44)
    answer = _create(
        client,
        desk["agent_headers"],
        ticket_body(desk["customer"].id, kind="inquiry", priority="low"),
    )
    assert answer["station"] is None
    assert answer["kind"] == "inquiry" and answer["priority"] == "low"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "repair"}, "kind"),
        ({"priority": "asap"}, "priority"),
        ({"subject": ""}, "subject"),
        ({"customer_id": 987654321}, "customer_id"),
        ({"location": {"latitude": 91, "longitude": 121}}, "latitude"),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field(
    client: TestClient, desk: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    reply = client.post(
        API, json={**ticket_body(desk["customer"].id), **change}, headers=desk["agent_headers"]
    )
    assert reply.status_code == 422, reply.text
    assert any(name.endswith(field) for name in _problem_fields(reply))


def test_a_contact_order_or_owned_item_of_another_customer_is_refused(
    client: TestClient, session: Session, desk: dict[str, Any]
) -> None:
    from guanxi.sales.models import OwnedItem

    other = customer(session, desk["rep"].user, "李四")
    item = OwnedItem(customer_id=other.id, serial_number="SN-1", model="KFR-35")
    session.add(item)
    session.flush()
    reply = client.post(
        API,
        json=ticket_body(desk["customer"].id, owned_item_id=item.id),
        headers=desk["agent_headers"],
    )
    assert reply.status_code == 422
    assert _problem_fields(reply) == ["owned_item_id"]
    mine = OwnedItem(customer_id=desk["customer"].id, serial_number="SN-2", model="KFR-50")
    session.add(mine)
    session.flush()
    answer = _create(
        client, desk["agent_headers"], ticket_body(desk["customer"].id, owned_item_id=mine.id)
    )
    assert answer["owned_item_id"] == mine.id


def test_a_customer_the_caller_may_not_see_is_404(
    client: TestClient, session: Session, people: People, desk: dict[str, Any]
) -> None:
    other_rep = people.user("sales")
    reply = client.post(API, json=ticket_body(desk["customer"].id), headers=people.token(other_rep))
    assert reply.status_code == 404
    # the owner may open one
    assert _create(client, desk["rep_headers"], ticket_body(desk["customer"].id))["id"]


def test_a_role_without_ticket_rights_is_refused(
    client: TestClient, people: People, desk: dict[str, Any]
) -> None:
    marketer = people.user("marketing")
    reply = client.post(API, json=ticket_body(desk["customer"].id), headers=people.token(marketer))
    assert reply.status_code == 403
    # a sales rep may open and read tickets but not work on them
    made = _create(client, desk["rep_headers"], ticket_body(desk["customer"].id))
    moved = client.post(
        f"{API}/{made['id']}/status", json={"status": "in_progress"}, headers=desk["rep_headers"]
    )
    assert moved.status_code == 403


def test_the_status_flow_refuses_illegal_moves_and_counts_reopening(
    client: TestClient, session: Session, desk: dict[str, Any]
) -> None:
    headers = desk["agent_headers"]
    made = _create(client, headers, ticket_body(desk["customer"].id))
    url = f"{API}/{made['id']}/status"

    def move(status: str) -> Any:
        return client.post(url, json={"status": status}, headers=headers)

    refused = move("closed")  # assigned -> closed skips the work
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "assigned" in refused.json()["detail"] and "closed" in refused.json()["detail"]
    assert move("bogus").status_code == 422
    for status in ("in_progress", "waiting", "in_progress", "resolved"):
        reply = move(status)
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == status
    resolved = reply.json()
    assert resolved["resolved_at"] is not None
    # resolving it asked the customer for a satisfaction survey
    assert session.scalar(select(Survey.id).where(Survey.ticket_id == made["id"])) is not None
    assert move("waiting").status_code == 409
    closed = move("closed").json()
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert move("resolved").status_code == 409
    reopened = move("in_progress").json()
    assert reopened["status"] == "in_progress"
    assert reopened["reopened_count"] == 1
    assert reopened["closed_at"] is None and reopened["resolved_at"] is None


def test_assigned_needs_an_assignee(
    client: TestClient, session: Session, people: People, desk: dict[str, Any]
) -> None:
    empty = queue(session, "空队列")
    made = _create(
        client,
        desk["admin_headers"],
        ticket_body(desk["customer"].id, queue_id=empty.id),
    )
    assert made["status"] == "new" and made["assignee_id"] is None
    reply = client.post(
        f"{API}/{made['id']}/status", json={"status": "assigned"}, headers=desk["admin_headers"]
    )
    assert reply.status_code == 422
    assert _problem_fields(reply) == ["assignee_id"]
    # giving it an assignee moves it to assigned
    patched = client.patch(
        f"{API}/{made['id']}",
        json={"assignee_id": desk["agent"].user.id},
        headers=desk["admin_headers"],
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "assigned"


def test_every_change_is_in_the_history_with_who_made_it(
    client: TestClient, session: Session, people: People, desk: dict[str, Any]
) -> None:
    headers = desk["agent_headers"]
    made = _create(client, headers, ticket_body(desk["customer"].id, priority="normal"))
    second = queue(session, "投诉处理")
    session.flush()
    patched = client.patch(
        f"{API}/{made['id']}",
        json={
            "priority": "urgent",
            "category": "质量",
            "root_cause": "压缩机",
            "queue_id": second.id,
        },
        headers={**headers, "If-Match": etag(made["version"])},
    )
    assert patched.status_code == 200, patched.text
    stale = client.patch(
        f"{API}/{made['id']}",
        json={"priority": "low"},
        headers={**headers, "If-Match": etag(made["version"])},
    )
    assert stale.status_code == 412
    client.post(f"{API}/{made['id']}/status", json={"status": "in_progress"}, headers=headers)

    history = client.get(f"{API}/{made['id']}/history", headers=headers).json()
    rows = [(h["field"], h["old_value"], h["new_value"], h["actor"]) for h in history]
    agent_name = desk["agent"].user.label
    assert rows[0] == ("status", "", "new", agent_name)
    assert ("assignee_id", "", str(desk["agent"].user.id), "system") in rows
    assert ("status", "new", "assigned", "system") in rows
    assert ("priority", "normal", "urgent", agent_name) in rows
    assert ("category", "", "质量", agent_name) in rows
    assert ("root_cause", "", "压缩机", agent_name) in rows
    assert ("queue_id", str(desk["queue"].id), str(second.id), agent_name) in rows
    assert rows[-1] == ("status", "assigned", "in_progress", agent_name)
    assert all(h["at"] for h in history)
    # the stale change left nothing behind
    assert ("priority", "urgent", "low", agent_name) not in rows


def test_the_list_filters_searches_and_pages(client: TestClient, desk: dict[str, Any]) -> None:
    headers = desk["agent_headers"]
    cid = desk["customer"].id
    made = [
        _create(client, headers, ticket_body(cid, kind="complaint", subject="空调噪音大")),
        _create(client, headers, ticket_body(cid, kind="inquiry", subject="保修期多长")),
        _create(client, headers, ticket_body(cid, kind="complaint", subject="空调漏水")),
    ]
    listed = client.get(API, params={"kind": "complaint"}, headers=headers).json()
    assert [t["id"] for t in listed["items"]] == [made[2]["id"], made[0]["id"]]
    found = client.get(API, params={"q": "漏水"}, headers=headers).json()
    assert [t["id"] for t in found["items"]] == [made[2]["id"]]
    first = client.get(API, params={"limit": 2, "customer_id": cid}, headers=headers).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        API, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert [t["id"] for t in rest["items"]] == [made[0]["id"]] and rest["next_cursor"] is None
    assert client.get(API, params={"status": "nope"}, headers=headers).status_code == 422
    assert client.get(API, params={"priority": "high"}, headers=headers).json()["items"]


def test_merging_a_duplicate_moves_its_messages_and_closes_it(
    client: TestClient, session: Session, people: People, desk: dict[str, Any]
) -> None:
    headers = desk["agent_headers"]
    cid = desk["customer"].id
    original = _create(client, headers, ticket_body(cid, subject="冰箱不制冷"))
    duplicate = _create(client, headers, ticket_body(cid, subject="冰箱不冷了"))
    note = client.post(
        f"{API}/{duplicate['id']}/notes", json={"body": "客户又打来电话"}, headers=headers
    )
    assert note.status_code == 201
    upload = client.post(
        f"{API}/{duplicate['id']}/attachments",
        files={"file": ("note.txt", "压缩机不启动".encode(), "text/plain")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text

    merged = client.post(
        f"{API}/{duplicate['id']}/merge", json={"into_id": original["id"]}, headers=headers
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == original["id"]
    session.expire_all()
    gone = client.get(f"{API}/{duplicate['id']}", headers=headers).json()
    assert gone["status"] == "closed" and gone["merged_into_id"] == original["id"]
    count = select(func.count()).select_from(TicketMessage)
    assert session.scalar(count.where(TicketMessage.ticket_id == original["id"])) == 1
    assert session.scalar(count.where(TicketMessage.ticket_id == duplicate["id"])) == 0
    moved = session.scalars(select(TicketAttachment.ticket_id)).all()
    assert moved == [original["id"]]
    mine = [
        h["field"] for h in client.get(f"{API}/{original['id']}/history", headers=headers).json()
    ]
    theirs = client.get(f"{API}/{duplicate['id']}/history", headers=headers).json()
    assert "merged_from" in mine
    assert ("merged_into", f"#{original['id']}") in [(h["field"], h["new_value"]) for h in theirs]
    assert ("status", "closed") in [(h["field"], h["new_value"]) for h in theirs]
    # a merged ticket is done with: no second merge, no more moves
    again = client.post(
        f"{API}/{duplicate['id']}/merge", json={"into_id": original["id"]}, headers=headers
    )
    assert again.status_code == 409
    moved_on = client.post(
        f"{API}/{duplicate['id']}/status", json={"status": "in_progress"}, headers=headers
    )
    assert moved_on.status_code == 409


def test_tickets_of_different_customers_are_not_merged(
    client: TestClient, session: Session, desk: dict[str, Any]
) -> None:
    headers = desk["agent_headers"]
    other = customer(session, desk["rep"].user, "李四")
    session.flush()
    first = _create(client, headers, ticket_body(desk["customer"].id))
    second = _create(client, headers, ticket_body(other.id))
    reply = client.post(
        f"{API}/{first['id']}/merge", json={"into_id": second["id"]}, headers=headers
    )
    assert reply.status_code == 422
    assert _problem_fields(reply) == ["into_id"]
    itself = client.post(
        f"{API}/{first['id']}/merge", json={"into_id": first["id"]}, headers=headers
    )
    assert itself.status_code == 422


def test_the_tier_comes_from_the_latest_scoring_run_and_tightens_the_sla(
    client: TestClient, session: Session, desk: dict[str, Any]
) -> None:
    ordinary = _create(client, desk["agent_headers"], ticket_body(desk["customer"].id))
    assert ordinary["tier"] is None
    older = stored_run(session)
    stored_score(session, older, desk["customer"].id, tier="ordinary")
    latest = stored_run(session)
    stored_score(session, latest, desk["customer"].id, tier="vip")
    stored_run(session, status="failed")  # a failed run is never read
    session.flush()

    vip = _create(client, desk["agent_headers"], ticket_body(desk["customer"].id))

    assert vip["tier"] == "vip"
    policy = session.get(SlaPolicy, vip["sla_policy_id"])
    assert policy is not None and policy.tier == "vip" and policy.priority == "high"
    assert vip["sla_policy_id"] != ordinary["sla_policy_id"]


def test_raising_the_priority_of_a_running_ticket_tightens_its_targets(
    client: TestClient, desk: dict[str, Any]
) -> None:
    headers = desk["agent_headers"]
    made = _create(client, headers, ticket_body(desk["customer"].id, priority="low"))
    raised = client.patch(f"{API}/{made['id']}", json={"priority": "urgent"}, headers=headers)
    assert raised.status_code == 200, raised.text
    after = raised.json()
    assert after["sla_policy_id"] != made["sla_policy_id"]
    assert after["resolution_due"] < made["resolution_due"]
    # while it waits on the customer, the clock it has stays as it stands
    client.post(f"{API}/{made['id']}/status", json={"status": "waiting"}, headers=headers)
    lowered = client.patch(f"{API}/{made['id']}", json={"priority": "low"}, headers=headers)
    assert lowered.json()["resolution_due"] == after["resolution_due"]
