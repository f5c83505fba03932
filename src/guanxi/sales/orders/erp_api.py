"""JSON API for shops and ERP systems: orders upserted idempotently by their external id, one at a
time or thousands per request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, require
from guanxi.sales.orders import erp
from guanxi.sales.orders.erp_schemas import ErpBulkIn, ErpBulkResult, ErpOrderRead, Refused

router = APIRouter(prefix="/api/v1", tags=["orders"])

Creator = Annotated[User, require("orders", "create")]


@router.put("/orders/by-external-id/{external_id}", responses={201: {"model": ErpOrderRead}})
def put_order_by_external_id(
    external_id: Annotated[str, Path(min_length=1, max_length=100)],
    body: Annotated[dict[str, Any], Body(description="An order shaped like ErpOrderIn")],
    response: Response,
    session: DbSession,
    actor: Creator,
) -> ErpOrderRead:
    """Create (201) or replace (200) the order a shop or ERP system knows as ``external_id``.
    Sending the same body again changes nothing: same version, same line ids, no audit entry.
    Changing an existing order also needs the ``orders:update`` permission."""
    order, created = erp.upsert_order(
        session=session, actor=actor, external_id=external_id, body=body
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["ETag"] = etag(order.version)
    return ErpOrderRead.model_validate(order)


@router.post("/orders/bulk")
def bulk_upsert_orders(bulk_in: ErpBulkIn, session: DbSession, actor: Creator) -> ErpBulkResult:
    """Create or update up to 10,000 orders (50,000 lines) by their external ids in one request
    (413 beyond). Each order is written whole or refused with its index, field and reason; the
    others are written. Orders already stored as sent count as unchanged and are not touched."""
    outcome = erp.upsert_orders(session=session, actor=actor, items=bulk_in.orders)
    return ErpBulkResult(
        created=len(outcome.created),
        updated=len(outcome.updated),
        unchanged=len(outcome.unchanged),
        refused=len(outcome.refusals),
        refusals=[
            Refused(index=r.index, external_id=r.external_id, field=r.field, reason=r.reason)
            for r in outcome.refusals
        ],
    )
