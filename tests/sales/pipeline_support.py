"""Shared helpers for the pipeline tests: customers and opportunities made through the services."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.sales.models import Opportunity, OpportunityStageChange, PipelineStage
from guanxi.sales.pipeline import service as pipeline_service
from guanxi.sales.pipeline.schemas import OpportunityCreate


def stage(session: Session, key: str) -> PipelineStage:
    found = session.scalar(select(PipelineStage).where(PipelineStage.key == key))
    assert found is not None, key
    return found


def customer_of(session: Session, owner: User, name: str = "上海明德贸易") -> int:
    customer = customer_service.create(
        session=session, actor=owner, customer_in=CustomerCreate(name=name)
    )
    return customer.id


def opportunity_of(
    session: Session,
    owner: User,
    *,
    title: str = "年度采购",
    amount: str = "12000.50",
    stage_key: str | None = None,
    customer_id: int | None = None,
    **fields: object,
) -> Opportunity:
    customer_id = customer_id or customer_of(session, owner)
    opportunity_in = OpportunityCreate(
        customer_id=customer_id,
        title=title,
        amount=Decimal(amount),
        stage_id=stage(session, stage_key).id if stage_key else None,
        **fields,  # type: ignore[arg-type]
    )
    return pipeline_service.create(session=session, actor=owner, opportunity_in=opportunity_in)


def changes(session: Session, opportunity_id: int) -> list[OpportunityStageChange]:
    return list(
        session.scalars(
            select(OpportunityStageChange)
            .where(OpportunityStageChange.opportunity_id == opportunity_id)
            .order_by(OpportunityStageChange.id)
        )
    )
