"""Webhook jobs: deliver an event to an endpoint, retried with back-off; and a sweeper that
re-queues deliveries whose queued attempt was lost (a crash between commit and queue).

An attempt runs in three steps so that no database transaction stays open across a slow
receiver: claim the delivery (a compare-and-set on its attempt count, so a duplicate queue
message or a concurrent sweeper finds nothing to do), send, then record the attempt and the next
step in a unit of work of its own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import httpx2
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from guanxi import __version__, jobs
from guanxi.db import utcnow
from guanxi.jobs import JobContext
from guanxi.webhooks import signing
from guanxi.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("guanxi.webhooks")

USER_AGENT: Final = f"Guanxi-Webhooks/{__version__}"
EXCERPT_CHARS: Final = 500
# a claimed attempt holds the delivery this much longer than the request may take, so that a
# worker that dies mid-request leaves it to the sweeper rather than to a second sender at once
LEASE_MARGIN: Final = timedelta(seconds=60)
# how late a queued attempt may be before the sweeper assumes its queue message was lost
SWEEP_MARGIN: Final = timedelta(minutes=5)
SWEEP_BATCH: Final = 500
# the receiver asked never to be sent this again (Standard Webhooks: 410 Gone)
GONE: Final = 410


@dataclass(frozen=True)
class Claim:
    """What one attempt needs, read while claiming it."""

    delivery_id: int
    url: str
    secret: str
    message_id: str
    body: str


@dataclass(frozen=True)
class Outcome:
    """What the receiver answered, or why there was no answer."""

    status_code: int | None
    error: str
    response_excerpt: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def request_headers(claim: Claim, timestamp: int) -> dict[str, str]:
    """Every header an attempt sends: the signature headers with this attempt's timestamp."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signing.signed_headers(
            claim.secret, message_id=claim.message_id, timestamp=timestamp, body=claim.body
        ),
    }


def send(claim: Claim, *, timeout: float) -> Outcome:
    """POST the stored body, signed with a fresh timestamp; redirects are not followed (the
    convention counts a 3xx as a failure: the endpoint's URL should be updated instead)."""
    headers = request_headers(claim, int(time.time()))
    started = time.monotonic()
    try:
        with httpx2.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(claim.url, content=claim.body.encode(), headers=headers)
            excerpt = response.text[:EXCERPT_CHARS]
    except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS], "", elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    return Outcome(response.status_code, "", excerpt, elapsed)


def claim(session: Session, delivery_id: int, *, replay: bool, lease: timedelta) -> Claim | None:
    """Take the next attempt of a delivery, or None if it is not this job's to make: gone,
    already finished or not yet due (a scheduled attempt), or claimed by a concurrent job."""
    row = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)
    ).one_or_none()
    if row is None:
        return None
    delivery, endpoint = row
    now = utcnow()
    values: dict[str, object] = {"attempt_count": delivery.attempt_count + 1}
    if not replay:
        due = delivery.next_attempt_at is None or delivery.next_attempt_at <= now
        if delivery.status != "pending" or not due:
            return None
        if not endpoint.is_active:
            # nothing is sent to a deactivated endpoint; an administrator may replay it later
            delivery.status, delivery.next_attempt_at = "failed", None
            return None
        values["next_attempt_at"] = now + lease
    taken = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempt_count == delivery.attempt_count,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return Claim(delivery.id, endpoint.url, endpoint.secret, delivery.message_id, delivery.body)


def record(
    session: Session,
    taken: Claim,
    outcome: Outcome,
    *,
    replay: bool,
    retry_delays: list[float],
) -> None:
    """Log the attempt and decide what follows: done, a retry after the next delay of the
    schedule, or failed once the schedule is used up (or the receiver answered 410 Gone)."""
    delivery = session.get(WebhookDelivery, taken.delivery_id, populate_existing=True)
    if delivery is None:  # the endpoint was deleted meanwhile, with its log
        return
    now = utcnow()
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            response_excerpt=outcome.response_excerpt,
            duration_ms=outcome.duration_ms,
            replay=replay,
        )
    )
    if outcome.succeeded:
        delivery.status = "succeeded"
        delivery.delivered_at = delivery.delivered_at or now
        delivery.next_attempt_at = None
        return
    if replay:
        return  # a failed replay leaves the delivery where it was, schedule included
    session.flush()  # count the attempt just added with the earlier ones
    made = session.scalar(
        select(func.count())
        .select_from(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id, WebhookAttempt.replay.is_(False))
    )
    made = made or 0
    if outcome.status_code == GONE or made > len(retry_delays):
        delivery.status, delivery.next_attempt_at = "failed", None
        log.info("webhook delivery %s failed after %s attempt(s)", delivery.id, made)
        return
    delay = retry_delays[made - 1]
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    jobs.schedule_after_commit(session, deliver, delay=delay, delivery_id=delivery.id)


@jobs.job(retries=2, retry_delay=30)
def deliver(ctx: JobContext, *, delivery_id: int, replay: bool = False) -> None:
    """Make one attempt of a delivery; a failure schedules the next one with back-off."""
    settings = ctx.settings
    lease = timedelta(seconds=settings.webhook_timeout_seconds) + LEASE_MARGIN
    with ctx.db.unit_of_work() as session:
        taken = claim(session, delivery_id, replay=replay, lease=lease)
    if taken is None:
        return
    outcome = send(taken, timeout=settings.webhook_timeout_seconds)
    with ctx.db.unit_of_work() as session:
        record(
            session,
            taken,
            outcome,
            replay=replay,
            retry_delays=list(settings.webhook_retry_delays),
        )


def overdue(session: Session, *, margin: timedelta = SWEEP_MARGIN) -> list[int]:
    """Pending deliveries whose attempt is later than any queue would be: lost messages."""
    cutoff = utcnow() - margin
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at < cutoff)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(SWEEP_BATCH)
        )
    )


@jobs.periodic(minute="*/5")
def requeue_overdue_deliveries(ctx: JobContext) -> None:
    """Queue again the attempts a crash lost; a duplicate is harmless, as the claim dedupes."""
    with ctx.db.unit_of_work() as session:
        ids = overdue(session)
        for delivery_id in ids:
            jobs.enqueue_after_commit(session, deliver, delivery_id=delivery_id)
    if ids:
        log.warning("re-queued %d overdue webhook deliveries", len(ids))
