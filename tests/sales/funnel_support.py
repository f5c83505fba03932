"""A hand-built pipeline history for the funnel tests, where every figure is known in advance.

Rows are written straight through the ORM, following the pipeline's rules (one history row per
move, the first from no stage; ``from_stage_entered_at`` is when the left stage was entered;
``furthest_stage_position`` is the furthest open stage reached, the last open one for a win), so
these tests do not depend on how the pipeline service moves cards.

The period is 2026-01-01 to 2026-03-31. Stages are the defaults: lead 0, qualified 1, proposal 2,
negotiation 3, won, lost. ``DAY0`` is 2026-01-01 00:00 UTC; moves are (stage key, days after DAY0).

| # | owner | source | product | amount | moves (days) | end |
|---|---|---|---|---|---|---|
| 1 | A (East) | web | P1 | 1000.00 | lead 0, qualified 2, proposal 5, negotiation 9, won 10 | won |
| 2 | A | web | P1 | 2000.00 | lead 0, qualified 4, lost 6 | lost |
| 3 | A | referral | P2 | 500.50 | lead 1, qualified 3, proposal 4 | open |
| 4 | B (East) | referral | P2 | 3000.00 | lead 2.5, lost 3 | lost |
| 5 | B | web | - | 1500.25 | lead 2, qualified 6, proposal 8, negotiation 10, won 20 | won |
| 6 | B | phone | P1 | 800.00 | lead 3 | open |
| 7 | C (West) | web | P1 | 10000.00 | lead 1, qualified 2, proposal 3, lost 5 | lost |
| 8 | C | referral | P2 | 250.00 | qualified 5, won 7 (created past lead) | won |
| 9 | A | web | P1 | 700.00 | lead at 2026-03-31 23:59:59 (last instant) | open |
| 10 | A | web | P1 | 999.00 | lead at 2025-12-31 23:59:59, won 2026-01-05 | won, not in cohort |
| 11 | B | web | P1 | 1234.56 | lead at 2026-04-01 00:00 | open, not in cohort |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.sales.models import (
    Opportunity,
    OpportunityStageChange,
    PipelineStage,
    Product,
    seconds_between,
)
from tests.conftest import People, Person

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
START, END = date(2026, 1, 1), date(2026, 3, 31)
Move = tuple[str, datetime]


def at(days: float) -> datetime:
    return DAY0 + timedelta(days=days)


def build(
    session: Session,
    *,
    owner: User,
    customer_id: int,
    moves: list[Move],
    amount: str,
    source: str = "web",
    product: Product | None = None,
    probability: int = 0,
    expected_close_date: date | None = None,
) -> Opportunity:
    """An opportunity created at the first move's stage and time, moved through the rest."""
    stages = {s.key: s for s in session.scalars(select(PipelineStage))}
    path = [(stages[key], when) for key, when in moves]
    last_open = max(s.position for s in stages.values() if s.outcome == "open")
    final, final_at = path[-1]
    reached = [s.position for s, _ in path if s.outcome == "open"]
    furthest = last_open if final.outcome == "won" else max(reached, default=0)
    opportunity = Opportunity(
        customer_id=customer_id,
        title=f"{owner.username} {amount}",
        amount=Decimal(amount),
        probability=probability,
        expected_close_date=expected_close_date,
        stage_id=final.id,
        source=source,
        product_id=product.id if product else None,
        owner_id=owner.id,
        team_id=owner.team_id,
        created_at=path[0][1],
        updated_at=final_at,
        stage_changed_at=final_at,
        furthest_stage_position=furthest,
        closed_at=final_at if final.outcome != "open" else None,
    )
    session.add(opportunity)
    session.flush()
    previous: tuple[PipelineStage, datetime] | None = None
    for stage, when in path:
        session.add(
            OpportunityStageChange(
                opportunity_id=opportunity.id,
                from_stage_id=previous[0].id if previous else None,
                to_stage_id=stage.id,
                changed_by_id=owner.id,
                changed_at=when,
                from_stage_entered_at=previous[1] if previous else None,
                seconds_in_stage=seconds_between(previous[1], when) if previous else None,
            )
        )
        previous = (stage, when)
    session.flush()
    return opportunity


@dataclass
class Pipeline:
    """The people and records of the hand-built history."""

    a: Person
    b: Person
    c: Person
    east_manager: Person
    p1: Product
    p2: Product
    opportunities: dict[int, Opportunity]


def product(session: Session, sku: str, name: str) -> Product:
    made = Product(sku=sku, name=name, list_price=Decimal("1.00"))
    session.add(made)
    session.flush()
    return made


def build_pipeline(session: Session, people: People) -> Pipeline:
    east, west = people.team("East"), people.team("West")
    a, b = people.user("sales", team=east), people.user("sales", team=east)
    c = people.user("sales", team=west)
    manager = people.user("manager", team=east)
    p1, p2 = product(session, "FN-P1", "云存储套餐"), product(session, "FN-P2", "Support plan")
    customers = {
        person.user.id: customer_service.create(
            session=session, actor=person.user, customer_in=CustomerCreate(name=f"客户{n}")
        ).id
        for n, person in enumerate((a, b, c))
    }

    def make(number: int, person: Person, moves: list[Move], amount: str, **fields: object):  # type: ignore[no-untyped-def]
        return number, build(
            session,
            owner=person.user,
            customer_id=customers[person.user.id],
            moves=moves,
            amount=amount,
            **fields,  # type: ignore[arg-type]
        )

    lead, qualified, proposal, negotiation = "lead", "qualified", "proposal", "negotiation"
    made = dict(
        [
            make(1, a, [(lead, at(0)), (qualified, at(2)), (proposal, at(5)),
                        (negotiation, at(9)), ("won", at(10))], "1000.00", product=p1),
            make(2, a, [(lead, at(0)), (qualified, at(4)), ("lost", at(6))], "2000.00",
                 product=p1, expected_close_date=date(2026, 1, 10), probability=50),
            make(3, a, [(lead, at(1)), (qualified, at(3)), (proposal, at(4))], "500.50",
                 source="referral", product=p2, expected_close_date=date(2026, 1, 20),
                 probability=33),
            make(4, b, [(lead, at(2.5)), ("lost", at(3))], "3000.00", source="referral",
                 product=p2),
            make(5, b, [(lead, at(2)), (qualified, at(6)), (proposal, at(8)),
                        (negotiation, at(10)), ("won", at(20))], "1500.25"),
            make(6, b, [(lead, at(3))], "800.00", source="phone", product=p1,
                 expected_close_date=date(2026, 4, 1), probability=10),
            make(7, c, [(lead, at(1)), (qualified, at(2)), (proposal, at(3)), ("lost", at(5))],
                 "10000.00", product=p1),
            make(8, c, [(qualified, at(5)), ("won", at(7))], "250.00", source="referral",
                 product=p2),
            make(9, a, [(lead, datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))], "700.00",
                 product=p1, expected_close_date=date(2026, 2, 1), probability=15),
            make(10, a, [(lead, datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)),
                         ("won", at(4))], "999.00", product=p1),
            make(11, b, [(lead, datetime(2026, 4, 1, tzinfo=UTC))], "1234.56", product=p1,
                 expected_close_date=date(2026, 3, 31), probability=37),
        ]
    )  # fmt: skip
    return Pipeline(a, b, c, manager, p1, p2, made)
