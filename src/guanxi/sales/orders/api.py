"""JSON API for orders, invoices, shipments and returns. (The ERP upserts by external id and in
bulk are in ``erp_api``.)"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, SettingsDep, require
from guanxi.pagination import PageOut
from guanxi.sales.models import Order
from guanxi.sales.orders import documents
from guanxi.sales.orders import service as order_service
from guanxi.sales.orders.schemas import (
    InvoiceCreate,
    InvoiceRead,
    OrderCancel,
    OrderCreate,
    OrderPage,
    OrderRead,
    OrderUpdate,
    ReturnCreate,
    ReturnRead,
    ShipmentCreate,
    ShipmentRead,
)

router = APIRouter(prefix="/api/v1", tags=["orders"])
Limit = Annotated[int, Query(ge=1, le=500)]


def _answer(response: Response, order: Order) -> OrderRead:
    read = order_service.to_read(order)
    response.headers["ETag"] = etag(read.version)
    return read


@router.get("/orders")
def list_orders(
    session: DbSession,
    actor: Annotated[User, require("orders", "read")],
    customer_id: int | None = None,
    status: str | None = None,
    channel: str | None = None,
    owner_id: int | None = None,
    ordered_from: date | None = None,
    ordered_to: Annotated[date | None, Query(description="Inclusive")] = None,
    q: Annotated[str, Query(description="Fragment of the order number or external id")] = "",
    sort: Literal["ordered_at", "number", "total", "created_at"] = "ordered_at",
    order: Literal["asc", "desc"] = "desc",
    limit: Limit = 50,
    cursor: str | None = None,
) -> OrderPage:
    """The orders you may see, newest first; every filter narrows the list."""
    page = order_service.list_orders(
        session=session,
        actor=actor,
        spec=order_service.OrderFilter(
            customer_id=customer_id,
            status=status,
            channel=channel,
            owner_id=owner_id,
            ordered_from=ordered_from,
            ordered_to=ordered_to,
            q=q,
        ),
        sort=sort,
        descending=order == "desc",
        limit=limit,
        cursor=cursor,
    )
    return OrderPage(
        items=[order_service.to_summary(o) for o in page.items], next_cursor=page.next_cursor
    )


@router.post("/orders", status_code=status.HTTP_201_CREATED)
def create_order(
    body: OrderCreate,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("orders", "create")],
) -> OrderRead:
    """A new order (draft unless ``status`` is ``confirmed``); prices and costs left out come
    from the products; the currency defaults to the company's."""
    if body.currency is None:
        body = body.model_copy(update={"currency": settings.currency})
    order = order_service.create(session=session, actor=actor, order_in=body)
    return _answer(response, order)


@router.get("/orders/{order_id:int}")
def read_order(
    order_id: int,
    response: Response,
    session: DbSession,
    actor: Annotated[User, require("orders", "read")],
) -> OrderRead:
    return _answer(response, order_service.get(session=session, actor=actor, order_id=order_id))


@router.patch("/orders/{order_id:int}")
def update_order(
    order_id: int,
    body: OrderUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "update")],
) -> OrderRead:
    """Change a draft order (409 once it is confirmed); ``lines`` replaces all its lines."""
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    order = order_service.update(
        session=session, actor=actor, order=order, order_in=body, expected_version=expected_version
    )
    return _answer(response, order)


@router.delete("/orders/{order_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_order(
    order_id: int,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "delete")],
) -> None:
    """Delete a draft order (409 for any other: cancel it instead)."""
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    order_service.delete(
        session=session, actor=actor, order=order, expected_version=expected_version
    )


@router.post("/orders/{order_id:int}/confirm")
def confirm_order(
    order_id: int,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "update")],
) -> OrderRead:
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    order = order_service.confirm(
        session=session, actor=actor, order=order, expected_version=expected_version
    )
    return _answer(response, order)


@router.post("/orders/{order_id:int}/complete")
def complete_order(
    order_id: int,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "update")],
) -> OrderRead:
    """Close a fully shipped order (409 while goods are still to ship)."""
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    order = order_service.complete(
        session=session, actor=actor, order=order, expected_version=expected_version
    )
    return _answer(response, order)


