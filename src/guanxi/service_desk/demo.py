"""Demo service desk (issue 9 item 8): service stations (服务网点) in the cities the demo customers
live in, three queues with their agents and a manager, routing rules, the installed base made
from the demo orders, a year of tickets of every kind with their histories, notes and replies,
SLA due times counted on the real business calendar (hits and misses, VIP targets tighter), and
satisfaction surveys with a realistic spread, complaints scoring lower and a few unhappy VIPs.

Runs after the sales and touch-centre steps and shares their moment ``now``. The stations,
queues, agents, routing rules, holidays and owned products are made here; the tickets, their
histories and surveys in ``demo_tickets``; the bulk writing helpers are in ``demo_rows``. Rows
are written in bulk with one audit entry per batch, as the other demo steps do.
"""

# ruff: noqa: E501  (rows of Chinese demo data read best one to a line)

from __future__ import annotations

import random
from datetime import UTC, date, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.demo import DemoCompany, DemoSize, demo_password, demo_step
from guanxi.sales.demo_catalog import PARTS, SERVICE
from guanxi.sales.models import Order, OrderLine, OwnedItem, Product
from guanxi.service_desk.demo_rows import CHINA, number_rows, write_rows
from guanxi.service_desk.demo_tickets import build_tickets
from guanxi.service_desk.models import (
    CalendarDay,
    QueueMember,
    RoutingRule,
    ServiceQueue,
    ServiceStation,
)

AGENTS: Final = {DemoSize.small: 8, DemoSize.medium: 24, DemoSize.large: 60}

