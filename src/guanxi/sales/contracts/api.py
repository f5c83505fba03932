"""JSON API for contracts, renewals and contract statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, SettingsDep, require
from guanxi.errors import N_, PermissionDenied
from guanxi.pagination import PageOut
from guanxi.sales.contracts import lifecycle, service, stats
from guanxi.sales.contracts.schemas import (
    ContractActivate,
    ContractCreate,
    ContractRead,
    ContractRenew,
    ContractStats,
    ContractStatus,
    ContractTerminate,
    ContractUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["contracts"])
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/contracts")
def list_contracts(
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "read")],
    status: ContractStatus | None = None,
    customer_id: int | None = None,
    owner_id: int | None = None,
    expiring_within: Annotated[
        int | None,
        Query(ge=0, le=3650, description="Running contracts that end within this many days"),
    ] = None,
    q: Annotated[str, Query(description="Fragment of the number or title")] = "",
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[ContractRead]:
    """Contracts the caller may see, newest first."""
    page = service.list_contracts(
        session=session,
        actor=actor,
        settings=settings,
        status=status,
        customer_id=customer_id,
        owner_id=owner_id,
        expiring_within=expiring_within,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(
        items=[service.to_read(session, c, settings) for c in page.items],
        next_cursor=page.next_cursor,
    )


@router.post("/contracts", status_code=status.HTTP_201_CREATED)
def create_contract(
    body: ContractCreate,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "create")],
) -> ContractRead:
    contract = service.create(session=session, actor=actor, settings=settings, contract_in=body)
    response.headers["ETag"] = etag(contract.version)
    return service.to_read(session, contract, settings)


@router.get("/contracts/stats")
def contract_stats(
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "read")],
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
) -> ContractStats:
    """Value and count by status, expiring within 30/60/90 days, and the renewal rate over
    ``from``..``to`` (default: the last 365 days): renewed / (renewed + expired +
    terminated on or after the end date), for contracts whose end date is in the period."""
    return stats.contract_stats(
        session=session,
        actor=actor,
        settings=settings,
        period_from=period_from,
        period_to=period_to,
    )


@router.get("/contracts/{contract_id:int}")
def read_contract(
    contract_id: int,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("contracts", "read")],
) -> ContractRead:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    response.headers["ETag"] = etag(contract.version)
    return service.to_read(session, contract, settings)


@router.patch("/contracts/{contract_id:int}")
def update_contract(
    contract_id: int,
    body: ContractUpdate,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    expected_version: IfMatch,
    actor: Annotated[User, require("contracts", "update")],
) -> ContractRead:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    contract = service.update(
        session=session,
        actor=actor,
        settings=settings,
        contract=contract,
        contract_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(contract.version)
    return service.to_read(session, contract, settings)


@router.delete("/contracts/{contract_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_contract(
    contract_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("contracts", "delete")],
) -> Response:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    service.delete(
        session=session, actor=actor, contract=contract, expected_version=expected_version
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/contracts/{contract_id:int}/activate")
def activate_contract(
    contract_id: int,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    expected_version: IfMatch,
    actor: Annotated[User, require("contracts", "update")],
    body: ContractActivate | None = None,
) -> ContractRead:
    """Mark a draft signed (``signed_on`` defaults to today)."""
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    lifecycle.activate(
        session=session,
        actor=actor,
        settings=settings,
        contract=contract,
        signed_on=body.signed_on if body else None,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(contract.version)
    return service.to_read(session, contract, settings)


@router.post("/contracts/{contract_id:int}/terminate")
def terminate_contract(
    contract_id: int,
    body: ContractTerminate,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    expected_version: IfMatch,
    actor: Annotated[User, require("contracts", "update")],
) -> ContractRead:
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    lifecycle.terminate(
        session=session,
        actor=actor,
        settings=settings,
        contract=contract,
        terminate_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(contract.version)
    return service.to_read(session, contract, settings)


@router.post("/contracts/{contract_id:int}/renew", status_code=status.HTTP_201_CREATED)
def renew_contract(
    contract_id: int,
    body: ContractRenew,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    expected_version: IfMatch,
    actor: Annotated[User, require("contracts", "create")],
) -> ContractRead:
    """Create the contract that follows this one; answers the new contract (201)."""
    if not actor.can("contracts", "update"):
        # renewing also closes the old contract, so it needs both rights
        raise PermissionDenied(N_("Your role may not change contracts."))
    contract = service.get(session=session, actor=actor, contract_id=contract_id)
    renewal = lifecycle.renew(
        session=session,
        actor=actor,
        settings=settings,
        contract=contract,
        contract_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(renewal.version)
    response.headers["Location"] = f"/api/v1/contracts/{renewal.id}"
    return service.to_read(session, renewal, settings)
