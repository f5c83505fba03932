"""Raising webhook events: a domain service calls ``emit`` inside its unit of work; one delivery
per interested endpoint is written in the same transaction, and sent by the job queue after commit,
so a change that is rolled back never announces itself and a committed one is never lost."""

from __future__ import annotations

import json
import uuid
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi import jobs
from guanxi.audit.chain import json_safe
from guanxi.db import utcnow
from guanxi.webhooks.models import WebhookDelivery, WebhookEndpoint

# Every event type Guanxi sends: "<resource>.<what happened>".
EVENT_TYPES: Final[tuple[str, ...]] = (
    "order.created",
    "order.updated",
    "order.status_changed",
    "opportunity.created",
    "opportunity.updated",
    "opportunity.stage_changed",
    "opportunity.won",
    "opportunity.lost",
    "contract.created",
    "contract.updated",
    "contract.status_changed",
    "contract.expiring",
    "contract.renewed",
)


# Sent only by "send a test event" to one endpoint; nobody subscribes to it.
PING_EVENT: Final = "webhook.ping"


def emit(session: Session, event_type: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Announce ``event_type`` with ``data`` (JSON-able; Decimals and dates become strings) to
    every active endpoint subscribed to it."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    endpoints = [
        e
        for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True)))
        if not e.event_types or event_type in e.event_types
    ]
    return queue_deliveries(session, endpoints, event_type, data)


def queue_deliveries(
    session: Session, endpoints: list[WebhookEndpoint], event_type: str, data: dict[str, Any]
) -> list[WebhookDelivery]:
    """Write one delivery of the event per endpoint and send each once the transaction commits.

    The body is serialised once, here, and stored: every attempt sends (and signs) these exact
    bytes, so a receiver that deduplicates on webhook-id sees the same payload each time."""
    if not endpoints:
        return []
    now = utcnow()
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": json_safe(data)},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    deliveries = [
        WebhookDelivery(
            endpoint_id=e.id,
            message_id=f"msg_{uuid.uuid4().hex}",
            event_type=event_type,
            body=body,
            status="pending",
            attempt_count=0,
            next_attempt_at=now,
            created_at=now,
        )
        for e in endpoints
    ]
    session.add_all(deliveries)
    session.flush()
    from guanxi.webhooks.jobs import deliver  # the job module imports this one

    for delivery in deliveries:
        jobs.enqueue_after_commit(session, deliver, delivery_id=delivery.id)
    return deliveries
