"""Delivery rules, with jobs run at once inside the test's transaction: what emit writes and
sends, the retry schedule, duplicate queue messages, inactive endpoints and the sweeper."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guanxi import jobs
from guanxi.config import Settings
from guanxi.db import utcnow
from guanxi.webhooks import service
from guanxi.webhooks.events import emit
from guanxi.webhooks.jobs import deliver, overdue, requeue_overdue_deliveries
from guanxi.webhooks.models import WebhookDelivery, WebhookEndpoint
from guanxi.webhooks.schemas import WebhookEndpointCreate
from tests.customers.import_helpers import SavepointUnits
from tests.webhooks.receiver import Receiver, running_receiver


def _endpoint(
    session: Session, settings: Settings, receiver: Receiver, **fields: object
) -> WebhookEndpoint:
    endpoint = service.create_endpoint(
        session=session,
        settings=settings,
        endpoint_in=WebhookEndpointCreate(url=receiver.url, **fields),  # type: ignore[arg-type]
    )
    receiver.secret = endpoint.secret
    return endpoint


def _deliveries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0


def _reloaded(session: Session, delivery_id: int) -> WebhookDelivery:
    session.expire_all()
    return service.get_delivery(session=session, delivery_id=delivery_id)


def test_emit_without_endpoints_writes_and_sends_nothing(session: Session, inline_queue):
    assert emit(session, "order.created", {"id": 1}) == []
    session.commit()
    assert _deliveries(session) == 0


def test_a_rolled_back_change_announces_nothing(
    session: Session, inline_settings: Settings, inline_queue
):
    with running_receiver() as receiver:
        _endpoint(session, inline_settings, receiver)
        session.commit()
        nested = session.begin_nested()
        emit(session, "order.created", {"id": 1})
        nested.rollback()
        session.commit()
        assert receiver.seen() == []
        assert _deliveries(session) == 0

        emit(session, "order.created", {"id": 2})
        assert receiver.seen() == []  # nothing leaves before the commit
        session.commit()
        assert [r.payload["data"] for r in receiver.seen()] == [{"id": 2}]  # type: ignore[index]


def test_endpoints_get_only_the_events_they_subscribe_to(
    session: Session, inline_settings: Settings, inline_queue
):
    with running_receiver() as everything, running_receiver() as contracts_only:
        _endpoint(session, inline_settings, everything)
        _endpoint(session, inline_settings, contracts_only, event_types=["contract.expiring"])
        with running_receiver() as switched_off:
            _endpoint(session, inline_settings, switched_off, is_active=False)
            emit(session, "order.created", {"id": 1, "total": Decimal("9.90")})
            emit(session, "contract.expiring", {"id": 5})
            session.commit()
            assert switched_off.seen() == []
        assert [r.payload["type"] for r in everything.seen()] == [  # type: ignore[index]
            "order.created",
            "contract.expiring",
        ]
        assert [r.payload["type"] for r in contracts_only.seen()] == ["contract.expiring"]  # type: ignore[index]
        assert all(r.verified for r in everything.seen() + contracts_only.seen())


def test_unknown_event_types_are_a_programming_error(session: Session):
    try:
        emit(session, "order.exploded", {})
    except ValueError as exc:
        assert "order.exploded" in str(exc)
    else:
        raise AssertionError("emit accepted an unknown event type")


def test_the_schedule_is_used_up_then_the_delivery_fails(
    session: Session, inline_settings: Settings, inline_queue
):
    with running_receiver() as receiver:
        receiver.then = 500
        _endpoint(session, inline_settings, receiver)
        [delivery] = emit(session, "order.updated", {"id": 1})
        session.commit()
        failed = _reloaded(session, delivery.id)
        assert failed.status == "failed" and failed.next_attempt_at is None
        assert len(failed.attempts) == 1 + len(inline_settings.webhook_retry_delays)
        assert len(receiver.seen()) == 3


def test_gone_stops_retrying_at_once(session: Session, inline_settings: Settings, inline_queue):
    with running_receiver() as receiver:
        receiver.then = 410
        _endpoint(session, inline_settings, receiver)
        [delivery] = emit(session, "order.updated", {"id": 1})
        session.commit()
        assert _reloaded(session, delivery.id).status == "failed"
        assert len(receiver.seen()) == 1


def test_an_unreachable_receiver_is_logged_as_an_error(
    session: Session, inline_settings: Settings, inline_queue
):
    with running_receiver() as receiver:
        url = receiver.url
    # the server is gone: connections are refused
    endpoint = service.create_endpoint(
        session=session, settings=inline_settings, endpoint_in=WebhookEndpointCreate(url=url)
    )
    [delivery] = emit(session, "order.created", {"id": 1})
    session.commit()
    failed = _reloaded(session, delivery.id)
    assert failed.status == "failed" and endpoint.id == failed.endpoint_id
    assert all(a.status_code is None and "Connect" in a.error for a in failed.attempts)


def test_a_duplicate_queue_message_sends_nothing_twice(
    session: Session, inline_settings: Settings, inline_queue: jobs.JobQueue
):
    with running_receiver() as receiver:
        _endpoint(session, inline_settings, receiver)
        [delivery] = emit(session, "order.created", {"id": 1})
        session.commit()
        assert len(receiver.seen()) == 1
        inline_queue.enqueue(deliver, delivery_id=delivery.id)  # e.g. the sweeper raced the queue
        assert len(receiver.seen()) == 1
        assert _reloaded(session, delivery.id).attempt_count == 1


def test_an_attempt_that_is_not_due_yet_is_left_to_its_schedule(
    session: Session, inline_settings: Settings, inline_queue: jobs.JobQueue
):
    with running_receiver() as receiver:
        _endpoint(session, inline_settings, receiver)
        [delivery] = emit(session, "order.created", {"id": 1})
        delivery.next_attempt_at = utcnow() + timedelta(hours=1)
        session.info.pop("jobs_after_commit", None)  # as if its queue message were in the future
        session.commit()
        inline_queue.enqueue(deliver, delivery_id=delivery.id)
        assert receiver.seen() == []
        assert _reloaded(session, delivery.id).status == "pending"


def test_the_sweeper_requeues_deliveries_whose_queue_message_was_lost(
    session: Session,
    sessions: sessionmaker[Session],
    inline_settings: Settings,
    inline_queue: jobs.JobQueue,
):
    with running_receiver() as receiver:
        _endpoint(session, inline_settings, receiver)
        lost, recent = emit(session, "order.created", {"id": 1}) + emit(
            session, "order.created", {"id": 2}
        )
        lost.next_attempt_at = utcnow() - timedelta(hours=1)
        recent.next_attempt_at = utcnow() - timedelta(seconds=30)  # its message is still queued
        session.info.pop("jobs_after_commit", None)  # a crash between commit and queue
        session.commit()
        assert overdue(session) == [lost.id]

        requeue_overdue_deliveries(jobs.JobContext(inline_settings, SavepointUnits(sessions)))  # type: ignore[arg-type]
        assert [r.payload["data"] for r in receiver.seen()] == [{"id": 1}]  # type: ignore[index]
        assert _reloaded(session, lost.id).status == "succeeded"
        assert _reloaded(session, recent.id).status == "pending"
