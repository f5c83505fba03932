"""Demo tickets (issue 9 item 8): a year of tickets of every kind for the demo customers, with
their histories, notes and replies, SLA due times counted on the real business calendar (hits
and misses, VIP targets tighter), and satisfaction surveys with a realistic spread, complaints
scoring lower and a few unhappy VIPs. ``demo.tickets`` runs it after the stations, queues,
agents and owned products exist.

A ticket's tier is taken from the customer's demo order total, ranked the way the tier pyramid
ranks value (the value tiers are scored only after the demo is built): the top few per cent
"vip", the next "key". Tickets are routed, and their SLA targets chosen and counted, by the
service desk's own functions (``routing.rule_matches``, ``routing.nearest_of``,
``sla.policy_for``, ``business_calendar``); only the reads they would repeat per ticket are done
once.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.customers.models import Customer, CustomerEmail
from guanxi.demo import DemoCompany, DemoSize
from guanxi.sales.models import Order, OwnedItem
from guanxi.service_desk import business_calendar, routing, sla
from guanxi.service_desk.business_calendar import Calendar
from guanxi.service_desk.demo_rows import CHINA, number_rows, pick, sales_now, write_rows
from guanxi.service_desk.models import (
    QueueMember,
    RoutingRule,
    ServiceQueue,
    ServiceStation,
    SlaPolicy,
    Survey,
    Ticket,
    TicketChange,
    TicketMessage,
)

DAYS = 365
TICKETS: Final = {DemoSize.small: 1_500, DemoSize.medium: 12_000, DemoSize.large: 60_000}
UNHAPPY_VIPS: Final = {DemoSize.small: 4, DemoSize.medium: 10, DemoSize.large: 25}
# share of customers, ranked by what they bought, treated as each tier when a ticket is opened
VIP_SHARE, KEY_SHARE = 0.03, 0.15
SURVEY_ANSWERED = 0.45
BACKLOG = timedelta(days=14)

KIND_WEIGHTS: Final = {"service_request": 42, "inquiry": 30, "complaint": 20, "suggestion": 8}
CHANNEL_WEIGHTS: Final = {
    "phone": 40, "chat": 16, "web": 10, "email": 10, "portal": 9, "visit": 6, "sms": 4, "other": 5,
}  # fmt: skip
PRIORITY_WEIGHTS: Final = {"low": 15, "normal": 55, "high": 22, "urgent": 8}
# category -> (weight, subject templates, root causes with weights)
CATEGORIES: Final[dict[str, dict[str, tuple[int, Sequence[str], Sequence[tuple[str, int]]]]]] = {
    "service_request": {
        "安装": (
            30,
            ("{model} 预约上门安装", "{model} 安装时间改约", "{model} 需要移机"),
            (("正常安装", 8), ("安装排期不足", 2)),
        ),
        "维修": (
            40,
            ("{model} 无法开机", "{model} 有异响", "{model} 显示故障代码 E{code}", "{model} 漏水"),
            (("产品缺陷", 5), ("使用不当", 3), ("安装不当", 2), ("备件缺货", 1)),
        ),
        "保养清洗": (12, ("{model} 预约清洗保养", "{model} 滤网更换"), (("正常保养", 1),)),
        "退换货": (
            18,
            ("{model} 申请换货", "{model} 七天无理由退货"),
            (("运输损坏", 3), ("产品缺陷", 3), ("不喜欢", 2)),
        ),
    },
    "complaint": {
        "质量": (
            26,
            ("{model} 刚买就坏了", "{model} 反复维修仍有问题"),
            (("产品缺陷", 6), ("批次问题", 2), ("使用不当", 1)),
        ),
        "物流": (
            22,
            ("{model} 配送延误", "{model} 送货时外包装破损"),
            (("配送延误", 5), ("运输损坏", 3)),
        ),
        "安装": (
            14,
            ("{model} 安装师傅迟到", "{model} 安装后漏水"),
            (("安装排期不足", 3), ("安装不当", 4)),
        ),
        "服务态度": (14, ("客服态度差", "维修师傅服务不规范"), (("沟通不畅", 5), ("培训不足", 2))),
        "价格": (
            14,
            ("{model} 刚买就降价，要求保价", "{model} 收费与报价不符"),
            (("价格调整", 5), ("沟通不畅", 2)),
        ),
        "退换货": (
            10,
            ("{model} 退款迟迟未到账", "{model} 换货被拒"),
            (("流程缓慢", 4), ("政策解释不清", 2)),
        ),
    },
    "inquiry": {
        "产品咨询": (34, ("{model} 的功能和参数", "{model} 和新款有什么区别"), (("信息不足", 1),)),
        "保修政策": (22, ("{model} 保修期多久", "{model} 延保怎么买"), (("信息不足", 1),)),
        "价格": (16, ("{model} 有没有优惠", "以旧换新怎么算"), (("信息不足", 1),)),
        "物流": (16, ("订单什么时候发货", "能否指定送货时间"), (("信息不足", 1),)),
        "发票": (12, ("开具增值税专用发票", "发票抬头修改"), (("信息不足", 1),)),
    },
    "suggestion": {
        "产品建议": (
            40,
            ("希望 {model} 增加童锁功能", "建议 {model} 配长一点的电源线"),
            (("产品改进", 1),),
        ),
        "服务建议": (40, ("建议周末也能预约安装", "希望上门前电话确认"), (("流程改进", 1),)),
        "网站和应用": (
            20,
            ("商城 App 查询订单不方便", "希望网站能查询维修进度"),
            (("流程改进", 1),),
        ),
    },
}
_NOTES: Final = (
    "已联系客户确认故障现象。",
    "备件已申请，预计三天到货。",
    "已派单给服务站师傅，约定上门时间。",
    "客户情绪较大，已安抚并记录诉求。",
    "核对订单与序列号一致，在保修期内。",
)
_REPLIES: Final = (
    "您好，您的问题我们已经收到，工作人员会尽快与您联系。",
    "您好，已为您安排服务站师傅上门，请保持电话畅通。",
    "您好，您咨询的问题答复如下，如有疑问欢迎随时联系我们。",
    "非常抱歉给您带来不便，我们已加急处理。",
)
_CUSTOMER_MESSAGES: Final = ("请尽快处理，谢谢。", "师傅什么时候能来？", "已经等了好几天了。")
_COMMENTS: Final = {
    "good": ("师傅很专业，准时上门。", "处理很快，满意。", "客服耐心细致。", ""),
    "bad": ("等了太久，没人跟进。", "问题到现在也没解决。", "态度很差，不会再买了。", ""),
}


@dataclass
class _Customer:
    row: Customer
    tier: str
    email: str
    items: list[tuple[int, int, str]]  # (owned item id, product id, model)


@dataclass
class _Agents:
    """Queue members by queue, and how many tickets each was given: the least loaded gets
    the next one, as routing does with open tickets."""

    members: dict[int, list[tuple[int, set[str]]]]
    load: Counter[int]

    def pick(self, queue_id: int, skill: str) -> int | None:
        fits = [u for u, skills in self.members.get(queue_id, []) if not skill or skill in skills]
        if not fits:
            return None
        chosen = min(fits, key=lambda u: (self.load[u], u))
        self.load[chosen] += 1
        return chosen


def _tiers(session: Session) -> dict[int, str]:
    """Each demo customer's tier as the value pyramid would put them, by what they bought."""
    totals = session.execute(
        select(Customer.id, func.coalesce(func.sum(Order.total), 0))
        .outerjoin(Order, (Order.customer_id == Customer.id) & (Order.status != "cancelled"))
        .where(Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None))
        .group_by(Customer.id)
    ).all()
    ranked = sorted(totals, key=lambda row: (-float(row[1]), row[0]))
    vip, key = int(len(ranked) * VIP_SHARE), int(len(ranked) * (VIP_SHARE + KEY_SHARE))
    tiers = {}
    for position, (customer_id, total) in enumerate(ranked):
        if position < vip:
            tiers[customer_id] = "vip"
        elif position < key:
            tiers[customer_id] = "key"
        else:
            tiers[customer_id] = "ordinary" if total > 0 else "unprofitable"
    return tiers


