"""JSON API for webhook endpoints and their delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from guanxi.auth.models import User
from guanxi.concurrency import etag
from guanxi.deps import DbSession, IfMatch, SettingsDep, require
from guanxi.pagination import PageOut
from guanxi.webhooks import service
from guanxi.webhooks.events import EVENT_TYPES
from guanxi.webhooks.schemas import (
    DeliveryStatus,
    WebhookDeliveryRead,
    WebhookDeliverySummary,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookSecret,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/webhooks")
def list_endpoints(
    session: DbSession, _: Annotated[User, require("webhooks", "read")]
) -> list[WebhookEndpointRead]:
    return [service.to_read(e) for e in service.list_endpoints(session=session)]


@router.get("/webhooks/event-types")
def list_event_types(_: Annotated[User, require("webhooks", "read")]) -> list[str]:
    """The event types an endpoint may subscribe to."""
    return list(EVENT_TYPES)


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
def create_endpoint(
    body: WebhookEndpointCreate,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    _: Annotated[User, require("webhooks", "create")],
) -> WebhookEndpointCreated:
    """Register a receiver. The answer holds its signing secret, which is never shown again."""
    endpoint = service.create_endpoint(session=session, settings=settings, endpoint_in=body)
    response.headers["ETag"] = etag(endpoint.version)
    return WebhookEndpointCreated(**service.to_read(endpoint).model_dump(), secret=endpoint.secret)


@router.get("/webhooks/{endpoint_id:int}")
def read_endpoint(
    endpoint_id: int,
    response: Response,
    session: DbSession,
    _: Annotated[User, require("webhooks", "read")],
) -> WebhookEndpointRead:
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    response.headers["ETag"] = etag(endpoint.version)
    return service.to_read(endpoint)


@router.patch("/webhooks/{endpoint_id:int}")
def update_endpoint(
    endpoint_id: int,
    body: WebhookEndpointUpdate,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    expected_version: IfMatch,
    _: Annotated[User, require("webhooks", "update")],
) -> WebhookEndpointRead:
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    endpoint = service.update_endpoint(
        session=session,
        settings=settings,
        endpoint=endpoint,
        endpoint_in=body,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etag(endpoint.version)
    return service.to_read(endpoint)


@router.delete("/webhooks/{endpoint_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete_endpoint(
    endpoint_id: int,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("webhooks", "delete")],
) -> None:
    """Remove an endpoint and its delivery log (PATCH ``is_active`` false keeps the log)."""
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    service.delete_endpoint(session=session, endpoint=endpoint, expected_version=expected_version)


@router.post("/webhooks/{endpoint_id:int}/rotate-secret")
def rotate_secret(
    endpoint_id: int,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("webhooks", "manage")],
) -> WebhookSecret:
    """Replace the signing secret; the answer holds the new one, which is never shown again."""
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    secret = service.rotate_secret(
        session=session, endpoint=endpoint, expected_version=expected_version
    )
    response.headers["ETag"] = etag(endpoint.version)
    return WebhookSecret(secret=secret)


@router.post("/webhooks/{endpoint_id:int}/ping", status_code=status.HTTP_202_ACCEPTED)
def ping_endpoint(
    endpoint_id: int,
    session: DbSession,
    _: Annotated[User, require("webhooks", "manage")],
) -> WebhookDeliverySummary:
    """Queue a ``webhook.ping`` event to this endpoint; follow it in the delivery log."""
    endpoint = service.get_endpoint(session=session, endpoint_id=endpoint_id)
    return service.to_summary(service.ping(session=session, endpoint=endpoint))


@router.get("/webhooks/deliveries")
def list_deliveries(
    session: DbSession,
    _: Annotated[User, require("webhooks", "read")],
    endpoint_id: int | None = None,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[WebhookDeliverySummary]:
    """The delivery log, newest first."""
    page = service.list_deliveries(
        session=session,
        endpoint_id=endpoint_id,
        status=status,
        event_type=event_type,
        limit=limit,
        cursor=cursor,
    )
    return PageOut(items=[service.to_summary(d) for d in page.items], next_cursor=page.next_cursor)


@router.get("/webhooks/deliveries/{delivery_id:int}")
def read_delivery(
    delivery_id: int, session: DbSession, _: Annotated[User, require("webhooks", "read")]
) -> WebhookDeliveryRead:
    """One delivery with its exact body and every attempt."""
    delivery = service.get_delivery(session=session, delivery_id=delivery_id)
    return service.to_delivery_read(delivery)


@router.post("/webhooks/deliveries/{delivery_id:int}/replay", status_code=status.HTTP_202_ACCEPTED)
def replay_delivery(
    delivery_id: int, session: DbSession, _: Annotated[User, require("webhooks", "manage")]
) -> WebhookDeliverySummary:
    """Send the delivery again now, with the same webhook-id and body (logged as a replay)."""
    delivery = service.get_delivery(session=session, delivery_id=delivery_id)
    service.replay(session=session, delivery=delivery)
    return service.to_summary(delivery)
