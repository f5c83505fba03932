"""Demo touch-centre data: two years of interactions on every channel, in and out, weighted
toward the big accounts; follow-ups for the demo users (overdue, due today, upcoming, done and
recurring); and shop visits as web events (page and product views of the demo catalogue),
some by visitors who were anonymous until they logged in.

Runs after the sales steps, shares their moment ``now`` and their buyer profiles, and writes in
bulk (multi-row INSERT on SQLite, COPY on PostgreSQL) with one audit entry per batch, as the
customer and sales demo steps do.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.auth.models import User
from guanxi.customers.models import Customer, CustomerEmail
from guanxi.customers.transfer.import_batch import allocate_ids, insert_rows
from guanxi.db import utcnow
from guanxi.demo import DemoCompany, DemoSize, demo_step
from guanxi.interactions.models import CHANNELS, FollowUp, Interaction, VisitorLink, WebEvent

BATCH = 20_000
HISTORY_DAYS = 730
FULL_HISTORY_DAYS = 180  # a customer this old or older has the full number of touchpoints
BROWSING_DAYS = 90  # well inside any retention an administrator is likely to set
CHINA = timedelta(hours=8)

# share of customers with a contact history, and how many touchpoints each has, by segment
_TOUCHED = {"big": 1.0, "distributor": 0.9, "business": 0.6, "person": 0.3, "bargain": 0.2}
_TOUCHES = {
    "big": (25, 70),
    "distributor": (12, 35),
    "business": (4, 15),
    "person": (1, 5),
    "bargain": (1, 3),
}
_CHANNEL_WEIGHTS = {
    "phone": 30,
    "email": 18,
    "sms": 6,
    "wechat": 20,
    "fax": 1,
    "visit": 6,
    "meeting": 6,
    "web_chat": 6,
    "call_centre": 7,
}
# (subject, notes) per channel and direction
_TOPICS: dict[str, Sequence[tuple[str, str]]] = {
    "phone": (
        ("询问新品到货", "客户问明前龙井什么时候到货，答应到货后通知。"),
        ("报价跟进", "对上次报价有兴趣，希望批量再优惠 3%。"),
        ("催款", "提醒上月发票已到期，对方财务说本周付款。"),
        ("投诉物流慢", "快递延误两天，已联系物流加急并致歉。"),
        ("年度采购计划", "讨论明年的采购量，预计增长两成。"),
    ),
    "email": (
        ("报价单", "附上最新报价单和产品目录。"),
        ("合同续签", "合同下月到期，附续签条款，请确认。"),
        ("发票寄出", "本月发票已寄出，快递单号见附件。"),
        ("Re: 样品反馈", "样品收到，口感不错，准备下单。"),
        ("新品推荐", "春季新品上市，欢迎选购。"),
    ),
    "sms": (
        ("发货通知", "您的订单已发货。"),
        ("活动提醒", "会员日全场九折。"),
        ("预约确认", "明天上午十点拜访已确认。"),
    ),
    "wechat": (
        ("微信咨询", "客户发来产品图片，问是否有现货。"),
        ("发送产品链接", "发送了新品链接和价格。"),
        ("售后问题", "包装有破损，拍照给客服处理。"),
        ("节日问候", "中秋节问候，顺便提了新品。"),
    ),
    "fax": (("传真订单", "收到盖章的采购订单传真。"),),
    "visit": (
        ("上门拜访", "拜访采购经理，演示新品，对方要求寄样品。"),
        ("门店巡访", "检查陈列，补充宣传资料。"),
    ),
    "meeting": (
        ("季度业务会议", "回顾上季度销量，确定下季度促销计划。"),
        ("合同谈判", "谈判年度框架协议的价格和账期。"),
    ),
    "web_chat": (
        ("在线咨询", "访客在网站咨询批发价格。"),
        ("退货咨询", "客户询问退货流程，已发送说明。"),
    ),
    "call_centre": (
        ("来电咨询", "客户来电查询订单状态。"),
        ("回访满意度", "电话回访满意度，打了 9 分。"),
        ("会员积分查询", "查询积分余额并说明兑换规则。"),
    ),
}
_OUTCOMES = (
    "reached",
    "reached",
    "interested",
    "no_answer",
    "left_message",
    "call_back",
    "ordered",
    "not_interested",
    "resolved",
    "complaint",
    "",
)
FOLLOW_UPS_PER_USER = {DemoSize.small: 14, DemoSize.medium: 20, DemoSize.large: 30}
_FOLLOW_UP_SUBJECTS = (
    "回访报价",
    "确认样品反馈",
    "催收货款",
    "续签合同",
    "介绍新品",
    "了解年度预算",
    "安排拜访",
    "处理投诉结果回访",
)
# share of customers that visit the shop's pages, and of those, how many were anonymous first
_BROWSERS = {"person": 0.25, "bargain": 0.3, "business": 0.1, "distributor": 0.05, "big": 0.05}
_LINKED_LATER = 0.3
ANONYMOUS_VISITORS = {DemoSize.small: 150, DemoSize.medium: 1_500, DemoSize.large: 10_000}


def _now(company: DemoCompany) -> datetime:
    now: datetime = company.extra.setdefault("sales_now", utcnow())
    return now


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _office_time(rng: random.Random, day: datetime) -> datetime:
    """A moment in China's working hours (09:00-18:00, UTC+8) of ``day``, stored as UTC."""
    local = (day + CHINA).replace(hour=9, minute=0, second=0, microsecond=0)
    return local + timedelta(seconds=rng.randrange(9 * 3600)) - CHINA


