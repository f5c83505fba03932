"""Admin pages for webhook endpoints and their delivery log, with test events and replay.

A new or rotated secret is shown in the page that answers the form post, never in a redirect's
cookie or URL, so it is seen once by the administrator who asked for it.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render
from guanxi.webhooks import service
from guanxi.webhooks.events import EVENT_TYPES, PING_EVENT
from guanxi.webhooks.jobs import Claim, request_headers
from guanxi.webhooks.models import WebhookEndpoint
from guanxi.webhooks.schemas import (
    DELIVERY_STATUSES,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
)

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {
    "pending": N_("pending"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
}
EVENT_LABELS = {
    "order.created": N_("An order was created"),
    "order.updated": N_("An order was changed"),
    "order.status_changed": N_("An order changed status"),
    "opportunity.created": N_("An opportunity was created"),
    "opportunity.updated": N_("An opportunity was changed"),
    "opportunity.stage_changed": N_("An opportunity moved to another stage"),
    "opportunity.won": N_("An opportunity was won"),
    "opportunity.lost": N_("An opportunity was lost"),
    "contract.created": N_("A contract was created"),
    "contract.updated": N_("A contract was changed"),
    "contract.status_changed": N_("A contract changed status"),
    "contract.expiring": N_("A contract is about to expire"),
    "contract.renewed": N_("A contract was renewed"),
    PING_EVENT: N_("Test event"),
}
RECENT = 20


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    """Posted fields as the schemas take them: ticked event types as a list, the checkbox as
    a boolean (an unticked box posts nothing)."""
    types = data.get("event_types", [])
    values = {
        "url": data.get("url", ""),
        "description": data.get("description", ""),
        "event_types": types if isinstance(types, list) else [types] if types else [],
        "is_active": data.get("is_active") == "on",
    }
    return values


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "event_types": EVENT_TYPES,
        "event_labels": EVENT_LABELS,
        "status_labels": STATUS_LABELS,
        "statuses": DELIVERY_STATUSES,
        "errors": {},
        "message": None,
        **extra,
    }


def _list_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "webhooks/endpoints.html",
        _context(
            endpoints=service.list_endpoints(session=session),
            values=values or {"url": "", "description": "", "event_types": [], "is_active": True},
            errors=invalid.errors if invalid else {},
            message=invalid.message if invalid else None,
        ),
        status_code=422 if invalid else 200,
    )


def _endpoint_page(
    request: Request,
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
    new_secret: str | None = None,
) -> HTMLResponse:
    page = service.list_deliveries(session=session, endpoint_id=endpoint.id, limit=RECENT)
    return render(
        request,
        "webhooks/endpoint.html",
        _context(
            endpoint=endpoint,
            secret_hint=service.to_read(endpoint).secret_hint,
            deliveries=page.items,
            more_deliveries=page.next_cursor is not None,
            new_secret=new_secret,
            values=values
            or {
                "url": endpoint.url,
                "description": endpoint.description,
                "event_types": list(endpoint.event_types or []),
                "is_active": endpoint.is_active,
            },
            errors=invalid.errors if invalid else {},
            message=invalid.message if invalid else None,
        ),
        status_code=422 if invalid else 200,
    )


@router.get("/admin/webhooks", response_class=HTMLResponse)
def endpoints_page(
    request: Request, session: DbSession, _: Annotated[User, require("webhooks", "read")]
) -> HTMLResponse:
    return _list_page(request, session)


@router.post("/admin/webhooks")
def endpoint_create(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    _: Annotated[User, require("webhooks", "create")],
) -> Response:
    values = _form_values(data)
    try:
        endpoint_in = parse(WebhookEndpointCreate, values)
        with refusals(session):
            endpoint = service.create_endpoint(
                session=session, settings=settings, endpoint_in=endpoint_in
            )
    except FormInvalid as invalid:
        return _list_page(request, session, values=values, invalid=invalid)
    return _endpoint_page(request, session, endpoint, new_secret=endpoint.secret)


@router.get("/admin/webhooks/{endpoint_id:int}", response_class=HTMLResponse)
def endpoint_page(
    endpoint_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("webhooks", "read")],
) -> HTMLResponse:
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    return _endpoint_page(request, session, endpoint)


@router.post("/admin/webhooks/{endpoint_id:int}")
def endpoint_update(
    endpoint_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    _: Annotated[User, require("webhooks", "update")],
) -> Response:
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    version = str(data.get("version", ""))
    values = _form_values(data)
    try:
        endpoint_in = parse(WebhookEndpointUpdate, values)
        with refusals(session):
            service.update_endpoint(
                session=session,
                settings=settings,
                endpoint=endpoint,
                endpoint_in=endpoint_in,
                expected_version=int(version) if version.isdigit() else None,
            )
    except FormInvalid as invalid:
        return _endpoint_page(request, session, endpoint, values=values, invalid=invalid)
    return redirect(request, f"/admin/webhooks/{endpoint_id}", flash=N_("Changes saved."))


@router.post("/admin/webhooks/{endpoint_id:int}/rotate-secret")
def endpoint_rotate(
    endpoint_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("webhooks", "manage")],
) -> Response:
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    secret = service.rotate_secret(session=session, endpoint=endpoint)
    return _endpoint_page(request, session, endpoint, new_secret=secret)


@router.post("/admin/webhooks/{endpoint_id:int}/ping")
def endpoint_ping(
    endpoint_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("webhooks", "manage")],
) -> Response:
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    try:
        with refusals(session):
            delivery = service.ping(session=session, endpoint=endpoint)
    except FormInvalid as invalid:
        return _endpoint_page(request, session, endpoint, invalid=invalid)
    return redirect(
        request,
        f"/admin/webhooks/deliveries/{delivery.id}",
        flash=N_("Test event queued."),
    )


@router.post("/admin/webhooks/{endpoint_id:int}/delete")
def endpoint_delete(
    endpoint_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("webhooks", "delete")],
) -> Response:
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    url = endpoint.url
    service.delete_endpoint(session=session, endpoint=endpoint)
    return redirect(
        request, "/admin/webhooks", flash=N_("Endpoint {address} deleted."), address=url
    )


@router.get("/admin/webhooks/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request,
    session: DbSession,
    _: Annotated[User, require("webhooks", "read")],
    endpoint_id: Annotated[str, Query()] = "",
    status: Annotated[str, Query()] = "",
    event_type: Annotated[str, Query()] = "",
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The delivery log with its filters in the URL, so a filtered log is a shareable link."""
    filters = {
        "endpoint_id": endpoint_id if endpoint_id.isdigit() else "",
        "status": status if status in DELIVERY_STATUSES else "",
        "event_type": event_type if event_type in EVENT_LABELS else "",
    }
    page = service.list_deliveries(
        session=session,
        endpoint_id=int(filters["endpoint_id"]) if filters["endpoint_id"] else None,
        status=filters["status"] or None,
        event_type=filters["event_type"] or None,
        cursor=cursor,
    )
    next_url = None
    if page.next_cursor:
        query = {k: v for k, v in filters.items() if v} | {"cursor": page.next_cursor}
        next_url = f"/admin/webhooks/deliveries?{urlencode(query)}"
    return render(
        request,
        "webhooks/deliveries.html",
        _context(
            deliveries=page.items,
            next_url=next_url,
            filters=filters,
            endpoints={e.id: e for e in service.list_endpoints(session=session)},
            all_events=list(EVENT_LABELS),
        ),
    )