# (name, city, region, address, phone, latitude, longitude): WGS-84 of each district's centre
STATIONS: Final = (
    ("北京朝阳服务站", "北京", "北京", "北京市朝阳区建国路88号", "010-85880001", 39.9219, 116.4436),
    (
        "北京海淀服务站",
        "北京",
        "北京",
        "北京市海淀区中关村大街27号",
        "010-62560002",
        39.9593,
        116.2981,
    ),
    (
        "上海徐汇服务站",
        "上海",
        "上海",
        "上海市徐汇区漕溪北路201号",
        "021-64870003",
        31.1883,
        121.4365,
    ),
    (
        "上海浦东服务站",
        "上海",
        "上海",
        "上海市浦东新区张杨路500号",
        "021-58360004",
        31.2214,
        121.5447,
    ),
    (
        "广州天河服务站",
        "广州",
        "广东",
        "广州市天河区天河路208号",
        "020-38880005",
        23.1249,
        113.3612,
    ),
    (
        "深圳南山服务站",
        "深圳",
        "广东",
        "深圳市南山区南海大道2163号",
        "0755-26660006",
        22.5333,
        113.9304,
    ),
    (
        "杭州西湖服务站",
        "杭州",
        "浙江",
        "杭州市西湖区文三路259号",
        "0571-88860007",
        30.2592,
        120.1300,
    ),
    (
        "成都武侯服务站",
        "成都",
        "四川",
        "成都市武侯区人民南路四段12号",
        "028-85550008",
        30.6423,
        104.0431,
    ),
    (
        "武汉江汉服务站",
        "武汉",
        "湖北",
        "武汉市江汉区解放大道690号",
        "027-85770009",
        30.6015,
        114.2707,
    ),
    (
        "西安雁塔服务站",
        "西安",
        "陕西",
        "西安市雁塔区小寨东路126号",
        "029-85260010",
        34.2138,
        108.9480,
    ),
    (
        "南京鼓楼服务站",
        "南京",
        "江苏",
        "南京市鼓楼区中山北路105号",
        "025-83330011",
        32.0660,
        118.7697,
    ),
    (
        "重庆渝中服务站",
        "重庆",
        "重庆",
        "重庆市渝中区解放碑民族路188号",
        "023-63700012",
        29.5566,
        106.5690,
    ),
    (
        "天津和平服务站",
        "天津",
        "天津",
        "天津市和平区南京路189号",
        "022-23300013",
        39.1172,
        117.1953,
    ),
    (
        "苏州姑苏服务站",
        "苏州",
        "江苏",
        "苏州市姑苏区人民路1118号",
        "0512-65200014",
        31.3117,
        120.6171,
    ),
    (
        "郑州金水服务站",
        "郑州",
        "河南",
        "郑州市金水区花园路39号",
        "0371-65900015",
        34.7998,
        113.6605,
    ),
    (
        "长沙芙蓉服务站",
        "长沙",
        "湖南",
        "长沙市芙蓉区五一大道368号",
        "0731-84400016",
        28.1963,
        112.9867,
    ),
    (
        "青岛市南服务站",
        "青岛",
        "山东",
        "青岛市市南区香港中路76号",
        "0532-85800017",
        36.0671,
        120.3826,
    ),
)
QUEUES: Final = (
    ("投诉处理", "客户投诉：质量、物流、价格和服务态度，VIP 投诉优先。"),
    ("售后维修", "安装、维修、保养和退换货的上门服务，派往最近的服务网点。"),
    ("咨询热线", "产品、价格、保修和发票咨询，以及客户建议。"),
)
# (name, conditions, queue, skill), in order: the first that matches wins
RULES: Final = (
    (
        "VIP 投诉 → 投诉处理 (资深)",
        {"kind": "complaint", "tier": ["vip", "key"]},
        "投诉处理",
        "vip",
    ),
    ("投诉 → 投诉处理", {"kind": "complaint"}, "投诉处理", ""),
    (
        "安装 → 售后维修 (安装)",
        {"kind": "service_request", "category": "安装"},
        "售后维修",
        "install",
    ),
    ("服务请求 → 售后维修", {"kind": "service_request"}, "售后维修", "repair"),
    ("英文来电 → 咨询热线 (English)", {"language": "en"}, "咨询热线", "en"),
    ("咨询和建议 → 咨询热线", {"kind": ["inquiry", "suggestion"]}, "咨询热线", ""),
)
# which queues an agent works, by agent number modulo 4, and their skills
_AGENT_PLANS: Final = (
    (("投诉处理",), ["vip", "complaint"]),
    (("售后维修",), ["repair", "install"]),
    (("售后维修", "咨询热线"), ["repair"]),
    (("咨询热线", "投诉处理"), ["en", "complaint"]),
)
_AGENT_NAMES: Final = (
    "周晓燕", "吴海涛", "郑丽", "孙浩", "马俊", "朱婷", "胡斌", "郭雪", "何磊", "高敏",
    "林峰", "罗琳", "梁宇", "宋佳", "唐亮", "许静", "韩冰", "冯超", "邓洁", "曹阳",
)  # fmt: skip

# 2026 public holidays and make-up working days (国务院办公厅 schedule)
HOLIDAYS_2026: Final = (
    ("元旦", date(2026, 1, 1), date(2026, 1, 3), (date(2026, 1, 4),)),
    ("春节", date(2026, 2, 15), date(2026, 2, 23), (date(2026, 2, 14), date(2026, 2, 28))),
    ("清明节", date(2026, 4, 4), date(2026, 4, 6), ()),
    ("劳动节", date(2026, 5, 1), date(2026, 5, 5), (date(2026, 5, 9),)),
    ("端午节", date(2026, 6, 19), date(2026, 6, 21), ()),
    ("中秋节", date(2026, 9, 25), date(2026, 9, 27), ()),
    ("国庆节", date(2026, 10, 1), date(2026, 10, 7), (date(2026, 9, 20), date(2026, 10, 10))),
)

_RETAILERS: Final = {
    "store": "本公司门店",
    "web": "官方商城",
    "phone": "电话订购",
    "distributor": "授权经销商",
    "field": "企业客户部",
    "marketplace": "天猫旗舰店",
    "other": "其他渠道",
}


# ---------------------------------------------------------------- set-up: stations, queues, agents