def _customers(session: Session, rng: random.Random, count: int) -> list[_Customer]:
    tiers = _tiers(session)
    items: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for item in session.execute(
        select(OwnedItem.id, OwnedItem.customer_id, OwnedItem.product_id, OwnedItem.model)
    ):
        items[item.customer_id].append((item.id, item.product_id, item.model))
    # owners of appliances call most; VIPs call more; a few hundred never bought anything
    ids = sorted(tiers)
    weights = [
        (3.0 if items.get(i) else 0.5) * {"vip": 3.0, "key": 1.6}.get(tiers[i], 1.0) for i in ids
    ]
    chosen = sorted(set(rng.choices(ids, weights=weights, k=count)))
    emails = {
        row.customer_id: row.address
        for row in session.execute(
            select(CustomerEmail.customer_id, CustomerEmail.address)
            .where(CustomerEmail.position == 0)
            .order_by(CustomerEmail.customer_id)
        )
    }
    found: list[_Customer] = []
    for start in range(0, len(chosen), 1000):
        part = chosen[start : start + 1000]
        for customer in session.scalars(select(Customer).where(Customer.id.in_(part))):
            found.append(
                _Customer(
                    customer, tiers[customer.id], emails.get(customer.id, ""), items[customer.id]
                )
            )
    found.sort(key=lambda c: c.row.id)
    return found


