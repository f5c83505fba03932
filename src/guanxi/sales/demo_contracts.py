"""Demo contracts (合同) for big accounts and some other organisations: framework and supply
agreements of one or two years, chains of renewals (the old one ``renewed``, the new one linked
through ``renewed_from_id``), some terminated early, some expired, a few drafts, and several
ending within the next 30, 60 and 90 days so that reminders and the statistics have work.

Statuses follow the dates by the contract status rule (``contracts.status.calendar_status``),
as the contract job keeps them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.customers.models import Customer
from guanxi.customers.transfer.import_batch import allocate_ids, insert_rows
from guanxi.sales import numbering
from guanxi.sales.contracts.status import calendar_status
from guanxi.sales.demo_buyers import SHANGHAI, Buyer
from guanxi.sales.models import Contract, Order

OUR_PARTY = "上海观喜电器有限公司"
WARNING_DAYS = 30  # the company default (settings.contract_warning_days)
_SIGNATORIES = ("张伟", "王芳", "李强", "刘洋", "陈静", "杨磊", "赵敏", "黄丽", "周杰", "吴涛")
_SIGNATORY_TITLES = ("总经理", "采购总监", "采购经理", "副总经理")
_TERMINATION_REASONS = (
    "客户业务调整，双方协商提前终止",
    "客户连续两期未按约付款，我方依约解除",
    "客户被收购，合同由新主体另行签订",
)
# where the current contract of a customer ends, in days from today: weights of the bands
_END_BANDS = (
    ((1, 30), 14),
    ((31, 60), 10),
    ((61, 90), 10),
    ((91, 700), 46),
    ((-400, -1), 20),
)


def build_contracts(
    session: Session, rng: random.Random, *, buyers: Mapping[int, Buyer], now: datetime
) -> int:
    """Write the demo contracts; returns how many."""
    today = (now + SHANGHAI).date()
    year_ago = now - timedelta(days=365)
    spend = dict(
        session.execute(
            select(Order.customer_id, func.sum(Order.total - Order.refunded))
            .where(Order.ordered_at >= year_ago, Order.status != "cancelled")
            .group_by(Order.customer_id)
        ).all()
    )
    chosen = [
        b
        for b in buyers.values()
        if b.segment == "big" or (b.organisation and b.customer_id in spend and rng.random() < 0.25)
    ]
    names = dict(
        session.execute(
            select(Customer.id, Customer.name).where(
                Customer.id.in_([b.customer_id for b in chosen])
            )
        ).all()
    )
    plans: list[dict[str, Any]] = []
    for buyer in chosen:
        yearly = max(Decimal(50_000), (spend.get(buyer.customer_id) or Decimal(0)))
        chain = _chain(rng, buyer, names[buyer.customer_id], yearly, today)
        for row in chain:  # the chain's own positions become positions in ``plans``
            if row["_renews"] is not None:
                row["_renews"] += len(plans)
        plans += chain
    ids = allocate_ids(session, Contract.__table__, len(plans))  # type: ignore[arg-type]
    # chains are listed oldest first, so a renewal's id is above the contract it renews
    for row, contract_id in zip(plans, ids, strict=True):
        row["id"] = contract_id
        row["number"] = numbering.contract_number(row.pop("_year"), contract_id)
        previous = row.pop("_renews")
        row["renewed_from_id"] = plans[previous]["id"] if previous is not None else None
        row["created_at"] = row["updated_at"] = _moment(row["signed_on"] or today, now)
    if plans:
        insert_rows(session, Contract.__table__, plans)  # type: ignore[arg-type]
        audit.record(
            session, "demo.create", "contract", f"{ids[0]}-{ids[-1]}", {"contracts": len(plans)}
        )
    return len(plans)


def _moment(day: date, now: datetime) -> datetime:
    at = datetime(day.year, day.month, day.day, 10, tzinfo=now.tzinfo) - SHANGHAI
    return min(at, now)


def _chain(
    rng: random.Random, buyer: Buyer, name: str, yearly: Decimal, today: date
) -> list[dict[str, Any]]:
    """A customer's contracts, oldest first: the current one and the ones it renewed."""
    (low, high), _weight = rng.choices(_END_BANDS, [w for _, w in _END_BANDS])[0]
    years = rng.choice((1, 1, 2))
    # the current contract has started: it ends within its term from today
    end = today + timedelta(days=rng.randint(low, min(high, 365 * years - 1)))
    chain: list[dict[str, Any]] = []
    first_day = today - timedelta(days=3 * 365)  # the company's records go back three years
    while True:
        start = _years_before(end, years) + timedelta(days=1)
        if chain and start < first_day:
            break
        chain.append(_row(rng, buyer, name, yearly, start, end, years, today))
        end = start - timedelta(days=1)
        years = rng.choice((1, 1, 2))
        if rng.random() < 0.5:
            break
    chain.reverse()
    current = chain[-1]
    for i, row in enumerate(chain[:-1]):
        row.update(status="renewed")
        chain[i + 1]["_renews"] = i
    if current["status"] != "expired" and rng.random() < 0.08:
        earliest = current["start_date"] + timedelta(days=30)
        if earliest < today:
            stop = earliest + timedelta(days=rng.randrange((today - earliest).days + 1))
            current.update(
                status="terminated",
                terminated_on=stop,
                termination_reason=rng.choice(_TERMINATION_REASONS),
            )
    elif current["status"] == "expiring" and rng.random() < 0.3:
        # renewed ahead of its end: the renewal starts the day after
        start = current["end_date"] + timedelta(days=1)
        end = _years_before(start, -1) - timedelta(days=1)
        renewal = _row(rng, buyer, name, yearly, start, end, 1, today)
        renewal["_renews"] = len(chain) - 1
        current.update(status="renewed")
        chain.append(renewal)
    elif rng.random() < 0.05:  # a new agreement being drafted for next month
        start = today + timedelta(days=rng.randint(7, 45))
        end = _years_before(start, -1) - timedelta(days=1)
        draft = _row(rng, buyer, name, yearly, start, end, 1, today)
        draft.update(status="draft", signed_on=None)
        chain.append(draft)
    return chain


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _row(
    rng: random.Random,
    buyer: Buyer,
    name: str,
    yearly: Decimal,
    start: date,
    end: date,
    years: int,
    today: date,
) -> dict[str, Any]:
    signed = min(today, start - timedelta(days=rng.randint(3, 30)))
    # in round thousands, as contract values are negotiated
    thousands = yearly * years * Decimal(str(round(rng.uniform(0.8, 1.2), 2))) / 1000
    amount = thousands.quantize(Decimal(1)) * 1000
    if buyer.segment in {"big", "distributor"}:
        title = f"{start.year}年度经销框架协议"
    else:
        title = f"设备采购与维保合同（{start.year}-{end.year}）"
    warning = 60 if rng.random() < 0.1 else None
    return {
        "_year": signed.year,
        "_renews": None,
        "title": f"{name} {title}",
        "customer_id": buyer.customer_id,
        "our_party": OUR_PARTY,
        "counterparty_signatory": f"{rng.choice(_SIGNATORIES)}（{rng.choice(_SIGNATORY_TITLES)}）",
        "amount": amount.quantize(Decimal("0.01")),
        "currency": "CNY",
        "start_date": start,
        "end_date": end,
        "signed_on": signed,
        "status": calendar_status(end, today, warning or WARNING_DAYS),
        "warning_days": warning,
        "opportunity_id": None,
        "terminated_on": None,
        "termination_reason": "",
        "notes": "",
        "deleted_at": None,
        "owner_id": buyer.owner_id,
        "team_id": buyer.team_id,
        "version": 1,
    }
