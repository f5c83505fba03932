"""Demo customers: persons with realistic Chinese and some English names, organisations with
contacts, distributors, tags in categories, consent histories, and a few duplicates to merge.

Written in bulk (Core inserts, one audit entry per batch), so a large demo company takes seconds
rather than minutes; the rows are the same as the services would make.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.customers import normalize
from guanxi.customers.models import (
    ConsentEvent,
    Contact,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    Tag,
    TagCategory,
)
from guanxi.db import utcnow
from guanxi.demo import DemoCompany, DemoSize, demo_step

CUSTOMERS = {DemoSize.small: 3_000, DemoSize.medium: 30_000, DemoSize.large: 300_000}
BATCH = 2_000

# surnames in rough order of frequency, so the common ones (王, 李, 张) come up most
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国文斌宇浩凯欣怡晨雪梅琳婷"
_ENGLISH_FIRST = (
    "James",
    "Emma",
    "Oliver",
    "Sophia",
    "William",
    "Mia",
    "Lucas",
    "Amelia",
    "Henry",
    "Grace",
    "Daniel",
    "Chloe",
    "David",
    "Emily",
    "Michael",
    "Anna",
)
_ENGLISH_LAST = (
    "Smith",
    "Brown",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thomas",
    "Martin",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
)
_CITIES = (
    ("上海", "上海"),
    ("北京", "北京"),
    ("广东", "广州"),
    ("广东", "深圳"),
    ("浙江", "杭州"),
    ("四川", "成都"),
    ("湖北", "武汉"),
    ("江苏", "南京"),
    ("陕西", "西安"),
    ("重庆", "重庆"),
    ("天津", "天津"),
    ("江苏", "苏州"),
    ("河南", "郑州"),
    ("湖南", "长沙"),
    ("山东", "青岛"),
)
_INDUSTRIES = ("零售", "制造", "信息技术", "金融", "医疗", "教育", "物流", "餐饮", "房地产", "汽车")
_OCCUPATIONS = (
    "工程师",
    "教师",
    "医生",
    "销售经理",
    "设计师",
    "会计",
    "律师",
    "公务员",
    "学生",
    "店主",
)
_SOURCES = ("官网", "转介绍", "展会", "门店", "电话", "微信")
_ORG_WORDS = ("华盛", "金达", "宏远", "恒信", "东方", "瑞丰", "天成", "新世纪", "博雅", "中联")
_ORG_KINDS = ("贸易有限公司", "科技有限公司", "商贸有限公司", "实业有限公司", "电子有限公司")
_TITLES = ("采购经理", "总经理", "财务总监", "IT 主管", "行政主管")
_ROLES = ("decision_maker", "influencer", "buyer", "user", "gatekeeper")
_GRADES = ("A 类客户", "B 类客户", "C 类客户")
_STREETS = ("人民路", "中山路", "解放路", "建设路")
_FREE_TAGS = ("VIP", "老客户", "潜在客户", "重点关注", "价格敏感")


def _person_name(rng: random.Random) -> tuple[str, str]:
    """A name and an e-mail local part."""
    if rng.random() < 0.12:
        first, last = rng.choice(_ENGLISH_FIRST), rng.choice(_ENGLISH_LAST)
        return f"{first} {last}", f"{first}.{last}".lower()
    surname = _SURNAMES[min(int(rng.expovariate(1 / 12)), len(_SURNAMES) - 1)]
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return surname + given, f"user{rng.randrange(10**6):06d}"


def _organisation_name(rng: random.Random, city: str) -> str:
    if rng.random() < 0.1:
        return f"{rng.choice(_ENGLISH_LAST)} {rng.choice(('Trading', 'Logistics', 'Foods'))} Ltd."
    return f"{city}{rng.choice(_ORG_WORDS)}{rng.choice(_ORG_KINDS)}"


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        number = f"+861{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        if number not in used:
            used.add(number)
            return number


def _customer_row(rng: random.Random, company: DemoCompany, used: set[str]) -> dict[str, Any]:
    region, city = rng.choice(_CITIES)
    organisation = rng.random() < 0.15
    owner = rng.choice(company.extra["owners"])
    created = utcnow() - timedelta(days=rng.randrange(3 * 365), minutes=rng.randrange(1440))
    if organisation:
        name, local = _organisation_name(rng, city), f"info{rng.randrange(10**5)}"
    else:
        name, local = _person_name(rng)
    phones = [_phone(rng, used)]
    emails = (
        [f"{local}@{rng.choice(('qq.com', '163.com', 'example.cn', 'gmail.com'))}"]
        if rng.random() < 0.6
        else []
    )
    company_name = "" if organisation or rng.random() < 0.5 else _organisation_name(rng, city)
    return {
        "kind": "organisation" if organisation else "person",
        "name": name,
        "name_key": normalize.name_key(name),
        "customer_type": rng.choice(("distributor", "reseller", "direct", "direct"))
        if organisation
        else "direct",
        "gender": None if organisation else rng.choice(("male", "female")),
        "birthday": None
        if organisation
        else date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55)),
        "occupation": "" if organisation else rng.choice(_OCCUPATIONS),
        "industry": rng.choice(_INDUSTRIES),
        "company": company_name,
        "region": region,
        "city": city,
        "district": "",
        "address": f"{city}市{rng.choice(_STREETS)}{rng.randrange(1, 500)}号",
        "postal_code": "",
        "source_channel": rng.choice(_SOURCES),
        "preferred_channel": rng.choice(("phone", "sms", "email", "wechat", None)),
        "preferred_contact_time": rng.choice(("", "工作日上午", "工作日晚上", "周末")),
        "interests": "",
        "notes": "",
        "risk_level": rng.choice((None, None, None, "low", "medium", "high")),
        "credit_note": "",
        "external_id": None,
        "custom_fields": {},
        "search_text": normalize.search_text(name, company_name, phones, emails),
        "search_grams": normalize.grams(name, company_name),
        "owner_id": owner.id,
        "team_id": owner.team_id,
        "created_at": created,
        "updated_at": created,
        "version": 1,
        "_phones": phones,
        "_emails": emails,
    }


@demo_step(20)
def customers(session: Session, rng: random.Random, company: DemoCompany) -> None:
    company.extra["owners"] = [u for u in company.users.values() if u.role.name == "sales"]
    grades = TagCategory(name="客户等级", description="价值等级 A/B/C", exclusive=True)
    session.add(grades)
    session.flush()
    tags = [Tag(name=name, category_id=grades.id) for name in _GRADES]
    tags += [Tag(name=name) for name in _FREE_TAGS]
    session.add_all(tags)
    session.flush()
    used: set[str] = set()
    remaining = CUSTOMERS[company.size]
    while remaining > 0:
        count = min(BATCH, remaining)
        rows = [_customer_row(rng, company, used) for _ in range(count)]
        _insert_batch(session, rng, rows, tags)
        remaining -= count
    _add_duplicates(session, rng, company, used)


def _insert_batch(
    session: Session, rng: random.Random, rows: list[dict[str, Any]], tags: list[Tag]
) -> None:
    extras = [(r.pop("_phones"), r.pop("_emails")) for r in rows]
    ids = session.scalars(
        insert(Customer).returning(Customer.id, sort_by_parameter_order=True), rows
    ).all()
    phones, emails, taggings, consents, contacts = [], [], [], [], []
    now = utcnow()
    for customer_id, row, (numbers, addresses) in zip(ids, rows, extras, strict=True):
        phones += [
            {"customer_id": customer_id, "number": n, "label": "mobile", "position": i}
            for i, n in enumerate(numbers)
        ]
        emails += [
            {"customer_id": customer_id, "address": a, "label": "work", "position": i}
            for i, a in enumerate(addresses)
        ]
        chosen = {rng.choice(tags[:3]).id} | (
            {rng.choice(tags[3:]).id} if rng.random() < 0.4 else set()
        )
        taggings += [{"customer_id": customer_id, "tag_id": t} for t in chosen]
        if addresses and rng.random() < 0.7:
            consents.append(_consent(customer_id, True, "web_form", row["created_at"]))
            if rng.random() < 0.15:  # some withdrew later
                consents.append(
                    _consent(
                        customer_id,
                        False,
                        "unsubscribe_link",
                        row["created_at"] + (now - row["created_at"]) / 2,
                    )
                )
        if row["kind"] == "organisation":
            for _ in range(rng.randrange(1, 4)):
                name, _local = _person_name(rng)
                contacts.append(
                    {
                        "organisation_id": customer_id,
                        "name": name,
                        "title": rng.choice(_TITLES),
                        "purchase_role": rng.choice(_ROLES),
                        "phone": "",
                        "email": "",
                        "notes": "",
                        "external_id": None,
                        "custom_fields": {},
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
    for model, values in (
        (CustomerPhone, phones),
        (CustomerEmail, emails),
        (CustomerTag, taggings),
        (ConsentEvent, consents),
        (Contact, contacts),
    ):
        if values:
            session.execute(insert(model), values)
    audit.record(
        session,
        "demo.create",
        "customer",
        f"{ids[0]}-{ids[-1]}",
        {"customers": len(ids), "contacts": len(contacts)},
    )


def _consent(customer_id: int, granted: bool, source: str, at: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "purpose": "marketing_email",
        "granted": granted,
        "source": source,
        "note": "",
        "recorded_by_id": None,
        "recorded_by_name": "demo",
        "recorded_at": at,
    }


def _add_duplicates(
    session: Session, rng: random.Random, company: DemoCompany, used: set[str]
) -> None:
    """A few customers entered twice, with the name spaced differently and the same phone, so
    that the duplicates page has something to show."""
    originals = session.scalars(
        select(Customer.id).where(Customer.kind == "person").order_by(Customer.id).limit(20)
    ).all()
    rows = []
    for customer_id in originals[::4]:
        original = session.get(Customer, customer_id)
        assert original is not None
        row = _customer_row(rng, company, used)
        name = " ".join(original.name) if len(original.name) <= 3 else original.name
        row.update(
            name=name,
            name_key=normalize.name_key(name),
            city=original.city,
            region=original.region,
            kind="person",
            _phones=[p.number for p in original.phones],
        )
        row["search_text"] = normalize.search_text(name, "", row["_phones"], row["_emails"])
        row["search_grams"] = normalize.grams(name)
        rows.append(row)
    if rows:
        _insert_batch(session, rng, rows, list(session.query(Tag).all()))
