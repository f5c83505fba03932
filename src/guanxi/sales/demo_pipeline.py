"""Demo opportunities in every stage of the pipeline, with stage histories that follow the
pipeline's rules: a first history row (from no stage) when the opportunity is created, then one
row per move recording when the stage it left was entered; ``stage_changed_at`` is the last
move, ``furthest_stage_position`` the highest open stage reached (a won one counts as through them
all), ``closed_at`` set when won or lost, and the probability is the stage's default.

They are spread over the last year, so the funnel has data for any recent period; most won ones
lead to an order (written by the order history step, linked through ``opportunity_id``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.auth.models import User
from guanxi.customers.models import Customer
from guanxi.customers.transfer.import_batch import allocate_ids, insert_rows
from guanxi.sales.demo_buyers import time_of_day
from guanxi.sales.demo_catalog import CatalogItem
from guanxi.sales.demo_order_rows import price_line
from guanxi.sales.demo_orders import WonDeal
from guanxi.sales.labels import OPPORTUNITY_SOURCE_LABELS
from guanxi.sales.models import Opportunity, OpportunityStageChange, PipelineStage, seconds_between

LOST_REASONS = (
    "价格高于竞争对手",
    "客户预算被削减",
    "客户选择了竞争对手的方案",
    "项目延期到明年",
    "产品规格不满足需求",
    "联系不上决策人",
    "交货周期太长",
)
# mean days an opportunity stays in the first, second, ... open stage
_STAY_DAYS = (9.0, 14.0, 18.0, 12.0)
_SOURCES = tuple(OPPORTUNITY_SOURCE_LABELS)
_SOURCE_WEIGHTS = tuple(
    {"existing": 5, "referral": 4, "exhibition": 3, "web": 3}.get(s, 2) for s in _SOURCES
)
# what opportunities are about: big-ticket goods for organisations and for homes
_BUSINESS_SKUS = (
    "AC-8001",
    "AC-3001",
    "TV-8501",
    "SV-0501",
    "PC-1401",
    "PC-0501",
    "RF-3000",
    "PC-2701",
)
_HOME_SKUS = ("AC-8001", "RF-0400", "KT-1301", "TV-7501", "KT-5001", "SM-0101")


def build_pipeline(
    session: Session,
    rng: random.Random,
    *,
    reps: Sequence[User],
    products: Sequence[tuple[int, CatalogItem]],
    now: datetime,
) -> list[WonDeal]:
    """Write the demo opportunities; returns the won ones that should have an order."""
    stages = session.scalars(
        select(PipelineStage).where(PipelineStage.is_active).order_by(PipelineStage.position)
    ).all()
    open_stages = [s for s in stages if s.outcome == "open"]
    closed = [s for s in stages if s.outcome != "open"]
    if not open_stages:
        return []
    by_sku = {item.sku: (product_id, item) for product_id, item in products}
    old_enough = now - timedelta(days=370)
    customers = session.execute(
        select(Customer.id, Customer.name, Customer.kind, Customer.owner_id, Customer.team_id)
        .where(
            Customer.owner_id.in_([rep.id for rep in reps]),
            Customer.created_at < old_enough,
            Customer.deleted_at.is_(None),
            Customer.merged_into_id.is_(None),
        )
        .order_by(Customer.id)
    ).all()
    mine: dict[int, tuple[list[Any], list[Any]]] = {rep.id: ([], []) for rep in reps}
    for customer in customers:
        mine[customer.owner_id][customer.kind == "organisation"].append(customer)
    plans = []
    for rep in reps:
        persons, organisations = mine[rep.id]
        for stage in [*open_stages, *closed]:
            # closed ones pile up over the year; open ones are the current few per stage
            count = rng.randint(1, 3) if stage.outcome == "open" else rng.randint(3, 7)
            for _ in range(count):
                pool = organisations if organisations and rng.random() < 0.7 else persons
                if pool:
                    plans.append((rep, rng.choice(pool), stage))
    ids = allocate_ids(session, Opportunity.__table__, len(plans))  # type: ignore[arg-type]
    rows, history, won = [], [], []
    top_open = max(s.position for s in open_stages)
    for opportunity_id, (rep, customer, stage) in zip(ids, plans, strict=True):
        path = _path(rng, open_stages, stage)
        times = _times(rng, path, stage.outcome != "open", now)
        skus = _BUSINESS_SKUS if customer.kind == "organisation" else _HOME_SKUS
        product_id, item = by_sku[rng.choice(skus)]
        quantity = (
            rng.randint(1, 2)
            if customer.kind != "organisation"
            else 1
            if item.list_price > 10_000
            else rng.randint(5, 60)
        )
        line = price_line(item, product_id, quantity, rng.uniform(0.0, 0.12))
        reached = [s.position for s in path if s.outcome == "open"]
        rows.append(
            {
                "id": opportunity_id,
                "customer_id": customer.id,
                "title": f"{customer.name} · {item.name}",
                "amount": line.amounts.net,
                "currency": "CNY",
                "expected_close_date": _expected_close(rng, stage, times[-1], now),
                "probability": stage.probability,
                "stage_id": stage.id,
                "source": rng.choices(_SOURCES, _SOURCE_WEIGHTS)[0],
                "product_id": product_id,
                "lost_reason": rng.choice(LOST_REASONS) if stage.outcome == "lost" else "",
                "notes": "",
                "stage_changed_at": times[-1],
                "furthest_stage_position": top_open if stage.outcome == "won" else max(reached),
                "closed_at": times[-1] if stage.outcome != "open" else None,
                "external_id": None,
                "deleted_at": None,
                "owner_id": rep.id,
                "team_id": customer.team_id,
                "created_at": times[0],
                "updated_at": times[-1],
                "version": 1,
            }
        )
        for k, (to_stage, at) in enumerate(zip(path, times, strict=True)):
            history.append(
                {
                    "opportunity_id": opportunity_id,
                    "from_stage_id": path[k - 1].id if k else None,
                    "to_stage_id": to_stage.id,
                    "changed_by_id": rep.id,
                    "changed_at": at,
                    "from_stage_entered_at": times[k - 1] if k else None,
                    "seconds_in_stage": seconds_between(times[k - 1], at) if k else None,
                }
            )
        if stage.outcome == "won" and rng.random() < 0.8:
            won.append(WonDeal(opportunity_id, customer.id, times[-1], line))
    if rows:
        insert_rows(session, Opportunity.__table__, rows)  # type: ignore[arg-type]
        insert_rows(session, OpportunityStageChange.__table__, history)  # type: ignore[arg-type]
        audit.record(
            session,
            "demo.create",
            "opportunity",
            f"{ids[0]}-{ids[-1]}",
            {"opportunities": len(rows), "stage_changes": len(history)},
        )
    return won


def _path(
    rng: random.Random, open_stages: Sequence[PipelineStage], target: PipelineStage
) -> list[PipelineStage]:
    """The stages an opportunity went through to reach ``target``: mostly one step at a time,
    now and then skipping one or stepping back and forth again."""
    if target.outcome == "open":
        top = open_stages.index(target)
    elif target.outcome == "won":
        top = len(open_stages) - 1
    else:
        top = rng.randrange(len(open_stages))
    at = 1 if top > 0 and rng.random() < 0.2 else 0  # some start already qualified
    path = [open_stages[at]]
    while at < top:
        at += 2 if at + 2 <= top and rng.random() < 0.1 else 1
        path.append(open_stages[at])
        if 0 < at < top and rng.random() < 0.08:
            path += [open_stages[at - 1], open_stages[at]]
    if target.outcome != "open":
        path.append(target)
    return path


def _times(
    rng: random.Random, path: Sequence[PipelineStage], closed: bool, now: datetime
) -> list[datetime]:
    """When each stage of ``path`` was entered (the first is the creation), within the last
    year, in office hours, increasing, none after ``now``."""
    stays = [
        rng.expovariate(1.0 / _STAY_DAYS[min(i, len(_STAY_DAYS) - 1)]) + 0.5
        for i in range(len(path) - 1)
    ]
    last_days_ago = rng.uniform(0.5, 330.0) if closed else min(rng.expovariate(1 / 20.0), 200.0)
    room = 360.0 - last_days_ago
    if sum(stays) > room:
        stays = [s * room / sum(stays) for s in stays]
    start = now - timedelta(days=last_days_ago + sum(stays))
    times = [start]
    for stay in stays:
        times.append(times[-1] + timedelta(days=stay))
    times = [time_of_day(rng, t, "phone") for t in times]
    for k in range(1, len(times)):  # office hours may have moved two moves of one day apart
        times[k] = max(times[k], times[k - 1] + timedelta(minutes=rng.randint(5, 90)))
    overshoot = times[-1] - now
    if overshoot > timedelta(0):
        times = [t - overshoot - timedelta(hours=1) for t in times]
    return times


def _expected_close(
    rng: random.Random, stage: PipelineStage, last_move: datetime, now: datetime
) -> date:
    if stage.outcome != "open":
        return (last_move + timedelta(hours=8)).date()
    return (now + timedelta(hours=8)).date() + timedelta(days=rng.randint(7, 180))
