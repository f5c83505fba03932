"""Web events in the store: browsing sessions, ingestion, linking visitors, retention."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from guanxi import schema, settings_store
from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.db import Database
from guanxi.errors import InvalidInput, NotAuthenticated
from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.events import jobs as event_jobs
from guanxi.interactions.events import service as events
from guanxi.interactions.events.schemas import parse_batch
from guanxi.interactions.models import WebEvent
from tests.conftest import People
from tests.interactions.support_events import customer, page_view

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _stored(
    session: Session, customer_id: int | None, session_id: str, minute: int, **kw: object
) -> None:
    values: dict[str, object] = {
        "kind": "page_view",
        "occurred_at": T0 + timedelta(minutes=minute),
        "visitor_id": "v-1",
        "session_id": session_id,
        "customer_id": customer_id,
        "url": f"https://shop.example.cn/{session_id}/{minute}",
    }
    values.update(kw)
    session.add(WebEvent(**values))


def test_browsing_sessions_are_summed_newest_first_and_paged_by_start(
    session: Session, people: People
) -> None:
    owner = people.user("sales").user
    buyer = customer(session, owner)
    other = customer(session, owner, "别家")
    _stored(session, buyer, "morning", 0, dwell_seconds=30)
    _stored(session, buyer, "morning", 1, kind="product_view", product_id=7, dwell_seconds=90)
    _stored(session, buyer, "morning", 3, kind="product_view", product_id=8)
    _stored(session, buyer, "morning", 4, kind="product_view", product_id=7)
    _stored(session, buyer, "evening", 600, dwell_seconds=15)
    _stored(session, other, "theirs", 700)
    _stored(session, None, "anonymous", 800)
    session.flush()

    found = events.sessions_for_customer(session, customer_id=buyer, before=None, limit=10)

    assert [s.session_id for s in found] == ["evening", "morning"]
    morning = found[1]
    assert morning.started_at == T0
    assert morning.ended_at == T0 + timedelta(minutes=4)
    assert (morning.page_views, morning.product_views) == (1, 3)
    assert morning.dwell_seconds == 120
    assert morning.first_url == "https://shop.example.cn/morning/0"
    assert morning.product_ids == (7, 8)
    # the evening page was read for 15 s, so the session lasted until then
    assert found[0].ended_at == T0 + timedelta(minutes=600, seconds=15)

    # "at or before": a session that started at that moment is included, a later one is not
    earlier = events.sessions_for_customer(session, customer_id=buyer, before=T0, limit=10)
    assert [s.session_id for s in earlier] == ["morning"]
    # a session that started before the cursor is summed whole, events after it included
    assert earlier[0].product_views == 3
    assert (
        events.sessions_for_customer(
            session, customer_id=buyer, before=T0 - timedelta(seconds=1), limit=10
        )
        == []
    )
    assert [
        s.session_id
        for s in events.sessions_for_customer(session, customer_id=buyer, before=None, limit=1)
    ] == ["evening"]


def test_the_retention_purge_deletes_only_events_older_than_the_retention(
    sessions: sessionmaker[Session], session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    events_settings.save(session, retention_days=30, allowed_origins=[])
    for days in (400, 45, 31, 30.5):
        for n in range(3):
            _stored(session, None, f"old-{days}", n, occurred_at=now - timedelta(days=days))
    for days in (29.9, 1, 0):
        _stored(session, None, f"kept-{days}", 0, occurred_at=now - timedelta(days=days))
    session.commit()

    with caplog.at_level(logging.INFO, logger="guanxi.interactions.events"):
        report = event_jobs.purge(sessions, now=now, chunk_size=5)

    assert report.removed == 12
    assert report.cutoff == now - timedelta(days=30)
    assert report.chunks == 3  # 5 + 5 + 2
    left = sorted(session.scalars(select(WebEvent.session_id)))
    assert left == ["kept-0", "kept-1", "kept-29.9"]
    assert "12 removed so far" in caplog.text
    # nothing more to do the next night
    assert event_jobs.purge(sessions, now=now, chunk_size=5).removed == 0


def test_the_retention_defaults_to_a_year(
    sessions: sessionmaker[Session], session: Session
) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    _stored(session, None, "older", 0, occurred_at=now - timedelta(days=366))
    _stored(session, None, "newer", 0, occurred_at=now - timedelta(days=364))
    session.commit()
    assert events_settings.load(session).retention_days == 365
    assert event_jobs.purge(sessions, now=now).removed == 1
    assert list(session.scalars(select(WebEvent.session_id))) == ["newer"]


def test_settings_check_retention_and_origins(session: Session) -> None:
    saved = events_settings.save(
        session,
        retention_days=90,
        allowed_origins=[
            "https://Shop.Example.cn/",
            "",
            "http://localhost:8080",
            "https://shop.example.cn",
        ],
    )
    assert saved.retention_days == 90
    assert saved.allowed_origins == ("https://shop.example.cn", "http://localhost:8080")
    assert saved.allows_origin("https://shop.example.cn")
    assert not saved.allows_origin("https://shop.example.cn.evil.example")
    with pytest.raises(InvalidInput) as refused:
        events_settings.save(
            session, retention_days=0, allowed_origins=["https://shop.example.cn/path"]
        )
    assert {e.field for e in refused.value.errors} == {"retention_days", "allowed_origins"}
    assert events_settings.load(session).retention_days == 90


def test_the_ingest_key_is_kept_only_as_its_hash(session: Session) -> None:
    key = events_settings.rotate_key(session)
    stored = events_settings.load(session)
    assert key.startswith("gxk_") and len(key) > 30
    assert key not in str(settings_store.get(session, events_settings.SETTINGS_KEY))
    assert stored.key_hint == key[:8]
    events_settings.check_key(stored, key=key, origin=None)
    with pytest.raises(NotAuthenticated):
        events_settings.check_key(stored, key=key + "x", origin=None)


def test_linking_a_visitor_waits_for_a_batch_being_written(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """A login while the snippet's batches are being written: SQLite's one writer makes the
    identify wait its turn, instead of failing because another batch committed after it began."""
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as setup:
        tracking.set_actor(setup, AuditActor(None, "test"))
        admin = auth_service.create_user(
            session=setup, user_in=UserCreate(username="shop", password="p" * 12, role="admin")
        )
        buyer = customer(setup, admin, "王小明", external_id="shop-7")
        _stored(setup, None, "before-login", 0, visitor_id="v-login")
    batch = parse_batch(json.dumps({"events": [page_view("v-other")] * 100}).encode())
    writing = threading.Event()
    failures: list[BaseException] = []

    def another_batch() -> None:
        try:
            with db.unit_of_work() as other:
                events.ingest(other, events=batch, actor=None)
                writing.set()
                time.sleep(0.5)  # still writing when the login arrives
        except BaseException as exc:
            failures.append(exc)
            writing.set()

    writer = threading.Thread(target=another_batch)
    writer.start()
    writing.wait(10)
    try:
        with db.unit_of_work() as login:
            tracking.set_actor(login, AuditActor(admin.id, admin.username))
            identified = events.identify(
                login, actor=admin, visitor_id="v-login", customer_external_id="shop-7"
            )
    finally:
        writer.join()
    assert failures == []
    assert identified.linked_events == 1 and identified.customer_id == buyer
    with db.sessions() as check:
        assert check.scalar(select(func.count()).select_from(WebEvent)) == 101
    db.dispose()