def _segments(company: DemoCompany) -> dict[int, str]:
    buyers = company.extra.get("sales_buyers") or {}
    return {customer_id: buyer.segment for customer_id, buyer in buyers.items()}


def _customers(session: Session) -> list[tuple[int, int | None, datetime, str]]:
    return [
        (row.id, row.owner_id, row.created_at, row.kind)
        for row in session.execute(
            select(Customer.id, Customer.owner_id, Customer.created_at, Customer.kind)
            .where(Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
            .order_by(Customer.id)
        )
    ]


def _number(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Give the rows their ids before they are written, in row order."""
    for row, new_id in zip(rows, allocate_ids(session, _table(model), len(rows)), strict=True):
        row["id"] = new_id


def _write(session: Session, model: Any, rows: list[dict[str, Any]], entity: str) -> None:
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        insert_rows(session, _table(model), chunk)
        if model is not WebEvent:  # behaviour data is audited per batch by its ingestion
            audit.record(
                session,
                "demo.create",
                entity,
                f"{chunk[0]['id']}-{chunk[-1]['id']}",
                {"rows": len(chunk)},
            )


# ---------------------------------------------------------------- interactions


def _interaction(
    rng: random.Random,
    *,
    customer_id: int,
    user_id: int | None,
    channel: str,
    at: datetime,
    email: str,
    now: datetime,
) -> dict[str, Any]:
    direction = "inbound" if rng.random() < 0.45 else "outbound"
    if channel in {"web_chat", "call_centre", "fax"}:
        direction = "inbound" if rng.random() < 0.8 else "outbound"
    subject, notes = rng.choice(_TOPICS[channel])
    row: dict[str, Any] = {
        "customer_id": customer_id,
        "contact_id": None,
        "channel": channel,
        "direction": direction,
        "occurred_at": at,
        "user_id": user_id,
        "subject": subject,
        "notes": notes,
        "outcome": rng.choice(_OUTCOMES) if channel != "email" else "",
        "duration_seconds": rng.randrange(30, 1800)
        if channel in {"phone", "call_centre"}
        else None,
        "opportunity_id": None,
        "order_id": None,
        "source": "manual",
        "message_id": None,
        "email_address": "",
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    if channel == "email":
        row["source"] = "email_in" if direction == "inbound" else "email_out"
        row["email_address"] = email
        digest = hashlib.sha256(f"{customer_id}:{at.isoformat()}".encode()).hexdigest()[:16]
        row["message_id"] = f"<{digest}@demo.guanxi.example>"
    if at > now:
        row["occurred_at"] = row["created_at"] = row["updated_at"] = now
    return row


@demo_step(40)
def interactions(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """Two years of touchpoints: every big account has dozens, a small shopper one or two."""
    now = _now(company)
    segments = _segments(company)
    service_users = [u.id for u in company.users.values() if u.role.name == "service"]
    emails: dict[int, str] = {
        customer_id: address
        for customer_id, address in session.execute(
            select(CustomerEmail.customer_id, CustomerEmail.address).where(
                CustomerEmail.position == 0
            )
        )
    }
    channels = list(_CHANNEL_WEIGHTS)
    weights = list(_CHANNEL_WEIGHTS.values())
    rows: list[dict[str, Any]] = []
    for customer_id, owner_id, created_at, kind in _customers(session):
        segment = segments.get(customer_id, "business" if kind == "organisation" else "person")
        if rng.random() >= _TOUCHED[segment]:
            continue
        start = max(created_at, now - timedelta(days=HISTORY_DAYS))
        span = max((now - start).total_seconds(), 3600.0)
        low, high = _TOUCHES[segment]
        # a customer met last week has not had two years of calls: fewer touches, spread out
        share = min(1.0, span / (FULL_HISTORY_DAYS * 86400))
        for _ in range(max(1, round(rng.randint(low, high) * share))):
            channel = rng.choices(channels, weights)[0]
            if channel == "email" and customer_id not in emails:
                channel = "phone"
            day = start + timedelta(seconds=rng.random() * span)
            at = _office_time(rng, day)
            by_service = channel in {"call_centre", "web_chat"} and service_users
            rows.append(
                _interaction(
                    rng,
                    customer_id=customer_id,
                    user_id=rng.choice(service_users) if by_service else owner_id,
                    channel=channel,
                    at=at,
                    email=emails.get(customer_id, ""),
                    now=now,
                )
            )
    _cover_every_channel(rng, rows, emails, now)
    rows.sort(key=lambda r: (r["occurred_at"], r["customer_id"]))
    for row, new_id in zip(
        rows, allocate_ids(session, _table(Interaction), len(rows)), strict=True
    ):
        row["id"] = new_id
    _write(session, Interaction, rows, "interaction")
    company.extra["interactions_count"] = len(rows)


def _cover_every_channel(
    rng: random.Random, rows: list[dict[str, Any]], emails: dict[int, str], now: datetime
) -> None:
    """Whatever the draw, every channel appears in both directions: a missing pair takes over
    a touchpoint of a customer who has an e-mail address."""
    present = {(r["channel"], r["direction"]) for r in rows}
    candidates = [i for i, r in enumerate(rows) if r["customer_id"] in emails]
    for number, (channel, direction) in enumerate(
        (c, d) for c in CHANNELS for d in ("inbound", "outbound")
    ):
        if (channel, direction) in present or not candidates:
            continue
        old = rows[candidates[number * 7 % len(candidates)]]
        rows[candidates[number * 7 % len(candidates)]] = {
            **_interaction(
                rng,
                customer_id=old["customer_id"],
                user_id=old["user_id"],
                channel=channel,
                at=old["occurred_at"],
                email=emails[old["customer_id"]],
                now=now,
            ),
            "direction": direction,
        }
        if channel == "email":
            rows[candidates[number * 7 % len(candidates)]]["source"] = (
                "email_in" if direction == "inbound" else "email_out"
            )


# ---------------------------------------------------------------- follow-ups


def _assignees(company: DemoCompany) -> list[User]:
    return [u for u in company.users.values() if u.role.name in {"sales", "manager", "service"}]


def _due_times(rng: random.Random, now: datetime, count: int) -> list[tuple[datetime, str]]:
    """(due, status) for one user's follow-ups: some overdue, a few due today, several
    upcoming, some done and one cancelled."""
    today = (now + CHINA).replace(hour=0, minute=0, second=0, microsecond=0) - CHINA
    plans: list[tuple[datetime, str]] = []
    for number in range(count):
        share = number / count
        if share < 0.2:  # overdue
            due = _office_time(rng, now - timedelta(days=rng.randint(1, 10)))
            plans.append((due, "open"))
        elif share < 0.35:  # today, in the working hours still ahead (late: before midnight)
            last = today + timedelta(hours=23, minutes=59)
            start = max(today + timedelta(hours=9), now + timedelta(minutes=15))
            end = min(max(today + timedelta(hours=18), start + timedelta(hours=1)), last)
            plans.append((start + (end - start) * rng.random() if end > start else last, "open"))
        elif share < 0.65:  # upcoming
            plans.append((_office_time(rng, now + timedelta(days=rng.randint(1, 21))), "open"))
        elif share < 0.95:
            plans.append((_office_time(rng, now - timedelta(days=rng.randint(1, 120))), "done"))
        else:
            plans.append((_office_time(rng, now - timedelta(days=rng.randint(1, 60))), "cancelled"))
    return plans


@demo_step(41)
def follow_ups(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """Each demo salesperson, manager and service agent has a day's worth of follow-ups on
    customers they can see; a done one carries the interaction it became."""
    now = _now(company)
    customers = _customers(session)
    owned: dict[int | None, list[int]] = defaultdict(list)
    for customer_id, owner_id, _created, _kind in customers:
        owned[owner_id].append(customer_id)
    everyone = [c[0] for c in customers]
    if not everyone:
        return
    per_user = FOLLOW_UPS_PER_USER[company.size]
    plans: list[dict[str, Any]] = []
    done_interactions: list[dict[str, Any]] = []
    for user in _assignees(company):
        if user.role.name == "sales":
            pool = owned.get(user.id) or everyone
        elif user.role.name == "manager":
            pool = owned.get(_first_rep(company)) or everyone
        else:
            pool = everyone
        for number, (due, status) in enumerate(_due_times(rng, now, per_user)):
            channel = rng.choice(("phone", "phone", "wechat", "email", "visit", "meeting"))
            recurring = status == "open" and number % 7 == 3
            plan: dict[str, Any] = {
                "customer_id": rng.choice(pool),
                "contact_id": None,
                "assignee_id": user.id,
                "created_by_id": user.id,
                "due_at": due,
                "channel": channel,
                "subject": rng.choice(_FOLLOW_UP_SUBJECTS),
                "note": "",
                "status": status,
                "recurrence": rng.choice(("weekly", "monthly")) if recurring else "none",
                "recurrence_interval": 1,
                "recurrence_until": now + timedelta(days=365) if recurring else None,
                "opportunity_id": None,
                "completed_at": due + timedelta(minutes=rng.randrange(5, 240))
                if status == "done"
                else None,
                "outcome": rng.choice(("reached", "interested", "call_back"))
                if status == "done"
                else "",
                "interaction_id": None,
                "previous_id": None,
                "created_at": min(due, now) - timedelta(days=rng.randint(1, 14)),
                "updated_at": now,
                "version": 1,
            }
            if status == "done":
                done_interactions.append(
                    {
                        **_interaction(
                            rng,
                            customer_id=plan["customer_id"],
                            user_id=user.id,
                            channel="phone" if channel == "email" else channel,
                            at=plan["completed_at"],
                            email="",
                            now=now,
                        ),
                        "direction": "outbound",
                        "subject": plan["subject"],
                        "outcome": plan["outcome"],
                        "source": "follow_up",
                    }
                )
                plan["_done"] = len(done_interactions) - 1
            plans.append(plan)
    _number(session, Interaction, done_interactions)
    _write(session, Interaction, done_interactions, "interaction")
    for plan, new_id in zip(
        plans, allocate_ids(session, _table(FollowUp), len(plans)), strict=True
    ):
        plan["id"] = new_id
        done = plan.pop("_done", None)
        if done is not None:
            plan["interaction_id"] = done_interactions[done]["id"]
    _write(session, FollowUp, plans, "follow_up")


def _first_rep(company: DemoCompany) -> int | None:
    """The demo's own sales login (in the manager's team), whose customers the manager sees."""
    rep = company.users.get("sales")
    return rep.id if rep else None


# ---------------------------------------------------------------- web events


def _visit(
    rng: random.Random,
    *,
    visitor_id: str,
    session_id: str,
    customer_id: int | None,
    start: datetime,
    products: Sequence[tuple[int, str]],
) -> list[dict[str, Any]]:
    """One visit: landing page, a few category pages and product views, each with a dwell."""
    events: list[dict[str, Any]] = []
    at = start
    for step in range(rng.randint(2, 14)):
        dwell = rng.randint(4, 240)
        product = step > 0 and rng.random() < 0.55
        row: dict[str, Any] = {
            "kind": "product_view" if product else "page_view",
            "occurred_at": at,
            "received_at": at + timedelta(seconds=2),
            "visitor_id": visitor_id,
            "session_id": session_id,
            "customer_id": customer_id,
            "url": "https://shop.guanxi.example/",
            "title": "",
            "referrer": "",
            "product_id": None,
            "product_sku": "",
            "dwell_seconds": dwell,
        }
        if product:
            product_id, sku = rng.choice(products)
            row |= {
                "url": f"https://shop.guanxi.example/products/{sku}",
                "product_id": product_id,
                "product_sku": sku,
            }
        elif step:
            row["url"] = f"https://shop.guanxi.example/c/{rng.randint(1, 12)}"
        else:
            row["referrer"] = rng.choice(("https://www.baidu.com/", "https://weixin.qq.com/", ""))
        events.append(row)
        at += timedelta(seconds=dwell + rng.randint(1, 20))
    return events


def _token(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:24]


@demo_step(42)
def web_events(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """Three months of shop visits by customers, some of whom browsed anonymously before
    logging in (their visitor is linked and the earlier events given to them), and by
    visitors who never logged in."""
    now = _now(company)
    products = [
        (product_id, item.sku)
        for product_id, item in company.extra.get("sales_products", [])
        if item.is_active
    ]
    if not products:
        return
    segments = _segments(company)
    events: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for customer_id, _owner, _created, kind in _customers(session):
        segment = segments.get(customer_id, "business" if kind == "organisation" else "person")
        if rng.random() >= _BROWSERS[segment]:
            continue
        visitor = _token(f"{company.seed}:visitor:{customer_id}")
        visits = sorted(
            now - timedelta(seconds=rng.random() * BROWSING_DAYS * 86400)
            for _ in range(rng.randint(1, 8))
        )
        for number, start in enumerate(visits):
            events += _visit(
                rng,
                visitor_id=visitor,
                session_id=_token(f"{visitor}:{number}"),
                customer_id=customer_id,
                start=start,
                products=products,
            )
        if rng.random() < _LINKED_LATER:
            # the first visit was anonymous; logging in at the second linked the visitor
            linked_at = visits[1] if len(visits) > 1 else visits[0] + timedelta(minutes=5)
            links.append(
                {"visitor_id": visitor, "customer_id": customer_id, "linked_at": linked_at}
            )
    for number in range(ANONYMOUS_VISITORS[company.size]):
        visitor = _token(f"{company.seed}:anonymous:{number}")
        start = now - timedelta(seconds=rng.random() * BROWSING_DAYS * 86400)
        events += _visit(
            rng,
            visitor_id=visitor,
            session_id=_token(f"{visitor}:0"),
            customer_id=None,
            start=start,
            products=products,
        )
    events = [e for e in events if e["occurred_at"] <= now]
    events.sort(key=lambda e: (e["occurred_at"], e["session_id"]))
    for row, new_id in zip(
        events, allocate_ids(session, _table(WebEvent), len(events)), strict=True
    ):
        row["id"] = new_id
    _write(session, WebEvent, events, "web_event")
    if links:
        insert_rows(session, _table(VisitorLink), links)
    audit.record(
        session,
        "demo.create",
        "web_event",
        f"{events[0]['id']}-{events[-1]['id']}" if events else "-",
        {"events": len(events), "visitors_linked": len(links)},
    )
