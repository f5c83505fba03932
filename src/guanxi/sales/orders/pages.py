"""Order pages: the list (filters in the URL, sortable, keyset pages), the new-order form, and
the record page with its invoices, shipments and returns and the forms that record them.
Parsing lives in ``forms``; every write goes through the order services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.deps import DbSession, require
from guanxi.errors import N_, FieldError, GuanxiError, InvalidInput, NotFound
from guanxi.sales.labels import ORDER_CHANNEL_LABELS, ORDER_STATUS_LABELS
from guanxi.sales.models import Order, Product
from guanxi.sales.orders import documents, forms
from guanxi.sales.orders import service as order_service
from guanxi.web.forms import FormData, FormInvalid, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

SORT_COLUMNS = ("ordered_at", "number", "total")
FIRST_ORDER = {"ordered_at": "desc", "number": "asc", "total": "desc"}
FILTERS = ("q", "status", "channel", "customer_id", "ordered_from", "ordered_to")
PAGE_SIZE = 50
PRODUCT_CHOICES = 500  # the product select offers this many; any other is found by its SKU


def _labels() -> dict[str, Any]:
    return {"status_labels": ORDER_STATUS_LABELS, "channel_labels": ORDER_CHANNEL_LABELS}


def _customer_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {row.id: row.name for row in rows}


# ---------------------------------------------------------------- list


def _filter(values: dict[str, str]) -> order_service.OrderFilter:
    errors = []

    def number(key: str) -> int | None:
        value = values.get(key, "")
        if value and not value.isdigit():
            errors.append(FieldError(key, N_("Must be a whole number.")))
            return None
        return int(value) if value else None

    def day(key: str) -> date | None:
        value = values.get(key, "")
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            errors.append(FieldError(key, N_("Write dates as 2026-11-23.")))
            return None

    spec = order_service.OrderFilter(
        customer_id=number("customer_id"),
        status=values.get("status") or None,
        channel=values.get("channel") or None,
        ordered_from=day("ordered_from"),
        ordered_to=day("ordered_to"),
        q=values.get("q", ""),
    )
    if errors:
        raise InvalidInput(N_("Some filters are not valid."), errors=errors)
    return spec


@router.get("/sales/orders", response_class=HTMLResponse)
def order_list(
    request: Request, session: DbSession, actor: Annotated[User, require("orders", "read")]
) -> HTMLResponse:
    """``?status=confirmed&channel=web&customer_id=3&ordered_from=2026-01-01&sort=total``"""
    params = request.query_params
    values = {k: params.get(k, "").strip() for k in FILTERS}
    filters = [(k, v) for k, v in values.items() if v]
    sort = params.get("sort") or "ordered_at"
    order = params.get("order") or FIRST_ORDER.get(sort, "desc")
    orders: list[Order] = []
    next_url = message = None
    try:
        with refusals(session):
            if sort not in SORT_COLUMNS or order not in ("asc", "desc"):
                raise InvalidInput(N_("Choose one of the offered sort orders."))
            page = order_service.list_orders(
                session=session,
                actor=actor,
                spec=_filter(values),
                sort=sort,
                descending=order == "desc",
                limit=PAGE_SIZE,
                cursor=params.get("cursor") or None,
            )
    except FormInvalid as invalid:
        message = invalid.message
    else:
        orders = list(page.items)
        if page.next_cursor:
            kept = [*filters, ("sort", sort), ("order", order), ("cursor", page.next_cursor)]
            next_url = "/sales/orders?" + urlencode(kept)
    sort_links = {}
    for column in SORT_COLUMNS:
        flipped = "desc" if order == "asc" else "asc"
        wanted = flipped if column == sort else FIRST_ORDER[column]
        sort_links[column] = "/sales/orders?" + urlencode(
            [*filters, ("sort", column), ("order", wanted)]
        )
    return render(
        request,
        "sales/order_list.html",
        {
            **_labels(),
            "orders": orders,
            "customer_names": _customer_names(session, {o.customer_id for o in orders}),
            "values": values,
            "filtered": bool(filters),
            "sort": sort,
            "order": order,
            "sort_links": sort_links,
            "next_url": next_url,
            "first_url": "/sales/orders?" + urlencode(filters) if params.get("cursor") else None,
            "message": message,
        },
        status_code=400 if message else 200,
    )


# ---------------------------------------------------------------- new order


def _zone(request: Request) -> ZoneInfo:
    viewer = getattr(request.state, "viewer", None)
    if viewer is not None and viewer.timezone:
        return ZoneInfo(viewer.timezone)
    zone: ZoneInfo = request.app.state.settings.zone
    return zone


def _order_form(
    request: Request,
    session: Session,
    actor: User,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    customer = None
    customer_id = str(values.get("customer_id", "")).strip()
    if customer_id.isdigit():
        try:
            customer = customer_service.get(
                session=session, actor=actor, customer_id=int(customer_id)
            )
        except NotFound:
            customer = None
    products = session.scalars(
        select(Product)
        .where(Product.is_active.is_(True))
        .order_by(Product.name)
        .limit(PRODUCT_CHOICES)
    )
    owners = reachable_users(session, actor) if actor.can("orders", "manage") else [actor]
    return render(
        request,
        "sales/order_form.html",
        {
            **_labels(),
            "values": values,
            "rows": forms.form_rows(values),
            "customer": customer,
            "products": list(products),
            "owners": owners,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/sales/orders/new", response_class=HTMLResponse)
def order_new(
    request: Request, session: DbSession, actor: Annotated[User, require("orders", "create")]
) -> HTMLResponse:
    """The order form; ``?customer_id=`` picks the customer (from the customer 360 page)."""
    values = {
        "customer_id": request.query_params.get("customer_id", ""),
        "channel": "store",
        "owner_id": str(actor.id),
    }
    return _order_form(request, session, actor, values)


@router.post("/sales/orders/new")
def order_create(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "create")],
) -> Response:
    try:
        order_in = forms.order_in(data, _zone(request))
        if order_in.currency is None:
            order_in = order_in.model_copy(update={"currency": request.app.state.settings.currency})
        try:
            order = order_service.create(session=session, actor=actor, order_in=order_in)
        except GuanxiError as exc:
            session.rollback()
            raise forms.refused(exc) from exc
    except FormInvalid as invalid:
        return _order_form(request, session, actor, data, invalid)
    return redirect(
        request, f"/sales/orders/{order.id}", flash=N_("Order {number} saved."), number=order.number
    )


# ---------------------------------------------------------------- record page


def _record(
    request: Request,
    session: Session,
    actor: User,
    order: Order,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    try:
        customer_name = customer_service.get(
            session=session, actor=actor, customer_id=order.customer_id
        ).name
    except NotFound:
        customer_name = None  # shared order of a customer the viewer may not open
    return render(
        request,
        "sales/order_detail.html",
        {
            **_labels(),
            "order": order,
            "read": order_service.to_read(order),
            "customer_name": customer_name,
            "invoices": documents.invoices_of(session, order),
            "shipments": documents.shipments_of(session, order),
            "returns": documents.returns_of(session, order),
            "line_numbers": {line.id: line.line_no for line in order.lines},
            "plain": _plain,
            "can_invoice": order.status in documents.INVOICEABLE
            and order_service.left_to_invoice(order) > 0,
            "can_ship": order.status in documents.SHIPPABLE,
            "can_return": order.status in documents.RETURNABLE
            and any(line.shipped_quantity > line.returned_quantity for line in order.lines),
            "can_cancel": order.status in order_service.CANCELLABLE
            and not any(line.shipped_quantity > 0 for line in order.lines),
            "can_complete": order.status in order_service.OPEN_STATUSES
            and order_service.fully_shipped(order),
            "form": form,
            "values": values or {},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/sales/orders/{order_id:int}", response_class=HTMLResponse)
def order_detail(
    order_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("orders", "read")],
) -> HTMLResponse:
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    return _record(request, session, actor, order)


def _plain(value: Decimal) -> str:
    """A quantity as a form field shows it: ``1.5``, ``100`` (no exponent, no grouping)."""
    return format(value.normalize(), "f")


def _version(data: dict[str, Any]) -> int | None:
    value = str(data.get("version", ""))
    return int(value) if value.isdigit() else None


def _status_action(
    request: Request,
    session: Session,
    actor: User,
    order_id: int,
    data: dict[str, Any],
    action: str,
) -> Response:
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    url = f"/sales/orders/{order_id}"
    try:
        with refusals(session):
            expected = _version(data)
            if action == "confirm":
                order_service.confirm(
                    session=session, actor=actor, order=order, expected_version=expected
                )
            elif action == "complete":
                order_service.complete(
                    session=session, actor=actor, order=order, expected_version=expected
                )
            elif action == "cancel":
                order_service.cancel(
                    session=session,
                    actor=actor,
                    order=order,
                    reason=str(data.get("reason", "")).strip(),
                    expected_version=expected,
                )
            else:
                order_service.delete(
                    session=session, actor=actor, order=order, expected_version=expected
                )
                return redirect(request, "/sales/orders", flash=N_("Draft order deleted."))
    except FormInvalid as invalid:
        return redirect(request, url, flash=invalid.message or "")
    return redirect(request, url, flash=N_("Order {number} updated."), number=order.number)


@router.post("/sales/orders/{order_id:int}/confirm")
def order_confirm(
    order_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "update")],
) -> Response:
    return _status_action(request, session, actor, order_id, data, "confirm")


@router.post("/sales/orders/{order_id:int}/complete")
def order_complete(
    order_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "update")],
) -> Response:
    return _status_action(request, session, actor, order_id, data, "complete")


@router.post("/sales/orders/{order_id:int}/cancel")
def order_cancel(
    order_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "update")],
) -> Response:
    return _status_action(request, session, actor, order_id, data, "cancel")


@router.post("/sales/orders/{order_id:int}/delete")
def order_delete(
    order_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "delete")],
) -> Response:
    return _status_action(request, session, actor, order_id, data, "delete")


@router.post("/sales/orders/{order_id:int}/invoices")
def order_invoice(
    order_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "update")],
) -> Response:
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    try:
        invoice_in = forms.invoice_in(data)
        with refusals(session):
            invoice = documents.record_invoice(
                session=session, actor=actor, order=order, invoice_in=invoice_in
            )
    except FormInvalid as invalid:
        order = order_service.get(session=session, actor=actor, order_id=order_id)
        return _record(request, session, actor, order, form="invoice", values=data, invalid=invalid)
    return redirect(
        request,
        f"/sales/orders/{order_id}",
        flash=N_("Invoice {number} recorded."),
        number=invoice.number,
    )


@router.post("/sales/orders/{order_id:int}/shipments")
def order_ship(
    order_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "update")],
) -> Response:
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    try:
        shipment_in, line_ids = forms.shipment_in(order, data)
        try:
            shipment = documents.record_shipment(
                session=session, actor=actor, order=order, shipment_in=shipment_in
            )
        except GuanxiError as exc:
            session.rollback()
            raise forms.document_refused(exc, line_ids, "ship_") from exc
    except FormInvalid as invalid:
        order = order_service.get(session=session, actor=actor, order_id=order_id)
        return _record(
            request, session, actor, order, form="shipment", values=data, invalid=invalid
        )
    return redirect(
        request,
        f"/sales/orders/{order_id}",
        flash=N_("Shipment {number} recorded."),
        number=shipment.number,
    )


@router.post("/sales/orders/{order_id:int}/returns")
def order_return(
    order_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("orders", "update")],
) -> Response:
    order = order_service.get(session=session, actor=actor, order_id=order_id)
    try:
        return_in, line_ids = forms.return_in(order, data)
        try:
            returned = documents.record_return(
                session=session, actor=actor, order=order, return_in=return_in
            )
        except GuanxiError as exc:
            session.rollback()
            raise forms.document_refused(exc, line_ids, "return_") from exc
    except FormInvalid as invalid:
        order = order_service.get(session=session, actor=actor, order_id=order_id)
        return _record(request, session, actor, order, form="return", values=data, invalid=invalid)
    return redirect(
        request,
        f"/sales/orders/{order_id}",
        flash=N_("Return recorded: {refund} refunded."),
        refund=str(returned.refund),
    )
