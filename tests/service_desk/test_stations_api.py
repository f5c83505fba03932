"""Service stations, queues with agents, and routing rules through /api/v1: the fixed station
interface, validation as problem details, soft deletion, If-Match, and who may do what."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.sales.models import Product
from guanxi.service_desk.models import Ticket
from tests.conftest import People

SHANGHAI = {"name": "上海浦东服务站", "latitude": 31.2215, "longitude": 121.5444}


def _problem(reply: Any, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    return dict(reply.json())


def test_a_script_adds_a_station_with_name_and_coordinates(client: TestClient, people: People):
    api = people.token(people.user("admin"))
    made = client.post("/api/v1/service-stations", json=SHANGHAI, headers=api)
    assert made.status_code == 201, made.text
    station = made.json()
    assert station["name"] == "上海浦东服务站" and station["is_active"] is True
    assert (station["latitude"], station["longitude"]) == (31.2215, 121.5444)
    assert station["address"] == "" and station["queue_id"] is None
    assert made.headers["ETag"] == 'W/"1"'

    full = client.post(
        "/api/v1/service-stations",
        json={
            "name": "北京朝阳服务站",
            "latitude": 39.9215,
            "longitude": 116.4432,
            "address": "朝阳路 1 号",
            "city": "北京",
            "region": "北京市",
            "phone": "010-12345678",
        },
        headers=api,
    )
    assert full.status_code == 201 and full.json()["phone"] == "010-12345678"
    listed = client.get("/api/v1/service-stations", headers=api).json()
    assert [s["name"] for s in listed] == sorted(["上海浦东服务站", "北京朝阳服务站"])
    one = client.get(f"/api/v1/service-stations/{station['id']}", headers=api)
    assert one.json()["name"] == "上海浦东服务站"
    assert client.get("/api/v1/service-stations/999999", headers=api).status_code == 404


def test_coordinates_and_names_are_checked(client: TestClient, people: People):
    api = people.token(people.user("admin"))
    for field, value in [
        ("latitude", 90.0001),
        ("latitude", -91),
        ("longitude", 180.5),
        ("longitude", -181),
        ("latitude", "north"),
        ("latitude", None),
        ("name", "  "),
        ("name", "站" * 121),
    ]:
        reply = client.post(
            "/api/v1/service-stations", json={**SHANGHAI, field: value}, headers=api
        )
        problem = _problem(reply, 422)
        assert any(field in str(e.get("field", "")) for e in problem["errors"]), problem
    missing = client.post("/api/v1/service-stations", json={"name": "无坐标"}, headers=api)
    _problem(missing, 422)
    # the edges themselves are places
    for lat, lng in [(90, 180), (-90, -180), (0, 0)]:
        edge = client.post(
            "/api/v1/service-stations",
            json={"name": f"edge {lat} {lng}", "latitude": lat, "longitude": lng},
            headers=api,
        )
        assert edge.status_code == 201, edge.text

    assert client.post("/api/v1/service-stations", json=SHANGHAI, headers=api).status_code == 201
    taken = _problem(client.post("/api/v1/service-stations", json=SHANGHAI, headers=api), 409)
    assert taken["errors"][0]["field"] == "name"
    no_queue = client.post(
        "/api/v1/service-stations", json={**SHANGHAI, "name": "x", "queue_id": 424242}, headers=api
    )
    assert _problem(no_queue, 422)["errors"][0]["field"] == "queue_id"


def test_patch_with_if_match_and_delete_softly_when_tickets_name_the_station(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    api = people.token(admin)
    station = client.post("/api/v1/service-stations", json=SHANGHAI, headers=api).json()
    url = f"/api/v1/service-stations/{station['id']}"

    moved = client.patch(
        url,
        json={"latitude": 31.23, "address": "世纪大道 100 号"},
        headers={**api, "If-Match": 'W/"1"'},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["latitude"] == 31.23 and moved.json()["longitude"] == 121.5444
    stale = client.patch(url, json={"phone": "1"}, headers={**api, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    bad = client.patch(url, json={"longitude": 200}, headers=api)
    _problem(bad, 422)
    assert client.get(url, headers=api).json()["longitude"] == 121.5444

    # a ticket names the station: deleting closes it instead
    customer = customer_service.create(
        session=session, actor=admin.user, customer_in=CustomerCreate(name="王芳")
    )
    session.add(
        Ticket(
            kind="service_request",
            subject="维修",
            customer_id=customer.id,
            station_id=station["id"],
        )
    )
    session.flush()
    assert client.delete(url, headers=api).status_code == 204
    kept = client.get(url, headers=api).json()
    assert kept["is_active"] is False
    assert client.get("/api/v1/service-stations?active=true", headers=api).json() == []

    unused = client.post(
        "/api/v1/service-stations", json={**SHANGHAI, "name": "空站"}, headers=api
    ).json()
    assert client.delete(f"/api/v1/service-stations/{unused['id']}", headers=api).status_code == 204
    assert client.get(f"/api/v1/service-stations/{unused['id']}", headers=api).status_code == 404


def test_who_may_read_and_who_may_change(client: TestClient, people: People):
    admin = people.token(people.user("admin"))
    sales = people.token(people.user("sales"))
    service = people.token(people.user("service"))
    manager = people.token(people.user("manager"))
    marketing = people.token(people.user("marketing"))

    for not_a_lead in (sales, service):  # agents work tickets; managers set up the desk
        _problem(client.post("/api/v1/service-stations", json=SHANGHAI, headers=not_a_lead), 403)
    assert (
        client.post("/api/v1/service-stations", json=SHANGHAI, headers=manager).status_code == 201
    )
    station_id = client.get("/api/v1/service-stations", headers=admin).json()[0]["id"]
    # sales reads tickets, so sees the stations, but changes nothing
    assert client.get("/api/v1/service-stations", headers=sales).status_code == 200
    for method, url, body in [
        ("PATCH", f"/api/v1/service-stations/{station_id}", {"phone": "1"}),
        ("DELETE", f"/api/v1/service-stations/{station_id}", None),
        ("POST", "/api/v1/service-queues", {"name": "q"}),
        ("POST", "/api/v1/routing-rules", {"name": "r", "queue_id": 1}),
    ]:
        assert client.request(method, url, json=body, headers=sales).status_code == 403
    # marketing has no ticket permission at all
    for url in ("/api/v1/service-stations", "/api/v1/service-queues", "/api/v1/routing-rules"):
        assert client.get(url, headers=marketing).status_code == 403
        assert client.get(url).status_code == 401


def test_queues_with_agents_skills_and_availability(
    client: TestClient, people: People, session: Session
):
    admin = people.user("admin")
    api = people.token(admin)
    agent = people.user("service")
    other = people.user("service")
    made = client.post(
        "/api/v1/service-queues",
        json={
            "name": "维修",
            "manager_id": admin.user.id,
            "members": [
                {"user_id": agent.user.id, "skills": ["repair", "Repair", "en"]},
                {"user_id": other.user.id, "available": False},
            ],
        },
        headers=api,
    )
    assert made.status_code == 201, made.text
    queue = made.json()
    by_user = {m["user_id"]: m for m in queue["members"]}
    assert by_user[agent.user.id]["skills"] == ["repair", "en"]  # one of each, as first written
    assert by_user[other.user.id]["available"] is False
    assert by_user[agent.user.id]["open_tickets"] == 0
    url = f"/api/v1/service-queues/{queue['id']}"

    _problem(client.post("/api/v1/service-queues", json={"name": "维修"}, headers=api), 409)
    unknown_member = client.post(
        "/api/v1/service-queues",
        json={"name": "x", "members": [{"user_id": 999999}]},
        headers=api,
    )
    assert _problem(unknown_member, 422)["errors"][0]["field"] == "members.0.user_id"

    # the agent goes off duty themselves, with only "tickets read"-level rights needed
    off = client.post(
        "/api/v1/service-queues/availability",
        json={"available": False},
        headers=people.token(agent),
    )
    assert off.status_code == 200 and off.json() == [queue["id"]]
    members = {m["user_id"]: m for m in client.get(url, headers=api).json()["members"]}
    assert members[agent.user.id]["available"] is False
    not_mine = client.post(
        "/api/v1/service-queues/availability",
        json={"available": True, "queue_id": 999999},
        headers=people.token(agent),
    )
    _problem(not_mine, 404)

    # change one member, add one, remove one
    patched = client.patch(
        f"{url}/members/{other.user.id}", json={"skills": ["aircon"]}, headers=api
    )
    assert {m["user_id"]: m["skills"] for m in patched.json()["members"]}[other.user.id] == [
        "aircon"
    ]
    third = people.user("service")
    added = client.put(f"{url}/members", json={"user_id": third.user.id}, headers=api)
    assert len(added.json()["members"]) == 3
    assert client.delete(f"{url}/members/{other.user.id}", headers=api).status_code == 204
    assert client.delete(f"{url}/members/{other.user.id}", headers=api).status_code == 404
    # members sent with PATCH replace the list
    replaced = client.patch(url, json={"members": [{"user_id": third.user.id}]}, headers=api)
    assert [m["user_id"] for m in replaced.json()["members"]] == [third.user.id]

    # a queue a rule names is closed, not deleted
    client.post("/api/v1/routing-rules", json={"name": "r", "queue_id": queue["id"]}, headers=api)
    assert client.delete(url, headers=api).status_code == 204
    assert client.get(url, headers=api).json()["is_active"] is False
    empty = client.post("/api/v1/service-queues", json={"name": "空"}, headers=api).json()
    assert client.delete(f"/api/v1/service-queues/{empty['id']}", headers=api).status_code == 204
    assert client.get(f"/api/v1/service-queues/{empty['id']}", headers=api).status_code == 404


def test_rules_are_checked_and_kept_in_order(client: TestClient, people: People, session: Session):
    api = people.token(people.user("admin"))
    queue = client.post("/api/v1/service-queues", json={"name": "投诉"}, headers=api).json()
    product = Product(name="热水器", sku="WH-1")
    session.add(product)
    session.flush()

    first = client.post(
        "/api/v1/routing-rules",
        json={
            "name": "贵宾投诉",
            "queue_id": queue["id"],
            "skill": "vip",
            "conditions": {
                "kind": "complaint",
                "tier": ["VIP", "key"],
                "region": "上海",
                "keywords": ["漏水", " 爆炸 "],
                "product_id": [str(product.id)],
                "category": [],
            },
        },
        headers=api,
    )
    assert first.status_code == 201, first.text
    rule = first.json()
    assert rule["conditions"] == {
        "kind": ["complaint"],
        "tier": ["vip", "key"],
        "region": ["上海"],
        "keywords": ["漏水", "爆炸"],
        "product_id": [product.id],
    }
    assert rule["position"] == 10
    second = client.post(
        "/api/v1/routing-rules", json={"name": "其余", "queue_id": queue["id"]}, headers=api
    ).json()
    assert second["position"] == 20 and second["conditions"] == {}
    moved = client.patch(f"/api/v1/routing-rules/{second['id']}", json={"position": 5}, headers=api)
    assert moved.json()["position"] == 5
    order = [r["id"] for r in client.get("/api/v1/routing-rules", headers=api).json()]
    assert order == [second["id"], rule["id"]]

    for conditions, field in [
        ({"colour": "red"}, "conditions.colour"),
        ({"kind": "praise"}, "conditions.kind"),
        ({"tier": "gold"}, "conditions.tier"),
        ({"product_id": [999999]}, "conditions.product_id"),
        ({"product_id": ["abc"]}, "conditions.product_id"),
        ({"keywords": [1]}, "conditions.keywords"),
        ({"keywords": [""]}, "conditions.keywords"),
        ({"language": {"a": 1}}, "conditions.language"),
    ]:
        reply = client.post(
            "/api/v1/routing-rules",
            json={"name": "坏", "queue_id": queue["id"], "conditions": conditions},
            headers=api,
        )
        assert _problem(reply, 422)["errors"][0]["field"] == field, conditions
        patch = client.patch(
            f"/api/v1/routing-rules/{rule['id']}", json={"conditions": conditions}, headers=api
        )
        assert _problem(patch, 422)["errors"][0]["field"] == field
    no_queue = client.post(
        "/api/v1/routing-rules", json={"name": "x", "queue_id": 999999}, headers=api
    )
    assert _problem(no_queue, 422)["errors"][0]["field"] == "queue_id"
    assert client.get(f"/api/v1/routing-rules/{rule['id']}", headers=api).json() == rule

    assert client.delete(f"/api/v1/routing-rules/{rule['id']}", headers=api).status_code == 204
    assert client.get(f"/api/v1/routing-rules/{rule['id']}", headers=api).status_code == 404
