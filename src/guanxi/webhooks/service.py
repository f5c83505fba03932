"""Webhook endpoints an administrator registers, the delivery log, test events and replay.

Routes declare the ``webhooks`` permissions (only administrators hold them by default); these
functions never commit. A secret leaves the server only in the answer to the create or rotate
call that made it; the audit log records that it changed, never its value.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from guanxi import jobs
from guanxi.concurrency import ensure_version
from guanxi.config import Settings
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import Page, paginate
from guanxi.webhooks import signing
from guanxi.webhooks.events import PING_EVENT, queue_deliveries
from guanxi.webhooks.models import WebhookDelivery, WebhookEndpoint
from guanxi.webhooks.schemas import (
    WebhookAttemptRead,
    WebhookDeliveryRead,
    WebhookDeliverySummary,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (where plain http never crosses a network)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, settings: Settings) -> None:
    """Refuse plain http beyond loopback unless the operator allows it: a payload describes
    orders and contracts, and the signature proves who sent it but does not hide it."""
    parts = urlsplit(url)
    if parts.scheme == "https" or settings.webhook_allow_http:
        return
    if is_loopback(parts.hostname or ""):
        return
    raise InvalidInput(
        N_("The address must use https (plain http is allowed only on this machine)."),
        errors=[FieldError("url", N_("Use an https:// address."))],
    )


# ---------------------------------------------------------------- endpoints


def list_endpoints(*, session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(*, session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(N_("Webhook endpoint {id} was not found."), id=endpoint_id)
    return endpoint


def create_endpoint(
    *, session: Session, settings: Settings, endpoint_in: WebhookEndpointCreate
) -> WebhookEndpoint:
    """Register a receiver with a fresh signing secret (read it from ``endpoint.secret`` now:
    the API and pages show it this once)."""
    check_url(endpoint_in.url, settings=settings)
    endpoint = WebhookEndpoint(
        url=endpoint_in.url,
        description=endpoint_in.description,
        event_types=endpoint_in.event_types,
        is_active=endpoint_in.is_active,
        secret=signing.generate_secret(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def update_endpoint(
    *,
    session: Session,
    settings: Settings,
    endpoint: WebhookEndpoint,
    endpoint_in: WebhookEndpointUpdate,
    expected_version: int | None = None,
) -> WebhookEndpoint:
    ensure_version(endpoint.version, expected_version)
    changes = endpoint_in.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        check_url(changes["url"], settings=settings)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    session.flush()
    return endpoint


def delete_endpoint(
    *, session: Session, endpoint: WebhookEndpoint, expected_version: int | None = None
) -> None:
    """Remove an endpoint with its delivery log; to keep the log, deactivate it instead."""
    ensure_version(endpoint.version, expected_version)
    session.delete(endpoint)
    session.flush()


def rotate_secret(
    *, session: Session, endpoint: WebhookEndpoint, expected_version: int | None = None
) -> str:
    """Replace the signing secret; attempts from now on are signed with the new one."""
    ensure_version(endpoint.version, expected_version)
    endpoint.secret = signing.generate_secret()
    session.flush()
    return endpoint.secret


def ping(*, session: Session, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a ``webhook.ping`` event to this one endpoint, through the same queue, signing,
    retries and log as every event, so an administrator can check a receiver end to end."""
    if not endpoint.is_active:
        raise Conflict(N_("The endpoint is inactive; activate it before sending to it."))
    data: dict[str, Any] = {"endpoint_id": endpoint.id, "sent_at": utcnow()}
    return queue_deliveries(session, [endpoint], PING_EVENT, data)[0]


def to_read(endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types or []),
        is_active=endpoint.is_active,
        secret_hint=signing.hint(endpoint.secret),
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        version=endpoint.version,
    )


# ---------------------------------------------------------------- deliveries


def list_deliveries(
    *,
    session: Session,
    endpoint_id: int | None = None,
    status: str | None = None,
    event_type: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[WebhookDelivery]:
    """The delivery log, newest first, filtered by endpoint, status and event type."""
    stmt = select(WebhookDelivery)
    if endpoint_id is not None:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    return paginate(session, stmt, WebhookDelivery.id, limit=limit, cursor=cursor, descending=True)


def get_delivery(*, session: Session, delivery_id: int) -> WebhookDelivery:
    delivery = session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .options(selectinload(WebhookDelivery.attempts))
    )
    if delivery is None:
        raise NotFound(N_("Webhook delivery {id} was not found."), id=delivery_id)
    return delivery


def replay(*, session: Session, delivery: WebhookDelivery) -> None:
    """Send a delivery again now, whatever its state (a receiver may have lost what it got),
    with the same webhook-id and body; the attempt is logged as a replay. A successful replay
    of a failed delivery marks it succeeded; a failed one changes nothing else."""
    endpoint = get_endpoint(session=session, endpoint_id=delivery.endpoint_id)
    if not endpoint.is_active:
        raise Conflict(N_("The endpoint is inactive; activate it before sending to it."))
    from guanxi.webhooks.jobs import deliver  # the job module imports this one

    jobs.enqueue_after_commit(session, deliver, delivery_id=delivery.id, replay=True)


def to_summary(delivery: WebhookDelivery) -> WebhookDeliverySummary:
    return WebhookDeliverySummary.model_validate(delivery, from_attributes=True)


def to_delivery_read(delivery: WebhookDelivery) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        **to_summary(delivery).model_dump(),
        body=delivery.body,
        attempts=[
            WebhookAttemptRead.model_validate(a, from_attributes=True) for a in delivery.attempts
        ],
    )
