"""The routing administration pages: stations, queues with agents, rules, and an agent's own
availability, driven through their forms; refused forms keep what was typed; roles hold."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.service_desk.models import QueueMember, RoutingRule, ServiceQueue, ServiceStation
from tests.conftest import People
from tests.web.forms import sign_in, submit


def test_stations_are_added_edited_and_refused_with_what_was_typed(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    sign_in(client, admin.username, admin.password)
    page = client.get("/admin/service-stations")
    assert page.status_code == 200 and "No service stations yet." in page.text

    added = submit(
        client,
        "/admin/service-stations",
        "/admin/service-stations",
        {"name": "上海浦东服务站", "latitude": "31.2215", "longitude": "121.5444", "city": "上海"},
    )
    assert added.status_code == 303
    station = session.scalars(select(ServiceStation)).one()
    assert (station.latitude, station.longitude, station.city) == (31.2215, 121.5444, "上海")
    assert "上海浦东服务站" in client.get("/admin/service-stations").text

    refused = submit(
        client,
        "/admin/service-stations",
        "/admin/service-stations",
        {"name": "北京站", "latitude": "95", "longitude": "116.4", "address": "朝阳路 1 号"},
    )
    assert refused.status_code == 422
    assert 'value="朝阳路 1 号"' in refused.text and 'value="95"' in refused.text
    assert 'aria-invalid="true" aria-describedby="e-latitude"' in refused.text
    taken = submit(
        client,
        "/admin/service-stations",
        "/admin/service-stations",
        {"name": "上海浦东服务站", "latitude": "31", "longitude": "121"},
    )
    assert taken.status_code == 422 and 'id="e-name"' in taken.text

    url = f"/admin/service-stations/{station.id}"
    saved = submit(
        client,
        url,
        url,
        {
            "name": "上海浦东服务站",
            "latitude": "31.23",
            "longitude": "121.5444",
            "phone": "021-1234",
            "version": str(station.version),
        },
    )
    assert saved.status_code == 303
    session.refresh(station)
    assert station.latitude == 31.23 and station.phone == "021-1234"
    assert station.is_active is False  # the box was not ticked
    closed = client.get("/admin/service-stations").text
    assert "Closed" in closed or "已关闭" in closed

    assert submit(client, url, f"{url}/delete", {}).status_code == 303
    assert session.scalar(select(ServiceStation.id).where(ServiceStation.id == station.id)) is None


def test_queues_agents_and_availability(client: TestClient, people: People, session: Session):
    admin = people.user("admin")
    agent = people.user("service")
    sign_in(client, admin.username, admin.password)
    made = submit(
        client, "/admin/service-queues", "/admin/service-queues", {"name": "维修", "manager_id": ""}
    )
    assert made.status_code == 303
    queue = session.scalars(select(ServiceQueue)).one()
    url = f"/admin/service-queues/{queue.id}"
    assert made.headers["location"] == url

    added = submit(
        client,
        url,
        f"{url}/members",
        {"user_id": str(agent.user.id), "skills": "repair，en, repair", "available": "on"},
    )
    assert added.status_code == 303
    member = session.get(QueueMember, (queue.id, agent.user.id))
    assert member is not None and member.skills == ["repair", "en"] and member.available
    page = client.get(url).text
    assert agent.username in page and 'value="repair, en"' in page

    # the agent goes off duty on their own page
    client.cookies.clear()
    sign_in(client, agent.username, agent.password)
    mine = client.get("/service/availability")
    assert mine.status_code == 200 and "维修" in mine.text
    assert submit(client, "/service/availability", "/service/availability", {}).status_code == 303
    session.refresh(member)
    assert member.available is False
    back = submit(
        client,
        "/service/availability",
        "/service/availability",
        {"queue_id": str(queue.id), "available": "on"},
    )
    assert back.status_code == 303
    session.refresh(member)
    assert member.available is True
    wrong = submit(
        client,
        "/service/availability",
        "/service/availability",
        {"queue_id": "999999", "available": "on"},
    )
    assert wrong.status_code == 422

    client.cookies.clear()
    sign_in(client, admin.username, admin.password)
    assert submit(client, url, f"{url}/members/{agent.user.id}/remove", {}).status_code == 303
    assert session.scalars(select(QueueMember)).all() == []


def test_rules_from_the_form_with_conditions_and_order(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    sign_in(client, admin.username, admin.password)
    empty = client.get("/admin/routing-rules").text
    assert "Create a queue first" in empty or "请先创建队列" in empty
    queue = ServiceQueue(name="投诉")
    session.add(queue)
    session.flush()

    form = {
        "name": "贵宾投诉",
        "queue_id": str(queue.id),
        "kind": ["complaint", "service_request"],
        "tier": "vip",
        "region": "上海，北京",
        "keywords": "漏水, 爆炸",
        "skill": "vip",
        "is_active": "on",
    }
    made = submit(client, "/admin/routing-rules", "/admin/routing-rules", form)
    assert made.status_code == 303, made.text
    rule = session.scalars(select(RoutingRule)).one()
    assert rule.conditions == {
        "kind": ["complaint", "service_request"],
        "tier": ["vip"],
        "region": ["上海", "北京"],
        "keywords": ["漏水", "爆炸"],
    }
    assert rule.position == 10 and rule.skill == "vip"

    refused = submit(
        client,
        "/admin/routing-rules",
        "/admin/routing-rules",
        {**form, "name": "坏规则", "product_id": "12345678"},
    )
    assert refused.status_code == 422
    assert 'value="坏规则"' in refused.text and 'id="e-product_id"' in refused.text
    assert 'value="complaint" checked' in refused.text

    url = f"/admin/routing-rules/{rule.id}"
    edit = client.get(url).text
    assert 'value="上海, 北京"' in edit
    saved = submit(
        client,
        url,
        url,
        {
            "name": "所有投诉",
            "queue_id": str(queue.id),
            "kind": "complaint",
            "position": "3",
            "version": str(rule.version),
        },
    )
    assert saved.status_code == 303
    session.refresh(rule)
    assert rule.conditions == {"kind": ["complaint"]} and rule.position == 3
    assert rule.is_active is False and rule.skill == ""
    assert submit(client, url, f"{url}/delete", {}).status_code == 303
    assert session.scalar(select(RoutingRule.id).where(RoutingRule.id == rule.id)) is None


def test_who_may_see_and_change_the_routing_pages(client: TestClient, people: People):
    sales = people.user("sales")
    marketer = people.user("marketing")
    sign_in(client, sales.username, sales.password)
    for url in ("/admin/service-stations", "/admin/service-queues", "/admin/routing-rules"):
        page = client.get(url)
        assert page.status_code == 200
        assert "New " not in page.text and "新建" not in page.text  # no forms to change things
    refused = submit(
        client,
        "/admin/service-stations",
        "/admin/service-stations",
        {"name": "x", "latitude": "1", "longitude": "1"},
    )
    assert refused.status_code == 403

    client.cookies.clear()
    sign_in(client, marketer.username, marketer.password)
    assert client.get("/admin/service-stations").status_code == 403
    assert client.get("/service/availability").status_code == 403
