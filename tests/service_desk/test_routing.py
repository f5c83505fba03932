"""Routing on tickets built in the session: rules in order and each kind of condition, the
least-loaded available agent with the needed skill, and service requests sent to the nearest
station, from coordinates on the ticket or from the customer's address located offline."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerCreate
from guanxi.sales.models import OwnedItem, Product
from guanxi.service_desk import routing
from guanxi.service_desk.models import (
    QueueMember,
    RoutingRule,
    ServiceQueue,
    ServiceStation,
    Ticket,
)
from tests.conftest import People


def _customer(session: Session, owner: User, name: str = "王芳", **fields: Any) -> Customer:
    made = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name=name)
    )
    for key, value in fields.items():  # region, city, district, value_tier, custom_fields
        setattr(made, key, value)
    session.flush()
    return made


def _ticket(session: Session, customer: Customer, **fields: Any) -> Ticket:
    values: dict[str, Any] = {"kind": "inquiry", "subject": "咨询", "customer_id": customer.id}
    values.update(fields)
    made = Ticket(**values)
    session.add(made)
    session.flush()
    return made


def _queue(session: Session, name: str, **fields: Any) -> ServiceQueue:
    made = ServiceQueue(name=name, **fields)
    session.add(made)
    session.flush()
    return made


def _member(
    session: Session, queue: ServiceQueue, user: User, *skills: str, available: bool = True
) -> None:
    session.add(
        QueueMember(queue_id=queue.id, user_id=user.id, skills=list(skills), available=available)
    )
    session.flush()


def _rule(
    session: Session, queue: ServiceQueue, position: int, skill: str = "", **conditions: Any
) -> RoutingRule:
    made = RoutingRule(
        name=f"rule {position}",
        position=position,
        queue_id=queue.id,
        skill=skill,
        conditions=conditions,
    )
    session.add(made)
    session.flush()
    return made


def _station(session: Session, name: str, latitude: float, longitude: float, **f: Any):
    made = ServiceStation(name=name, latitude=latitude, longitude=longitude, **f)
    session.add(made)
    session.flush()
    return made


@pytest.fixture
def owner(people: People) -> User:
    return people.user("sales").user


def test_a_shanghai_problem_goes_to_the_shanghai_station(
    session: Session, people: People, owner: User
):
    beijing = _station(session, "北京朝阳服务站", 39.9215, 116.4432, city="北京")
    shanghai = _station(session, "上海浦东服务站", 31.2215, 121.5444, city="上海")
    _station(session, "上海关闭的网点", 31.2304, 121.4737, is_active=False)  # closed: ignored

    # coordinates given on the ticket (the People's Square), whoever the customer is
    far_customer = _customer(session, owner, "北京客户", region="北京", city="北京市")
    on_ticket = _ticket(
        session,
        far_customer,
        kind="service_request",
        latitude=31.2304,
        longitude=121.4737,
    )
    routing.route(session, on_ticket)
    assert on_ticket.station_id == shanghai.id

    # only the customer's address, located offline
    pudong = _customer(
        session, owner, "浦东客户", region="上海市", city="上海市", district="浦东新区"
    )
    from_address = _ticket(session, pudong, kind="service_request")
    routing.route(session, from_address)
    assert from_address.station_id == shanghai.id
    assert routing.locate_customer(pudong) == pytest.approx((31.221517, 121.544379))

    # and a Beijing customer to the Beijing station, so the answer is not always Shanghai
    routing.route(session, beijing_ticket := _ticket(session, far_customer, kind="service_request"))
    assert beijing_ticket.station_id == beijing.id

    # coordinates stored on the record beat the address
    far_customer.custom_fields = {"latitude": 31.2, "longitude": 121.5}
    session.flush()
    routing.route(session, stored := _ticket(session, far_customer, kind="service_request"))
    assert stored.station_id == shanghai.id


def test_only_service_requests_get_a_station_and_unknown_places_get_none(
    session: Session, owner: User
):
    _station(session, "上海浦东服务站", 31.2215, 121.5444)
    pudong = _customer(session, owner, region="上海", district="浦东新区")
    complaint = _ticket(session, pudong, kind="complaint")
    routing.route(session, complaint)
    assert complaint.station_id is None

    nowhere = _customer(session, owner, "无地址客户")
    request = _ticket(session, nowhere, kind="service_request")
    routing.route(session, request)
    assert request.station_id is None

    # a station chosen by hand is kept
    other = _station(session, "苏州服务站", 31.2989, 120.5853)
    chosen = _ticket(session, pudong, kind="service_request", station_id=other.id)
    routing.route(session, chosen)
    assert chosen.station_id == other.id


def test_nearest_station_measures_great_circles(session: Session):
    assert routing.nearest_station(session, 31.23, 121.47) is None  # no stations yet
    guangzhou = _station(session, "广州服务站", 23.1291, 113.2644)
    chengdu = _station(session, "成都服务站", 30.5728, 104.0668)
    harbin = _station(session, "哈尔滨服务站", 45.8038, 126.5349)
    assert routing.nearest_station(session, 22.5431, 114.0579) is guangzhou  # Shenzhen
    assert routing.nearest_station(session, 29.5630, 106.5516) is chengdu  # Chongqing
    assert routing.nearest_station(session, 43.8171, 125.3235) is harbin  # Changchun


def test_rules_are_tried_in_position_order_and_the_first_match_wins(
    session: Session, people: People, owner: User
):
    general = _queue(session, "综合")
    vip = _queue(session, "贵宾")
    complaints = _queue(session, "投诉")
    _rule(session, complaints, 20, kind="complaint")
    _rule(session, vip, 10, tier=["vip", "key"])  # earlier position, made later
    _rule(session, general, 30)  # no conditions: catches the rest

    vip_customer = _customer(session, owner, value_tier="vip")
    plain = _customer(session, owner, "普通客户")
    assert _routed(session, vip_customer, kind="complaint").queue_id == vip.id
    assert _routed(session, plain, kind="complaint").queue_id == complaints.id
    assert _routed(session, plain, kind="inquiry").queue_id == general.id
    # a queue set by hand stays
    assert _routed(session, plain, kind="complaint", queue_id=general.id).queue_id == general.id


def _routed(session: Session, customer: Customer, **fields: Any) -> Ticket:
    made = _ticket(session, customer, **fields)
    routing.route(session, made)
    return made


def test_each_condition_kind(session: Session, owner: User):
    product = Product(name="空调 KFR-35", sku="KFR-35")
    session.add(product)
    session.flush()
    queues = {key: _queue(session, f"q-{key}") for key in routing.CONDITION_KEYS}
    fallback = _queue(session, "q-fallback", is_active=True)
    # the fallback queue is not the first active queue, so matches and misses differ
    _rule(session, queues["kind"], 1, kind=["suggestion"])
    _rule(session, queues["category"], 2, category="安装")
    _rule(session, queues["product_id"], 3, product_id=[product.id])
    _rule(session, queues["region"], 4, region=["广东省"])
    _rule(session, queues["tier"], 5, tier="key")
    _rule(session, queues["language"], 6, language=["en"])
    _rule(session, queues["keywords"], 7, keywords=["漏水", "Leak"])
    _rule(session, fallback, 8)

    plain = _customer(session, owner, "北京客户", region="北京")
    cantonese = _customer(session, owner, "广州客户", region="广东", city="广州")
    key = _customer(session, owner, "重点客户", value_tier="key")
    item = OwnedItem(customer_id=plain.id, product_id=product.id, serial_number="SN-1")
    session.add(item)
    session.flush()

    cases: list[tuple[str, Customer, dict[str, Any]]] = [
        ("kind", plain, {"kind": "suggestion"}),
        ("category", plain, {"category": " 安装 "}),
        ("product_id", plain, {"product_id": product.id}),
        ("product_id", plain, {"owned_item_id": item.id}),  # the product of the owned item
        ("region", cantonese, {}),  # 广东 is 广东省
        ("tier", key, {}),
        ("tier", plain, {"tier": "key"}),  # the tier kept on the ticket
        ("language", plain, {"language": "EN"}),
        ("keywords", plain, {"description": "楼上漏水了"}),
        ("keywords", plain, {"subject": "Water LEAKS"}),
    ]
    for expected, customer, fields in cases:
        assert _routed(session, customer, **fields).queue_id == queues[expected].id, fields
    assert _routed(session, plain, subject="别的问题").queue_id == fallback.id


def test_no_rule_means_the_station_queue_or_else_the_first_active_queue(
    session: Session, owner: User
):
    nobody = _customer(session, owner, "客户")
    assert _routed(session, nobody).queue_id is None  # no queues at all

    _queue(session, "已停用", is_active=False)
    first = _queue(session, "第一")
    _queue(session, "第二")
    repairs = _queue(session, "上海维修")
    _station(session, "上海服务站", 31.22, 121.54, queue_id=repairs.id)
    assert _routed(session, nobody).queue_id == first.id
    pudong = _customer(session, owner, region="上海", district="浦东")
    assert _routed(session, pudong, kind="service_request").queue_id == repairs.id
    # a matching rule beats the station's queue
    _rule(session, first, 1, kind="service_request")
    assert _routed(session, pudong, kind="service_request").queue_id == first.id


def test_an_inactive_rule_or_a_rule_to_an_inactive_queue_is_skipped(session: Session, owner: User):
    closed = _queue(session, "关闭", is_active=False)
    live = _queue(session, "开放")
    off = _rule(session, live, 1, kind="complaint")
    off.is_active = False
    _rule(session, closed, 2, kind="complaint")
    other = _queue(session, "其他")
    _rule(session, other, 3, kind="complaint")
    assert _routed(session, _customer(session, owner), kind="complaint").queue_id == other.id


def test_least_loaded_available_agent_with_the_skill(session: Session, people: People, owner: User):
    queue = _queue(session, "维修")
    busy = people.user("service").user
    idle_no_skill = people.user("service").user
    idle_away = people.user("service").user
    fitter = people.user("service").user
    fitter2 = people.user("service").user
    _member(session, queue, busy, "repair", "en")
    _member(session, queue, idle_no_skill, "en")
    _member(session, queue, idle_away, "repair", available=False)
    _member(session, queue, fitter, "Repair")
    _member(session, queue, fitter2, "repair")
    _rule(session, queue, 1, skill="repair", kind="service_request")
    customer = _customer(session, owner)
    # busy has two open tickets, fitter one (plus a closed one, which does not count)
    for status in ("assigned", "waiting"):
        _ticket(session, customer, assignee_id=busy.id, status=status, queue_id=queue.id)
    _ticket(session, customer, assignee_id=fitter.id, status="in_progress", queue_id=queue.id)
    _ticket(session, customer, assignee_id=fitter2.id, status="closed", queue_id=queue.id)
    _ticket(session, customer, assignee_id=fitter2.id, status="resolved", queue_id=queue.id)

    first = _routed(session, customer, kind="service_request")
    assert first.assignee_id == fitter2.id  # no open tickets, has the skill
    # still "new", that open ticket now counts: fitter (1) ties fitter2 (1), lower id wins
    second = _routed(session, customer, kind="service_request")
    assert second.assignee_id == min(fitter.id, fitter2.id)

    # without a skill asked, anyone available: the idle one without the skill
    assert _routed(session, customer, kind="inquiry").assignee_id == idle_no_skill.id

    # an assignee set by hand stays; nobody with the skill -> unassigned
    assert _routed(session, customer, kind="service_request", assignee_id=busy.id).assignee_id == (
        busy.id
    )
    for agent in (fitter, fitter2, busy):
        session.get(QueueMember, (queue.id, agent.id)).available = False  # type: ignore[union-attr]
    session.flush()
    assert _routed(session, customer, kind="service_request").assignee_id is None
    # a deactivated user takes no work even when marked available
    idle_no_skill.is_active = False
    session.flush()
    assert _routed(session, customer, kind="inquiry").assignee_id is None


def test_agent_loads_is_one_query(session: Session, people: People, owner: User):
    queue = _queue(session, "热线")
    agents = [people.user("service").user for _ in range(6)]
    for agent in agents:
        _member(session, queue, agent, "zh")
    customer = _customer(session, owner)
    for index, agent in enumerate(agents):
        for _ in range(index % 3):
            _ticket(session, customer, assignee_id=agent.id, status="assigned")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        loads = routing.agent_loads(session, queue.id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert [load for _user, _skills, load in loads] == [0, 0, 1, 1, 2, 2]
    assert [user for user, _s, _l in loads] == [
        agents[0].id,
        agents[3].id,
        agents[1].id,
        agents[4].id,
        agents[2].id,
        agents[5].id,
    ]
