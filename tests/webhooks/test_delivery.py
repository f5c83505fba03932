"""End to end through the real job queue and a real receiver on loopback: signatures the
official library verifies, retries with back-off after 500s, failure once the schedule is used
up, and replay after the receiver recovers. These commit for real (a worker thread only sees
committed rows), so each test removes its endpoint, and with it the deliveries, afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from guanxi import jobs
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.webhooks import service
from guanxi.webhooks.events import emit
from guanxi.webhooks.models import WebhookDelivery, WebhookEndpoint
from guanxi.webhooks.schemas import WebhookEndpointCreate
from tests.conftest import TEST_SECRET
from tests.webhooks.receiver import Receiver, running_receiver

DELAYS = [0.2, 0.2]  # three attempts in all


@pytest.fixture
def quick_settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database.url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
        webhook_retry_delays=DELAYS,
        webhook_timeout_seconds=5,
    )


@pytest.fixture
def receiver(database: Database, quick_settings: Settings) -> Iterator[Receiver]:
    """A receiver with a committed endpoint pointing at it; both gone after the test."""
    with running_receiver() as listening:
        with _unit(database) as session:
            endpoint = service.create_endpoint(
                session=session,
                settings=quick_settings,
                endpoint_in=WebhookEndpointCreate(url=listening.url, description="ERP"),
            )
            listening.secret = endpoint.secret
            endpoint_id = endpoint.id
        queue = jobs.build_queue(quick_settings, database)
        jobs.install(queue)
        try:
            with jobs.running(queue, workers=2):
                yield listening
        finally:
            jobs.install(None)
            with _unit(database) as session:
                session.delete(session.get(WebhookEndpoint, endpoint_id))


def _unit(database: Database):  # type: ignore[no-untyped-def]
    unit = database.unit_of_work()

    class Audited:
        def __enter__(self) -> Session:
            session = unit.__enter__()
            tracking.set_actor(session, AuditActor(None, "test"))
            return session

        def __exit__(self, *exc: object) -> None:
            unit.__exit__(*exc)

    return Audited()


def _settled(database: Database, delivery_id: int, seconds: float = 30) -> WebhookDelivery:
    """The delivery once it stops being pending (or after ``seconds``), with its attempts."""
    deadline = time.monotonic() + seconds
    while True:
        with database.unit_of_work() as session:
            delivery = service.get_delivery(session=session, delivery_id=delivery_id)
            list(delivery.attempts)
            if delivery.status != "pending" or time.monotonic() > deadline:
                session.expunge_all()
                return delivery
        time.sleep(0.1)


def _emit_order(database: Database) -> int:
    with _unit(database) as session:
        [delivery] = emit(session, "order.created", {"id": 7, "total": Decimal("1234.50")})
        return delivery.id


def test_a_receiver_that_fails_twice_gets_the_same_signed_message_three_times(
    database: Database, receiver: Receiver
):
    receiver.statuses = [500, 500]
    delivery_id = _emit_order(database)

    delivery = _settled(database, delivery_id)
    assert delivery.status == "succeeded" and delivery.delivered_at is not None
    seen = receiver.seen()
    assert len(seen) == 3
    assert all(r.verified for r in seen), "the standardwebhooks library refused a signature"
    assert {r.headers["webhook-id"] for r in seen} == {delivery.message_id}
    assert {r.body for r in seen} == {delivery.body}
    assert seen[0].payload == {
        "type": "order.created",
        "timestamp": seen[0].payload["timestamp"],  # type: ignore[index]
        "data": {"id": 7, "total": "1234.50"},
    }
    assert [a.status_code for a in delivery.attempts] == [500, 500, 200]
    assert delivery.attempt_count == 3
    assert delivery.attempts[0].response_excerpt == "receiver is down"
    assert not any(a.replay for a in delivery.attempts)
    # back-off: each retry waited at least its delay
    gaps = [
        (b.attempted_at - a.attempted_at).total_seconds()
        for a, b in zip(delivery.attempts, delivery.attempts[1:], strict=False)
    ]
    assert all(gap >= delay for gap, delay in zip(gaps, DELAYS, strict=True))


def test_a_failing_receiver_ends_failed_and_a_replay_delivers_once_it_recovers(
    database: Database, receiver: Receiver
):
    receiver.then = 503
    delivery_id = _emit_order(database)

    delivery = _settled(database, delivery_id)
    assert delivery.status == "failed"
    assert [a.status_code for a in delivery.attempts] == [503, 503, 503]
    assert len(receiver.seen()) == 3
    time.sleep(1.5)  # nothing more is tried once the schedule is used up
    assert len(receiver.seen()) == 3

    receiver.then = 200
    with _unit(database) as session:
        service.replay(
            session=session, delivery=service.get_delivery(session=session, delivery_id=delivery_id)
        )
    deadline = time.monotonic() + 30
    while len(receiver.seen()) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # let the worker record the attempt
    replayed = _settled(database, delivery_id)
    assert replayed.status == "succeeded"
    assert [(a.status_code, a.replay) for a in replayed.attempts][-1] == (200, True)
    last = receiver.seen()[-1]
    assert last.verified and last.headers["webhook-id"] == delivery.message_id
