"""Interactions through the API: log on any channel, list with filters and cursor paging, read,
change with If-Match, delete; bad input named by field; roles, visibility and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

from guanxi.interactions.models import Interaction
from tests.conftest import People
from tests.interactions.support_core import (
    audit_actions,
    contact,
    customer,
    log_body,
    log_interaction,
)

URL = "/api/v1/interactions"


def test_log_read_change_and_delete_an_interaction(
    client: TestClient, people: People, session: Session
):
    rep = people.user("manager")
    api = people.token(rep)
    shop = customer(session, rep.user, "宁波海味批发", organisation=True)
    manager = contact(session, rep.user, shop, "陈经理")

    logged = log_interaction(
        client,
        api,
        shop,
        channel="wechat",
        direction="outbound",
        contact_id=manager,
        duration_seconds=0,
        occurred_at="2026-11-30T09:15:00+08:00",
    )
    assert logged["channel"] == "wechat" and logged["direction"] == "outbound"
    assert logged["customer_name"] == "宁波海味批发" and logged["contact_name"] == "陈经理"
    assert logged["user_id"] == rep.user.id and logged["user_name"] == rep.username
    assert logged["source"] == "api" and logged["version"] == 1
    assert logged["duration_seconds"] == 0  # zero is a boundary, not an error
    occurred = datetime.fromisoformat(logged["occurred_at"])
    assert occurred == datetime(2026, 11, 30, 1, 15, tzinfo=UTC)

    read = client.get(f"{URL}/{logged['id']}", headers=api)
    assert read.status_code == 200 and read.json()["notes"] == "客户想订明前龙井五斤。"
    assert read.headers["ETag"] == 'W/"1"'

    changed = client.patch(
        f"{URL}/{logged['id']}",
        json={"outcome": "ordered", "contact_id": None, "channel": None},
        headers=api | {"If-Match": 'W/"1"'},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["outcome"] == "ordered" and body["contact_id"] is None
    assert body["channel"] == "wechat"  # null for a field that cannot be empty leaves it alone
    assert body["version"] == 2 and changed.headers["ETag"] == 'W/"2"'

    stale = client.patch(
        f"{URL}/{logged['id']}", json={"subject": "旧版本"}, headers=api | {"If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")

    stale_delete = client.delete(f"{URL}/{logged['id']}", headers=api | {"If-Match": 'W/"1"'})
    assert stale_delete.status_code == 412
    gone = client.delete(f"{URL}/{logged['id']}", headers=api | {"If-Match": 'W/"2"'})
    assert gone.status_code == 204
    assert client.get(f"{URL}/{logged['id']}", headers=api).status_code == 404
    assert session.get(Interaction, logged["id"]) is None

    assert audit_actions(session, logged["id"]) == ["create", "update", "delete"]


def test_bad_input_is_refused_with_the_field_named(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user, "温州鞋业", organisation=True)
    elsewhere = customer(session, rep.user, "台州阀门", organisation=True)
    strangers_contact = contact(session, rep.user, elsewhere, "李总")

    def refused(**fields: object) -> list[str]:
        reply = client.post(URL, json=log_body(buyer, **fields), headers=api)
        assert reply.status_code == 422, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
        return [e["field"] for e in reply.json()["errors"]]

    assert refused(channel="pigeon") == ["body.channel"]
    assert refused(direction="sideways") == ["body.direction"]
    assert refused(duration_seconds=-1) == ["body.duration_seconds"]
    assert refused(contact_id=strangers_contact) == ["contact_id"]
    assert refused(subject="话" * 201) == ["body.subject"]
    assert session.scalar(select(Interaction.id).where(Interaction.customer_id == buyer)) is None

    logged = log_interaction(client, api, buyer)
    wrong_link = client.patch(
        f"{URL}/{logged['id']}", json={"contact_id": strangers_contact}, headers=api
    )
    assert wrong_link.status_code == 422
    assert [e["field"] for e in wrong_link.json()["errors"]] == ["contact_id"]
    negative = client.patch(f"{URL}/{logged['id']}", json={"duration_seconds": -5}, headers=api)
    assert negative.status_code == 422
    assert client.get(f"{URL}/{logged['id']}", headers=api).json()["version"] == 1

    unknown_customer = client.post(URL, json=log_body(10**9), headers=api)
    assert unknown_customer.status_code == 404
    bad_cursor = client.get(URL, params={"cursor": "nonsense"}, headers=api)
    assert bad_cursor.status_code == 422


def test_list_filters_and_pages(client: TestClient, people: People, session: Session):
    rep = people.user("service")
    colleague = people.user("service")
    api = people.token(rep)
    other_api = people.token(colleague)
    first = customer(session, rep.user, "苏州丝绸")
    second = customer(session, rep.user, "无锡茶叶")
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    channels = ["phone", "email", "sms", "wechat", "fax", "visit", "meeting", "web_chat"]
    for hours, channel in enumerate(channels):
        log_interaction(
            client,
            api,
            first,
            channel=channel,
            direction="outbound" if hours % 2 else "inbound",
            occurred_at=(start + timedelta(hours=hours)).isoformat(),
        )
    log_interaction(client, other_api, second, channel="call_centre", occurred_at=start.isoformat())

    def ids(**params: object) -> list[str]:
        reply = client.get(URL, params=params, headers=api)
        assert reply.status_code == 200, reply.text
        return [item["channel"] for item in reply.json()["items"]]

    assert ids(customer_id=first) == list(reversed(channels))  # latest first
    assert ids(customer_id=second) == ["call_centre"]
    assert ids(channel="fax") == ["fax"]
    assert ids(customer_id=first, direction="inbound") == ["meeting", "fax", "sms", "phone"]
    assert ids(user_id=colleague.user.id) == ["call_centre"]
    # from inclusive, to exclusive
    window = {"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T13:00:00Z"}
    assert ids(customer_id=first, **window) == ["fax", "wechat", "sms"]
    assert ids(customer_id=first, **{"from": "2026-12-01T23:00:00+08:00"}) == ["web_chat"]
    bad_channel = client.get(URL, params={"channel": "pigeon"}, headers=api)
    assert bad_channel.status_code == 422

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"customer_id": first, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get(URL, params=params, headers=api).json()
        seen += [item["channel"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(channels))


def test_roles_and_visibility(client: TestClient, people: People, session: Session):
    east, west = people.team("East"), people.team("West")
    owner = people.user("sales", team=east)
    outsider = people.user("sales", team=west)
    analyst = people.user("analyst")
    owner_api = people.token(owner)
    outsider_api = people.token(outsider)
    analyst_api = people.token(analyst)
    mine = customer(session, owner.user, "嘉兴粽子")
    theirs = customer(session, outsider.user, "湖州毛笔")
    logged = log_interaction(client, owner_api, mine)
    log_interaction(client, outsider_api, theirs)

    # the outsider may not see the customer: everything about it is "not found"
    assert client.get(URL, params={"customer_id": mine}, headers=outsider_api).status_code == 404
    assert client.get(f"{URL}/{logged['id']}", headers=outsider_api).status_code == 404
    hidden_patch = client.patch(
        f"{URL}/{logged['id']}", json={"subject": "x"}, headers=outsider_api
    )
    assert hidden_patch.status_code == 404
    assert client.post(URL, json=log_body(mine), headers=outsider_api).status_code == 404
    everything = client.get(URL, headers=outsider_api).json()["items"]
    assert [item["customer_id"] for item in everything] == [theirs]

    # the analyst reads every customer's touchpoints but may not log or change them
    assert client.get(f"{URL}/{logged['id']}", headers=analyst_api).status_code == 200
    assert client.post(URL, json=log_body(mine), headers=analyst_api).status_code == 403
    analyst_patch = client.patch(
        f"{URL}/{logged['id']}", json={"subject": "x"}, headers=analyst_api
    )
    assert analyst_patch.status_code == 403
    assert client.delete(f"{URL}/{logged['id']}", headers=analyst_api).status_code == 403
    # a sales rep logs and corrects their touchpoints but does not delete them
    assert client.delete(f"{URL}/{logged['id']}", headers=owner_api).status_code == 403
    assert client.get(URL).status_code == 401


def test_a_page_costs_the_same_few_queries_however_many_customers_it_shows(
    client: TestClient, people: People, session: Session, connection: Connection
):
    boss = people.user("manager", team=people.team("North"))
    api = people.token(boss)

    def logged_for(count: int) -> None:
        for n in range(count):
            buyer = customer(session, boss.user, f"客户{count}-{n}", organisation=True)
            log_interaction(client, api, buyer, contact_id=contact(session, boss.user, buyer))

    def queries_for_a_page() -> int:
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(connection, "before_cursor_execute", seen)
        try:
            reply = client.get(URL, params={"limit": 50}, headers=api)
        finally:
            event.remove(connection, "before_cursor_execute", seen)
        assert reply.status_code == 200
        return len(statements)

    logged_for(3)
    few = queries_for_a_page()
    logged_for(20)
    assert len(client.get(URL, params={"limit": 50}, headers=api).json()["items"]) == 23
    many = queries_for_a_page()
    assert many == few, f"{few} queries for 3 rows but {many} for 23"