@router.post("/orders/{order_id:int}/cancel")
def cancel_order(
    order_id: int,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "update")],
    body: OrderCancel | None = None,
) -> OrderRead:
    """Cancel an order with nothing shipped: all of it is refunded, its cost drops to zero, and
    what was invoiced is credited."""
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    order = order_service.cancel(
        session=session,
        actor=actor,
        order=order,
        reason=body.reason if body else "",
        expected_version=expected_version,
    )
    return _answer(response, order)


@router.post("/orders/{order_id:int}/invoices", status_code=status.HTTP_201_CREATED)
def invoice_order(
    order_id: int,
    body: InvoiceCreate,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "update")],
) -> InvoiceRead:
    """Invoice part of the order (``amount``) or all that is left to invoice."""
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    invoice = documents.record_invoice(
        session=session,
        actor=actor,
        order=order,
        invoice_in=body,
        expected_version=expected_version,
    )
    return InvoiceRead.model_validate(invoice)


@router.post("/orders/{order_id:int}/shipments", status_code=status.HTTP_201_CREATED)
def ship_order(
    order_id: int,
    body: ShipmentCreate,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "update")],
) -> ShipmentRead:
    """Ship quantities of the order's lines; more than is left to ship is refused per line."""
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    shipment = documents.record_shipment(
        session=session,
        actor=actor,
        order=order,
        shipment_in=body,
        expected_version=expected_version,
    )
    return ShipmentRead.model_validate(shipment)


@router.post("/orders/{order_id:int}/returns", status_code=status.HTTP_201_CREATED)
def return_goods(
    order_id: int,
    body: ReturnCreate,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("orders", "update")],
) -> ReturnRead:
    """Take back shipped units: refunded at the line's net price, their cost given back."""
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    returned = documents.record_return(
        session=session,
        actor=actor,
        order=order,
        return_in=body,
        expected_version=expected_version,
    )
    return ReturnRead.model_validate(returned)


@router.get("/orders/{order_id:int}/returns")
def list_returns(
    order_id: int, session: DbSession, actor: Annotated[User, require("orders", "read")]
) -> list[ReturnRead]:
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    return [ReturnRead.model_validate(r) for r in documents.returns_of(session, order)]


# ---------------------------------------------------------------- invoices and shipments


@router.get("/invoices", tags=["invoices"])
def list_invoices(
    session: DbSession,
    actor: Annotated[User, require("orders", "read")],
    order_id: int | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[InvoiceRead]:
    """Invoices and credit notes (negative) of the orders you may see, newest first."""
    page = documents.list_invoices(
        session=session, actor=actor, order_id=order_id, limit=limit, cursor=cursor
    )
    return PageOut(
        items=[InvoiceRead.model_validate(i) for i in page.items], next_cursor=page.next_cursor
    )


@router.get("/invoices/{invoice_id:int}", tags=["invoices"])
def read_invoice(
    invoice_id: int, session: DbSession, actor: Annotated[User, require("orders", "read")]
) -> InvoiceRead:
    invoice = documents.get_invoice(session=session, actor=actor, invoice_id=invoice_id)
    return InvoiceRead.model_validate(invoice)


@router.get("/shipments", tags=["shipments"])
def list_shipments(
    session: DbSession,
    actor: Annotated[User, require("orders", "read")],
    order_id: int | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[ShipmentRead]:
    page = documents.list_shipments(
        session=session, actor=actor, order_id=order_id, limit=limit, cursor=cursor
    )
    return PageOut(
        items=[ShipmentRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/shipments/{shipment_id:int}", tags=["shipments"])
def read_shipment(
    shipment_id: int, session: DbSession, actor: Annotated[User, require("orders", "read")]
) -> ShipmentRead:
    shipment = documents.get_shipment(session=session, actor=actor, shipment_id=shipment_id)
    return ShipmentRead.model_validate(shipment)
