"""Web events in the store: browsing sessions, ingestion, linking visitors, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from guanxi.interactions import events
from guanxi.interactions.models import WebEvent
from tests.conftest import People
from tests.interactions.support_events import customer

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