@demo_step(50)
def service_setup(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """Holidays on the default calendar, queues, agents with skills, rules and stations."""
    known = set(session.scalars(select(CalendarDay.day).where(CalendarDay.calendar_id == 1)))
    for name, first, last, workdays in HOLIDAYS_2026:
        day = first
        while day <= last:
            if day not in known:
                session.add(CalendarDay(calendar_id=1, day=day, kind="holiday", name=name))
            day += timedelta(days=1)
        for workday in workdays:
            if workday not in known:
                session.add(
                    CalendarDay(calendar_id=1, day=workday, kind="workday", name=f"{name}调休")
                )

    lead = company.users["service"]  # 刘洋, who leads customer service
    team_id = lead.team_id
    queues = {
        name: ServiceQueue(name=name, description=text, team_id=team_id, manager_id=lead.id)
        for name, text in QUEUES
    }
    session.add_all(queues.values())
    session.flush()
    members: list[QueueMember] = [
        QueueMember(queue_id=queue.id, user_id=lead.id, skills=["vip", "complaint"])
        for queue in queues.values()
    ]
    for number in range(1, AGENTS[company.size] + 1):
        username = f"agent{number:03d}"
        name = _AGENT_NAMES[(number - 1) % len(_AGENT_NAMES)]
        if number > len(_AGENT_NAMES):
            name += str(number // len(_AGENT_NAMES) + 1)
        user = auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username=username,
                password=demo_password(company.seed, username),
                role="service",
                team_id=team_id,
                display_name=name,
                email=f"{username}@demo.guanxi.example",
            ),
        )
        company.users[username] = user
        queue_names, skills = _AGENT_PLANS[number % len(_AGENT_PLANS)]
        for queue_name in queue_names:
            members.append(
                QueueMember(
                    queue_id=queues[queue_name].id,
                    user_id=user.id,
                    skills=list(skills),
                    available=number != 1,  # someone is always on leave
                )
            )
    session.add_all(members)
    session.add_all(
        RoutingRule(
            name=name,
            position=(position + 1) * 10,
            conditions=conditions,
            queue_id=queues[queue].id,
            skill=skill,
        )
        for position, (name, conditions, queue, skill) in enumerate(RULES)
    )
    session.add_all(
        ServiceStation(
            name=name,
            city=city,
            region=region,
            address=address,
            phone=phone,
            latitude=latitude,
            longitude=longitude,
            queue_id=queues["售后维修"].id,
        )
        for name, city, region, address, phone, latitude, longitude in STATIONS
    )
    session.flush()


# ---------------------------------------------------------------- the installed base


@demo_step(51)
def owned_items(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """Every appliance the demo customers received (an order shipped or completed) becomes an
    owned item with a serial number, purchase date, retailer and warranty."""
    rows = session.execute(
        select(
            Order.id,
            Order.customer_id,
            Order.ordered_at,
            Order.channel,
            OrderLine.product_id,
            Product.sku,
            Product.name,
            Product.category,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status.in_(("shipped", "completed", "invoiced")),
            Product.category.not_in((SERVICE, PARTS)),
        )
        .order_by(Order.id, OrderLine.line_no)
    ).all()
    items: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for row in rows:
        if (row.id, row.product_id) in seen:
            continue
        seen.add((row.id, row.product_id))
        bought = (row.ordered_at.astimezone(UTC) + CHINA).date()
        years = (
            3 if row.sku.startswith(("AC-", "RF-", "WM-")) else 1
        )  # 整机三包 for big white goods
        items.append(
            {
                "customer_id": row.customer_id,
                "product_id": row.product_id,
                "order_id": row.id,
                "serial_number": f"{row.sku.replace('-', '')}{bought:%y%m}{rng.randrange(16**6):06X}",
                "model": row.name,
                "purchased_on": bought,
                "retailer": _RETAILERS.get(row.channel, "其他渠道"),
                "warranty_until": bought.replace(year=bought.year + years)
                if (bought.month, bought.day) != (2, 29)
                else bought + timedelta(days=365 * years),
                "notes": "",
            }
        )
    number_rows(session, OwnedItem, items)
    write_rows(session, OwnedItem, items, "owned_item")


# ---------------------------------------------------------------- a year of tickets


@demo_step(52)
def tickets(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """A year of tickets with their histories, replies and surveys (``demo_tickets``)."""
    build_tickets(session, rng, company)
