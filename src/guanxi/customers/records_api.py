"""JSON API for duplicates, merging, and personal-data rights (export of everything, erasure)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from guanxi.auth.models import User
from guanxi.customers import dedupe, merge, privacy
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerRead, DuplicatePairRead, MergeRequest
from guanxi.deps import DbSession, require

router = APIRouter(prefix="/api/v1")


@router.get("/customers/duplicates", tags=["customers"])
def find_duplicates(
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
    customer_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DuplicatePairRead]:
    """Likely duplicates: same phone or e-mail, same name in the same city, or (for one customer)
    a similar name in the same city. Only customers you may see are compared."""
    pairs = dedupe.find(session=session, actor=actor, customer_id=customer_id, limit=limit)
    ids = {i for p in pairs for i in (p.first_id, p.second_id)}
    customers = {c.id: c for c in session.query(Customer).filter(Customer.id.in_(ids))}
    return [
        DuplicatePairRead(
            first=customer_service.to_summary(customers[p.first_id]),
            second=customer_service.to_summary(customers[p.second_id]),
            reasons=sorted(p.reasons),
            score=p.score,
        )
        for p in pairs
    ]


@router.post("/customers/merge", tags=["customers"])
def merge_customers(
    body: MergeRequest, session: DbSession, actor: Annotated[User, require("customers", "delete")]
) -> CustomerRead:
    """Merge two customers you may see; the other record's contacts, consents, orders,
    opportunities, contracts, interactions, follow-ups and web events move to the survivor."""
    survivor = merge.merge(
        session=session,
        actor=actor,
        survivor_id=body.survivor_id,
        other_id=body.other_id,
        choices=body.choices,
        survivor_version=body.survivor_version,
        other_version=body.other_version,
    )
    return customer_service.to_read(survivor)


@router.get("/customers/{customer_id:int}/personal-data", tags=["personal data"])
def export_personal_data(
    customer_id: int, session: DbSession, actor: Annotated[User, require("customers", "export")]
) -> dict[str, Any]:
    """Everything held about the customer, machine-readable (audited)."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    return privacy.personal_data(session=session, actor=actor, customer=customer)


@router.post(
    "/customers/{customer_id:int}/erase", tags=["personal data"], status_code=status.HTTP_200_OK
)
def erase_personal_data(
    customer_id: int, session: DbSession, actor: Annotated[User, require("customers", "delete")]
) -> CustomerRead:
    """Anonymise the customer's personal fields, keep business records, withdraw all consent."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    return customer_service.to_read(privacy.erase(session=session, actor=actor, customer=customer))
