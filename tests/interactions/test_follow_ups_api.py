"""Follow-ups through the API: plan, complete into an interaction, repeat, reschedule, cancel,
"my day" in the user's time zone, visibility and refusals that name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.interactions.followups import recurrence
from guanxi.interactions.followups import service as followups
from guanxi.interactions.followups.schemas import FollowUpCreate
from guanxi.interactions.models import FollowUp, Interaction
from guanxi.notifications.models import Notification
from tests.conftest import People
from tests.interactions.support_followups import customer, in_hours, plan, without_interactions


def _fields(reply_json: dict[str, object]) -> set[str]:
    errors = reply_json.get("errors") or []
    assert isinstance(errors, list)
    return {str(e["field"]).split(".")[-1] for e in errors}


def test_completing_logs_an_interaction_with_the_outcome(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    planned = plan(client, headers, customer_id, channel="wechat")
    assert planned["status"] == "open" and planned["assignee_id"] == seller.user.id
    assert planned["customer_name"] == "杭州青山茶业"

    reply = client.post(
        f"/api/v1/follow-ups/{planned['id']}/complete",
        json={"outcome": "已下单", "notes": "订了 200 斤龙井", "direction": "outbound"},
        headers=headers,
    )
    assert reply.status_code == 200, reply.text
    done = reply.json()
    assert done["follow_up"]["status"] == "done" and done["next"] is None
    assert done["follow_up"]["outcome"] == "已下单"
    assert done["follow_up"]["interaction_id"] == done["interaction_id"]

    session.expire_all()
    interaction = session.get(Interaction, done["interaction_id"])
    assert interaction is not None
    assert interaction.customer_id == customer_id
    assert (interaction.outcome, interaction.notes) == ("已下单", "订了 200 斤龙井")
    assert (interaction.channel, interaction.source) == ("wechat", "follow_up")
    assert interaction.subject == "回访新茶订单" and interaction.user_id == seller.user.id

    again = client.post(
        f"/api/v1/follow-ups/{planned['id']}/complete", json={"outcome": "x"}, headers=headers
    )
    assert again.status_code == 409
    assert client.post(
        f"/api/v1/follow-ups/{planned['id']}/complete", json={"outcome": ""}, headers=headers
    ).status_code in (409, 422)


def test_a_monthly_follow_up_on_the_31st_falls_on_the_last_day_of_shorter_months(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    # 09:00 in Shanghai (the company's zone; the user has none of their own)
    first = plan(
        client,
        headers,
        customer_id,
        due_at="2027-01-31T09:00:00+08:00",
        recurrence="monthly",
        recurrence_until="2027-04-15T00:00:00Z",
    )
    dues = [first["due_at"]]
    current = first
    for _ in range(3):
        reply = client.post(
            f"/api/v1/follow-ups/{current['id']}/complete",
            json={"outcome": "联系上了"},
            headers=headers,
        )
        assert reply.status_code == 200, reply.text
        following = reply.json()["next"]
        if following is None:
            break
        assert following["previous_id"] == current["id"] and following["status"] == "open"
        assert following["recurrence"] == "monthly"
        dues.append(following["due_at"])
        current = following
    assert [datetime.fromisoformat(d).astimezone(ZoneInfo("Asia/Shanghai")) for d in dues] == [
        datetime(2027, 1, 31, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(2027, 2, 28, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(2027, 3, 31, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
    ]  # and April 30 is after recurrence_until: the chain ends


def test_weekly_and_daily_keep_the_wall_clock_time(session: Session):
    zone = ZoneInfo("Europe/Berlin")
    # across the change to summer time (2027-03-28): still 09:00 local
    before = datetime(2027, 3, 25, 9, tzinfo=zone)
    weekly = recurrence.next_due(before, recurrence="weekly", interval=1, day=25, zone=zone)
    assert weekly.astimezone(zone) == datetime(2027, 4, 1, 9, tzinfo=zone)
    daily = recurrence.next_due(before, recurrence="daily", interval=3, day=25, zone=zone)
    assert daily.astimezone(zone) == datetime(2027, 3, 28, 9, tzinfo=zone)
    yearly = recurrence.next_due(before, recurrence="monthly", interval=12, day=25, zone=zone)
    assert yearly.astimezone(zone) == datetime(2028, 3, 25, 9, tzinfo=zone)


def test_reschedule_moves_the_due_time_and_cancel_closes_it(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    planned = plan(client, headers, customer(session, seller.user))
    reply = client.post(
        f"/api/v1/follow-ups/{planned['id']}/reschedule",
        json={"due_at": "2030-05-06T02:00:00Z"},
        headers=headers,
    )
    assert reply.status_code == 200, reply.text
    assert datetime.fromisoformat(reply.json()["due_at"]) == datetime(2030, 5, 6, 2, tzinfo=UTC)
    assert reply.json()["version"] == planned["version"] + 1

    stale = client.post(
        f"/api/v1/follow-ups/{planned['id']}/cancel",
        headers={**headers, "If-Match": f'W/"{planned["version"]}"'},
    )
    assert stale.status_code == 412
    cancelled = client.post(f"/api/v1/follow-ups/{planned['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    late = client.post(
        f"/api/v1/follow-ups/{planned['id']}/reschedule",
        json={"due_at": "2030-05-07T02:00:00Z"},
        headers=headers,
    )
    assert late.status_code == 409


def test_patch_changes_fields_and_list_filters(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    first_customer = customer(session, seller.user, "青山茶业")
    second_customer = customer(session, seller.user, "绿水茶庄")
    soon = plan(client, headers, first_customer, due_at=in_hours(1))
    later = plan(client, headers, second_customer, due_at=in_hours(50))
    done = plan(client, headers, second_customer, due_at=in_hours(3))
    client.post(f"/api/v1/follow-ups/{done['id']}/cancel", headers=headers)

    patched = client.patch(
        f"/api/v1/follow-ups/{soon['id']}",
        json={"subject": "  确认发货 ", "channel": "visit", "note": ""},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["subject"], patched.json()["channel"]) == ("确认发货", "visit")
    assert patched.json()["note"] == ""

    def ids(**params: object) -> list[int]:
        reply = client.get("/api/v1/follow-ups", params=params, headers=headers)
        assert reply.status_code == 200, reply.text
        return [item["id"] for item in reply.json()["items"]]

    assert ids() == [soon["id"], done["id"], later["id"]]  # soonest due first
    assert ids(status="open") == [soon["id"], later["id"]]
    assert ids(customer_id=second_customer) == [done["id"], later["id"]]
    assert ids(assignee_id=seller.user.id, status="open", due_to=in_hours(24)) == [soon["id"]]
    assert ids(due_from=in_hours(24)) == [later["id"]]
    assert ids(limit=1) == [soon["id"]]


def test_my_day_buckets_follow_the_users_time_zone(session: Session, people: People):
    seller = people.user("sales")
    user: User = seller.user
    customer_id = customer(session, user)
    # 10:00 UTC is 18:00 in Shanghai: Shanghai's day ends at 16:00 UTC, UTC's at 24:00
    now = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)

    def planned(due: datetime) -> int:
        made = followups.create(
            session=session,
            actor=user,
            follow_up_in=FollowUpCreate(customer_id=customer_id, due_at=due, subject=str(due)),
        )
        return made.id

    overdue = planned(datetime(2027, 3, 9, 23, 0, tzinfo=UTC))
    this_evening = planned(datetime(2027, 3, 10, 15, 59, tzinfo=UTC))
    after_midnight_in_shanghai = planned(datetime(2027, 3, 10, 17, 0, tzinfo=UTC))
    in_a_week = planned(datetime(2027, 3, 17, 15, 0, tzinfo=UTC))
    too_far = planned(datetime(2027, 3, 18, 17, 0, tzinfo=UTC))
    cancelled = followups.cancel(
        session=session,
        follow_up=session.get(FollowUp, planned(now - timedelta(hours=1))),  # type: ignore[arg-type]
    )
    assert cancelled.status == "cancelled"

    def buckets(zone: str) -> tuple[list[int], list[int], list[int]]:
        day = followups.my_day(session=session, user=user, now=now, zone=ZoneInfo(zone))
        return (
            [f.id for f in day.overdue],
            [f.id for f in day.today],
            [f.id for f in day.upcoming],
        )

    assert buckets("Asia/Shanghai") == (
        [overdue],
        [this_evening],
        [after_midnight_in_shanghai, in_a_week],
    )
    assert buckets("UTC") == (
        [overdue],
        [this_evening, after_midnight_in_shanghai],
        [in_a_week],
    )
    assert all(too_far not in bucket for bucket in buckets("UTC"))
    assert followups.my_day(session=session, user=user, now=now, zone=ZoneInfo("UTC")).date == (
        now.date()
    )


def test_my_day_api_answers_the_callers_own_follow_ups(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    late = plan(client, headers, customer_id, due_at=in_hours(-1))
    ahead = plan(client, headers, customer_id, due_at=in_hours(24 * 3))
    plan(client, headers, customer_id, due_at=in_hours(24 * 10))
    reply = client.get("/api/v1/follow-ups/my-day", headers=headers)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["timezone"] == "Asia/Shanghai"
    assert [f["id"] for f in body["overdue"]] == [late["id"]]
    assert [f["id"] for f in body["upcoming"]] == [ahead["id"]]
    assert body["today"] == []


def test_someone_elses_customers_follow_ups_are_not_found(
    client: TestClient, people: People, session: Session
):
    owner = people.user("sales")
    other = people.user("sales")
    planned = plan(client, people.token(owner), customer(session, owner.user))
    headers = people.token(other)
    path = f"/api/v1/follow-ups/{planned['id']}"
    assert client.get(path, headers=headers).status_code == 404
    assert client.patch(path, json={"subject": "x"}, headers=headers).status_code == 404
    assert (
        client.post(f"{path}/complete", json={"outcome": "x"}, headers=headers).status_code == 404
    )
    assert client.get("/api/v1/follow-ups", headers=headers).json()["items"] == []
    # and a follow-up cannot be planned for a customer one does not see
    reply = client.post(
        "/api/v1/follow-ups",
        json={"customer_id": planned["customer_id"], "due_at": in_hours(1)},
        headers=headers,
    )
    assert reply.status_code == 404


def test_a_role_without_interactions_is_refused(
    client: TestClient, people: People, session: Session
):
    owner = people.user("sales")
    planned = plan(client, people.token(owner), customer(session, owner.user))
    viewer = without_interactions(session, people)
    headers = people.token(viewer)
    assert client.get("/api/v1/follow-ups", headers=headers).status_code == 403
    assert client.get(f"/api/v1/follow-ups/{planned['id']}", headers=headers).status_code == 403
    assert client.get("/api/v1/follow-ups/my-day", headers=headers).status_code == 403
    analyst = people.token(people.user("analyst"))  # reads, but may not complete or delete
    path = f"/api/v1/follow-ups/{planned['id']}"
    assert client.get(path, headers=analyst).status_code == 200
    assert (
        client.post(f"{path}/complete", json={"outcome": "x"}, headers=analyst).status_code == 403
    )
    assert client.delete(path, headers=people.token(owner)).status_code == 403  # sales: no delete
    admin = people.user("admin")
    assert client.delete(path, headers=people.token(admin)).status_code == 204
    assert client.get(path, headers=analyst).status_code == 404


def test_bad_input_is_refused_naming_the_field(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    colleague = people.user("sales")
    headers = people.token(seller)
    customer_id = customer(session, seller.user)

    def refused(**body: object) -> set[str]:
        reply = client.post("/api/v1/follow-ups", json=body, headers=headers)
        assert reply.status_code == 422, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
        return _fields(reply.json())

    assert refused(customer_id=customer_id) == {"due_at"}
    assert refused(customer_id=customer_id, due_at="next tuesday") == {"due_at"}
    assert "recurrence" in refused(customer_id=customer_id, due_at=in_hours(1), recurrence="yearly")
    assert refused(customer_id=customer_id, due_at=in_hours(1), channel="pigeon") == {"channel"}
    assert refused(customer_id=customer_id, due_at=in_hours(1), recurrence_interval=0) == {
        "recurrence_interval"
    }
    assert refused(
        customer_id=customer_id,
        due_at="2030-05-01T09:00:00Z",
        recurrence="weekly",
        recurrence_until="2030-04-30T00:00:00Z",
    ) == {"recurrence_until"}
    # a sales user works only their own records: a colleague is out of reach
    assert refused(customer_id=customer_id, due_at=in_hours(1), assignee_id=colleague.user.id) == {
        "assignee_id"
    }
    assert refused(customer_id=customer_id, due_at=in_hours(1), assignee_id=987654) == {
        "assignee_id"
    }
    planned = plan(client, headers, customer_id)
    reply = client.patch(
        f"/api/v1/follow-ups/{planned['id']}", json={"due_at": None}, headers=headers
    )
    assert reply.status_code == 422 and _fields(reply.json()) == {"due_at"}
    reply = client.post(
        f"/api/v1/follow-ups/{planned['id']}/complete", json={"notes": "x"}, headers=headers
    )
    assert reply.status_code == 422 and _fields(reply.json()) == {"outcome"}
    # nothing half-written: only the one follow-up that was accepted exists
    listed = client.get("/api/v1/follow-ups", headers=headers).json()["items"]
    assert [f["id"] for f in listed] == [planned["id"]]


def test_a_manager_hands_follow_ups_to_the_team(
    client: TestClient, people: People, session: Session
):
    team = people.team("华东")
    manager = people.user("manager", team=team)
    seller = people.user("sales", team=team)
    outsider = people.user("sales")
    customer_id = customer(session, seller.user)
    headers = people.token(manager)
    planned = plan(client, headers, customer_id, assignee_id=seller.user.id)
    assert planned["assignee_id"] == seller.user.id and planned["created_by_id"] == manager.user.id
    reply = client.post(
        "/api/v1/follow-ups",
        json={"customer_id": customer_id, "due_at": in_hours(1), "assignee_id": outsider.user.id},
        headers=headers,
    )
    assert reply.status_code == 422 and _fields(reply.json()) == {"assignee_id"}
    mine = client.get("/api/v1/follow-ups/my-day", headers=people.token(seller)).json()
    assert [f["id"] for f in mine["today"] + mine["upcoming"]] == [planned["id"]]
    # the seller is told, in the app, who gave them what
    told = session.scalars(select(Notification).where(Notification.user_id == seller.user.id))
    [note] = told.all()
    assert (
        note.kind == "follow_up_assigned"
        and note.link == f"/interactions/follow-ups/{planned['id']}"
    )
    assert note.values["customer"] == "杭州青山茶业" and note.values["by"] == manager.user.label
    # handing it back to the manager tells the manager; nobody is told of their own planning
    client.patch(
        f"/api/v1/follow-ups/{planned['id']}",
        json={"assignee_id": manager.user.id},
        headers=headers,
    )
    assert (
        session.scalars(select(Notification).where(Notification.user_id == manager.user.id)).all()
        == []
    )
    client.patch(
        f"/api/v1/follow-ups/{planned['id']}",
        json={"assignee_id": seller.user.id},
        headers=headers,
    )
    assert (
        len(
            session.scalars(
                select(Notification).where(Notification.user_id == seller.user.id)
            ).all()
        )
        == 2
    )