class _Facts(routing.TicketFacts):
    """What routing rules look at, from the values in hand rather than a read per ticket."""

    def __init__(self, ticket: Ticket, customer: Customer) -> None:
        self.kind = ticket.kind
        self.category = routing._text(ticket.category)
        self.language = routing._text(ticket.language)
        self.tier = routing._text(ticket.tier or "")
        self.product_id = ticket.product_id
        self.regions = {routing._place(customer.region), routing._place(customer.city)} - {""}
        self.text = f"{ticket.subject}\n{ticket.description}".casefold()


@dataclass
class _Context:
    rng: random.Random
    now: datetime
    calendar: Calendar
    policies: dict[tuple[str, str, str], SlaPolicy | None]
    rules: list[RoutingRule]
    stations: list[ServiceStation]
    default_queue: int
    agents: _Agents
    lead_id: int
    session: Session

    def policy(self, kind: str, priority: str, tier: str) -> SlaPolicy | None:
        key = (kind, priority, tier)
        if key not in self.policies:
            self.policies[key] = sla.policy_for(self.session, kind, priority, tier)
        return self.policies[key]

    def add(self, start: datetime, minutes: float) -> datetime:
        return business_calendar.add_business_minutes(self.calendar, start, minutes)

    def between(self, start: datetime, end: datetime) -> float:
        return business_calendar.business_minutes_between(self.calendar, start, end)