def _delivery_page(
    request: Request,
    session: Session,
    delivery_id: int,
    *,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    delivery = service.get_delivery(session=session, delivery_id=delivery_id)
    endpoint = service.get_endpoint(session=session, endpoint_id=delivery.endpoint_id)
    # the headers every attempt carries; each attempt signs with its own timestamp
    example = Claim(delivery.id, endpoint.url, endpoint.secret, delivery.message_id, delivery.body)
    headers = request_headers(example, int(time.time()))
    headers["webhook-timestamp"] = "…"
    headers["webhook-signature"] = "v1,…"
    return render(
        request,
        "webhooks/delivery.html",
        _context(delivery=delivery, endpoint=endpoint, headers=headers, message=message),
        status_code=status_code,
    )


@router.get("/admin/webhooks/deliveries/{delivery_id:int}", response_class=HTMLResponse)
def delivery_page(
    delivery_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("webhooks", "read")],
) -> HTMLResponse:
    return _delivery_page(request, session, delivery_id)


@router.post("/admin/webhooks/deliveries/{delivery_id:int}/replay")
def delivery_replay(
    delivery_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("webhooks", "manage")],
) -> Response:
    delivery = service.get_delivery(session=session, delivery_id=delivery_id)
    try:
        with refusals(session):
            service.replay(session=session, delivery=delivery)
    except FormInvalid as invalid:
        return _delivery_page(
            request, session, delivery_id, message=invalid.message, status_code=409
        )
    return redirect(
        request, f"/admin/webhooks/deliveries/{delivery_id}", flash=N_("Replay queued.")
    )