def _opened_at(rng: random.Random, now: datetime) -> datetime:
    """A moment in the last year, mostly in the day in China (calls at night are rare)."""
    day = now - timedelta(days=rng.random() * DAYS)
    local = (day + CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    hour = rng.choices(
        range(24), weights=[1] * 7 + [3, 8, 12, 12, 10, 6, 10, 12, 12, 10, 8, 6, 5, 4, 3, 2, 1]
    )[0]
    moment = local + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
    return min(moment - CHINA, now - timedelta(minutes=5))


def build_tickets(session: Session, rng: random.Random, company: DemoCompany) -> None:
    """A year of tickets with their changes, messages and surveys, written in bulk."""
    now = sales_now(company)
    total = TICKETS[company.size]
    customers = _customers(session, rng, total)
    vips = [c for c in customers if c.tier == "vip" and c.items and c.email]
    unhappy = {c.row.id for c in rng.sample(vips, min(UNHAPPY_VIPS[company.size], len(vips)))}
    members: dict[int, list[tuple[int, set[str]]]] = defaultdict(list)
    for member in session.scalars(
        select(QueueMember).where(QueueMember.available.is_(True)).order_by(QueueMember.user_id)
    ):
        members[member.queue_id].append((member.user_id, set(member.skills or [])))
    ctx = _Context(
        rng=rng,
        now=now,
        calendar=business_calendar.load(session),
        policies={},
        rules=list(
            session.scalars(
                select(RoutingRule)
                .where(RoutingRule.is_active.is_(True))
                .order_by(RoutingRule.position, RoutingRule.id)
            )
        ),
        stations=list(
            session.scalars(
                select(ServiceStation)
                .where(ServiceStation.is_active.is_(True))
                .order_by(ServiceStation.id)
            )
        ),
        default_queue=session.scalars(select(ServiceQueue.id).order_by(ServiceQueue.id)).first()
        or 0,
        agents=_Agents(members, Counter()),
        lead_id=company.users["service"].id,
        session=session,
    )
    located: dict[int, tuple[float, float] | None] = {}
    plans: list[tuple[datetime, _Customer, bool]] = []
    for _ in range(total):
        plans.append((_opened_at(rng, now), rng.choice(customers), False))
    for customer in customers:
        if customer.row.id in unhappy:  # a recent complaint handled badly
            plans.append((now - timedelta(days=rng.uniform(20, 60)), customer, True))
    plans.sort(key=lambda plan: plan[0])

    ticket_rows: list[dict[str, Any]] = []
    changes: list[tuple[int, dict[str, Any]]] = []
    messages: list[tuple[int, dict[str, Any]]] = []
    surveys: list[tuple[int, dict[str, Any]]] = []
    for index, (opened, customer, angry) in enumerate(plans):
        ticket = _ticket(ctx, customer, opened, angry, located)
        row, history, notes = _life(ctx, ticket, customer, angry)
        ticket_rows.append(row)
        changes += [(index, change) for change in history]
        messages += [(index, message) for message in notes]
        survey = _survey(ctx, row, customer, angry)
        if survey is not None:
            surveys.append((index, survey))

    number_rows(session, Ticket, ticket_rows)
    write_rows(session, Ticket, ticket_rows, "ticket")
    for model, owned in ((TicketChange, changes), (TicketMessage, messages), (Survey, surveys)):
        rows = []
        for index, row in owned:
            row["ticket_id"] = ticket_rows[index]["id"]
            rows.append(row)
        number_rows(session, model, rows)
        write_rows(session, model, rows, None)
    audit.record(
        session,
        "demo.create",
        "ticket",
        "-",
        {"tickets": len(ticket_rows), "changes": len(changes), "messages": len(messages)},
    )


def _ticket(
    ctx: _Context,
    customer: _Customer,
    opened: datetime,
    angry: bool,
    located: dict[int, tuple[float, float] | None],
) -> Ticket:
    rng = ctx.rng
    kind = "complaint" if angry else pick(rng, KIND_WEIGHTS)
    if not customer.items and kind == "service_request":
        kind = "inquiry"
    categories = CATEGORIES[kind]
    category = rng.choices(list(categories), weights=[c[0] for c in categories.values()])[0]
    _weight, subjects, _causes = categories[category]
    item = rng.choice(customer.items) if customer.items else None
    model = item[2] if item else "商品"
    priority = pick(rng, PRIORITY_WEIGHTS)
    if angry or (customer.tier == "vip" and priority in ("low", "normal") and rng.random() < 0.5):
        priority = "high"
    ticket = Ticket(
        kind=kind,
        status="new",
        priority=priority,
        channel=pick(rng, CHANNEL_WEIGHTS),
        category=category,
        root_cause="",
        subject=rng.choice(subjects).format(model=model, code=rng.randrange(1, 9)),
        description="",
        language="en" if rng.random() < 0.02 else "zh",
        customer_id=customer.row.id,
        product_id=item[1] if item else None,
        owned_item_id=item[0] if item and kind in ("service_request", "complaint") else None,
        tier=customer.tier,
        created_at=opened,
        updated_at=opened,
    )
    ticket.description = (
        f"客户来电：{ticket.subject}。" if ticket.channel == "phone" else ticket.subject
    )
    facts = _Facts(ticket, customer.row)
    rule = next((r for r in ctx.rules if routing.rule_matches(r.conditions or {}, facts)), None)
    if kind == "service_request":
        if customer.row.id not in located:
            located[customer.row.id] = routing.locate_customer(customer.row)
        where = located[customer.row.id]
        station = routing.nearest_of(ctx.stations, *where) if where else None
        ticket.station_id = station.id if station else None
    ticket.queue_id = rule.queue_id if rule else ctx.default_queue
    skill = rule.skill if rule else ""
    ticket.assignee_id = ctx.agents.pick(ticket.queue_id, skill) or ctx.agents.pick(
        ticket.queue_id, ""
    )
    return ticket


def _life(
    ctx: _Context, ticket: Ticket, customer: _Customer, angry: bool
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The ticket's course to now: its SLA targets, when it was answered, waited and resolved
    (on time or late), its history and its messages."""
    rng, now, opened = ctx.rng, ctx.now, ticket.created_at
    policy = ctx.policy(ticket.kind, ticket.priority, ticket.tier or "")
    response_minutes = policy.first_response_minutes if policy else 240
    resolution_minutes = policy.resolution_minutes if policy else 2400
    response_due = ctx.add(opened, response_minutes)
    resolution_due = ctx.add(opened, resolution_minutes)
    # VIP targets are tighter and better kept; an angry VIP's ticket went badly
    keep = {"vip": 0.93, "key": 0.88}.get(ticket.tier or "", 0.8)
    if ticket.kind == "complaint":
        keep -= 0.08
    if angry:
        keep = 0.0
    changes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    agent = ticket.assignee_id

    def change(at: datetime, field: str, old: Any, new: Any, actor: int | None = None) -> None:
        changes.append(
            {
                "at": at,
                "actor_id": actor,
                "actor_label": "" if actor else "system",
                "field": field,
                "old_value": "" if old is None else str(old),
                "new_value": "" if new is None else str(new),
            }
        )

    def message(at: datetime, kind: str, body: str, author: int | None) -> None:
        notes.append({"kind": kind, "body": body, "author_id": author, "created_at": at})

    routed = opened + timedelta(seconds=rng.randrange(5, 90))
    change(routed, "queue_id", None, ticket.queue_id)
    if agent is not None:
        change(routed, "assignee_id", None, agent)
        change(routed, "status", "new", "assigned")
    if ticket.channel in ("portal", "email", "web"):
        message(opened, "customer", ticket.description, None)

    def moment(minutes: float, start: datetime, met: bool) -> datetime:
        share = rng.uniform(0.1, 0.95) if met else rng.uniform(1.1, 2.5)
        return max(ctx.add(start, minutes * share), start + timedelta(minutes=1))

    responded = moment(response_minutes, opened, rng.random() < keep)
    resolved_met = rng.random() < keep
    waited = rng.random() < (0.3 if ticket.kind == "service_request" else 0.08)
    status = "assigned" if agent else "new"
    row: dict[str, Any] = {
        "first_responded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "paused_at": None,
        "response_left_minutes": None,
        "resolution_left_minutes": None,
        "response_warned_at": None,
        "response_escalated_at": None,
        "resolution_warned_at": None,
        "resolution_escalated_at": None,
        "reopened_count": 0,
    }
    warn = policy.warn_before_minutes if policy else 60

    def flags(prefix: str, due: datetime) -> None:
        # what the SLA scan did while the ticket ran: warned before the due time, escalated at it
        if ctx.between(opened, due) > warn:
            warned = ctx.add(opened, max(ctx.between(opened, due) - warn, 0))
            if warned <= now:
                row[f"{prefix}_warned_at"] = warned
        if due <= now:
            row[f"{prefix}_escalated_at"] = due + timedelta(minutes=2)

    if responded <= now:
        row["first_responded_at"] = responded
        message(responded, "reply", rng.choice(_REPLIES), agent)
        change(responded, "status", status, "in_progress", agent)
        status = "in_progress"
        if responded > response_due:
            flags("response", response_due)
        if rng.random() < 0.4:
            message(
                responded + timedelta(minutes=rng.randrange(2, 60)),
                "note",
                rng.choice(_NOTES),
                agent,
            )
    else:
        if response_due <= now:  # the ones about to breach are left for the next scan
            flags("response", response_due)
    start = responded
    # the resolution target counts from the opening, or from the resumption after a wait
    base, base_minutes = opened, float(resolution_minutes)
    if status == "in_progress" and waited:
        # asked the customer something while time was left on the clock
        paused = ctx.add(start, rng.uniform(0.2, 0.8) * max(ctx.between(start, resolution_due), 10))
        if paused <= now:
            change(paused, "status", "in_progress", "waiting", agent)
            left = ctx.between(paused, resolution_due)
            resumed = paused + timedelta(hours=rng.uniform(4, 96))
            if opened > now - BACKLOG and rng.random() < 0.4:
                resumed = now + timedelta(days=1)  # the customer has not answered yet
            if resumed > now:  # still waiting on the customer
                status = "waiting"
                row["paused_at"] = paused
                row["resolution_left_minutes"] = round(left)
            else:
                change(resumed, "status", "waiting", "in_progress", None)
                message(resumed, "customer", rng.choice(_CUSTOMER_MESSAGES), None)
                if left > 0:
                    resolution_due = ctx.add(resumed, left)
                    base, base_minutes = resumed, left
                start = resumed
    # the last two weeks' tickets are the open backlog, about half of them still being worked
    backlog = opened > now - BACKLOG and rng.random() < 0.5
    if status == "in_progress" and not backlog:
        resolved = moment(base_minutes, base, resolved_met)
        if resolved <= start:  # some work after the first answer, in working time
            resolved = ctx.add(start, rng.uniform(5, 30))
        if resolved <= now:
            row["resolved_at"] = resolved
            row["resolution_left_minutes"] = round(ctx.between(resolved, resolution_due))
            causes = CATEGORIES[ticket.kind][ticket.category][2]
            ticket.root_cause = rng.choices([c for c, _ in causes], weights=[w for _, w in causes])[
                0
            ]
            change(resolved, "root_cause", "", ticket.root_cause, agent)
            change(resolved, "status", "in_progress", "resolved", agent)
            status = "resolved"
            if resolved > resolution_due:
                flags("resolution", resolution_due)
            if rng.random() < 0.04 and resolved + timedelta(days=2) < now:  # came back
                again = resolved + timedelta(days=rng.uniform(0.5, 2))
                change(again, "status", "resolved", "in_progress", None)
                row["reopened_count"] = 1
                finished = again + timedelta(hours=rng.uniform(2, 24))
                if finished <= now:
                    change(finished, "status", "in_progress", "resolved", agent)
                    row["resolved_at"] = finished
                else:
                    status = "in_progress"
                    row["resolved_at"] = None
            closes = (row["resolved_at"] or now) + timedelta(days=rng.uniform(2, 8))
            if status == "resolved" and closes <= now:
                change(closes, "status", "resolved", "closed", None)
                row["closed_at"] = closes
                status = "closed"
    if status in sla.RUNNING_STATUSES and resolution_due <= now and row["resolved_at"] is None:
        flags("resolution", resolution_due)  # the ones about to breach are left for the next scan

    ticket.status = status
    last = max([opened, *(c["at"] for c in changes)])
    row.update(
        {
            "kind": ticket.kind,
            "status": status,
            "priority": ticket.priority,
            "channel": ticket.channel,
            "category": ticket.category,
            "root_cause": ticket.root_cause,
            "subject": ticket.subject,
            "search_grams": ticket.search_grams,
            "description": ticket.description,
            "language": ticket.language,
            "customer_id": ticket.customer_id,
            "contact_id": None,
            "product_id": ticket.product_id,
            "order_id": None,
            "owned_item_id": ticket.owned_item_id,
            "queue_id": ticket.queue_id,
            "assignee_id": agent,
            "created_by_id": None if ticket.channel == "portal" else ctx.lead_id,
            "station_id": ticket.station_id,
            "latitude": None,
            "longitude": None,
            "tier": ticket.tier,
            "sla_policy_id": policy.id if policy else None,
            "first_response_due": response_due,
            "resolution_due": resolution_due,
            "merged_into_id": None,
            "created_at": opened,
            "updated_at": last,
            "version": 1,
        }
    )
    return row, changes, notes


def _survey(
    ctx: _Context, ticket: dict[str, Any], customer: _Customer, angry: bool
) -> dict[str, Any] | None:
    """The survey sent at resolution, answered by some: complaints and late tickets lower."""
    resolved = ticket["resolved_at"]
    if resolved is None or not customer.email:
        return None
    rng = ctx.rng
    sent = resolved + timedelta(minutes=rng.randrange(1, 30))
    row: dict[str, Any] = {
        "customer_id": customer.row.id,
        "email_address": customer.email,
        "sent_at": sent,
        "expires_at": sent + timedelta(days=14),
        "answered_at": None,
        "csat": None,
        "nps": None,
        "comment": "",
    }
    if not angry and rng.random() > SURVEY_ANSWERED:
        return row
    late = ticket["resolved_at"] > ticket["resolution_due"]
    mood = 4.3 - (1.3 if ticket["kind"] == "complaint" else 0) - (1.0 if late else 0)
    if angry:
        mood = 1.0
    csat = min(5, max(1, round(rng.gauss(mood, 0.8))))
    nps = min(10, max(0, round(rng.gauss(csat * 2 - 0.5, 1.5))))
    if angry:
        csat, nps = rng.choice((1, 2)), rng.randrange(0, 4)
    answered = sent + timedelta(hours=rng.uniform(0.5, 72))
    row.update(
        {
            "answered_at": min(answered, ctx.now),
            "csat": csat,
            "nps": nps,
            "comment": rng.choice(_COMMENTS["good" if csat >= 4 else "bad"]),
        }
    )
    return row
