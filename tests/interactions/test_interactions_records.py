"""The touch centre's records as part of the customer record: a merge moves interactions,
follow-ups, web events and known visitors to the survivor (a mail logged on both is kept once);
the personal-data export lists them; blanking an erased customer's touchpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.audit import service as audit_service
from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Customer
from guanxi.interactions import service
from guanxi.interactions.customer_records import erase_touchpoints
from guanxi.interactions.models import FollowUp, Interaction, VisitorLink, WebEvent
from tests.conftest import People
from tests.interactions.support_core import customer

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _touchpoints(session: Session, actor: object, customer_id: int, tag: str) -> None:
    """An interaction, a mail, a follow-up, two page views and a known visitor."""
    service.log(
        session,
        actor=actor,  # type: ignore[arg-type]
        customer_id=customer_id,
        channel="phone",
        direction="inbound",
        subject=f"{tag}来电",
        notes=f"{tag}的备注",
        occurred_at=NOW,
    )
    service.log(
        session,
        actor=None,
        customer_id=customer_id,
        channel="email",
        direction="inbound",
        subject="同一封邮件",
        source="email_in",
        message_id="<same-mail@example.com>",
        email_address="shared@example.com",
        occurred_at=NOW + timedelta(hours=1),
    )
    session.add(
        FollowUp(
            customer_id=customer_id,
            due_at=NOW + timedelta(days=2),
            channel="visit",
            subject=f"{tag}回访",
            note=f"{tag}计划",
        )
    )
    session.add(VisitorLink(visitor_id=f"visitor-{tag}", customer_id=customer_id))
    for minute in (1, 2):
        session.add(
            WebEvent(
                kind="page_view",
                occurred_at=NOW + timedelta(minutes=minute),
                visitor_id=f"visitor-{tag}",
                session_id=f"session-{tag}",
                customer_id=customer_id,
                url=f"https://shop.example/{tag}/{minute}",
            )
        )
    session.flush()


def _count(session: Session, model: object, customer_id: int) -> int:
    table: object = model
    return int(
        session.scalar(
            select(func.count()).select_from(table).where(table.customer_id == customer_id)  # type: ignore[attr-defined]
        )
        or 0
    )


def test_a_merge_moves_every_touchpoint_to_the_survivor(
    client: TestClient, people: People, session: Session
):
    boss = people.user("manager")
    api = people.token(boss)
    survivor = customer(session, boss.user, "杭州青山茶业")
    other = customer(session, boss.user, "青山茶业（重复）")
    _touchpoints(session, boss.user, survivor, "甲")
    _touchpoints(session, boss.user, other, "乙")
    moved_follow_up = session.scalars(select(FollowUp).where(FollowUp.customer_id == other)).one()
    follow_up_id, follow_up_version = moved_follow_up.id, moved_follow_up.version

    merged = client.post(
        "/api/v1/customers/merge", json={"survivor_id": survivor, "other_id": other}, headers=api
    )
    assert merged.status_code == 200, merged.text
    session.expire_all()

    listed = client.get("/api/v1/interactions", params={"customer_id": survivor}, headers=api)
    subjects = sorted(item["subject"] for item in listed.json()["items"])
    # the mail logged on both records is there once; both calls are there
    assert subjects == ["乙来电", "同一封邮件", "甲来电"]
    assert _count(session, Interaction, other) == 0
    assert _count(session, FollowUp, survivor) == 2 and _count(session, FollowUp, other) == 0
    follow_up = session.get(FollowUp, follow_up_id)
    assert follow_up is not None and follow_up.version == follow_up_version + 1
    assert _count(session, WebEvent, survivor) == 4 and _count(session, WebEvent, other) == 0
    assert _count(session, VisitorLink, survivor) == 2
    gone = client.get("/api/v1/interactions", params={"customer_id": other}, headers=api)
    assert gone.status_code == 404

    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "merge").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    moved = entry.changes["moved"]
    assert moved["interactions"] == 1 and moved["follow_ups"] == 1
    assert moved["web_events"] == 2 and moved["visitor_links"] == 1
    # the duplicate mail's removal is in the audit log like any deletion
    deleted = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "interaction", AuditEntry.action == "delete"
        )
    ).all()
    assert deleted == ["delete"]


def test_the_personal_data_export_lists_the_touchpoints(
    client: TestClient, people: People, session: Session
):
    boss = people.user("manager")
    api = people.token(boss)
    buyer = customer(session, boss.user, "林小雨")
    bystander = customer(session, boss.user, "王大海")
    _touchpoints(session, boss.user, buyer, "林")
    _touchpoints(session, boss.user, bystander, "王")

    reply = client.get(f"/api/v1/customers/{buyer}/personal-data", headers=api)
    assert reply.status_code == 200, reply.text
    document = reply.json()
    calls = document["interactions"]
    assert [c["subject"] for c in calls] == ["林来电", "同一封邮件"]
    assert calls[0]["notes"] == "林的备注" and calls[0]["channel"] == "phone"
    assert calls[1]["email_address"] == "shared@example.com"
    assert [f["subject"] for f in document["follow_ups"]] == ["林回访"]
    assert document["follow_ups"][0]["note"] == "林计划"
    events = document["web_events"]
    assert events["visitor_ids"] == ["visitor-林"]
    assert [e["url"] for e in events["events"]] == [
        "https://shop.example/林/1",
        "https://shop.example/林/2",
    ]
    assert events["more_events_not_listed"] is False
    assert "王" not in str(document)  # nothing of another customer


def test_blanking_an_erased_customers_touchpoints_keeps_the_counts(
    people: People, session: Session
):
    boss = people.user("manager")
    buyer = customer(session, boss.user, "林小雨")
    bystander = customer(session, boss.user, "王大海")
    _touchpoints(session, boss.user, buyer, "林")
    _touchpoints(session, boss.user, bystander, "王")

    found = session.get(Customer, buyer)
    assert found is not None
    assert erase_touchpoints(session, found) == 3  # two interactions, one follow-up
    session.expire_all()
    calls = session.scalars(select(Interaction).where(Interaction.customer_id == buyer)).all()
    assert len(calls) == 2 and {c.channel for c in calls} == {"phone", "email"}
    assert all(c.subject == c.notes == c.email_address == "" for c in calls)
    plan = session.scalars(select(FollowUp).where(FollowUp.customer_id == buyer)).one()
    assert plan.subject == plan.note == ""
    assert _count(session, WebEvent, buyer) == 0 and _count(session, VisitorLink, buyer) == 0
    # the other customer keeps everything
    kept = session.scalars(
        select(Interaction.subject).where(Interaction.customer_id == bystander)
    ).all()
    assert sorted(kept) == ["同一封邮件", "王来电"]
    assert _count(session, WebEvent, bystander) == 2


def test_erasing_a_customer_blanks_their_touchpoints_and_their_history_in_the_audit_log(
    people: People, session: Session, client: TestClient
):
    boss = people.user("manager")
    manager = people.token(boss)
    buyer = customer(session, boss.user, "林小雨")
    logged = client.post(
        "/api/v1/interactions",
        json={
            "customer_id": buyer,
            "channel": "phone",
            "direction": "inbound",
            "subject": "林小雨的投诉",
            "notes": "住在淮海路 12 号",
        },
        headers=manager,
    )
    assert logged.status_code == 201, logged.text
    changed = client.patch(
        f"/api/v1/interactions/{logged.json()['id']}",
        json={"notes": "改口: 住在淮海路 14 号"},
        headers={**manager, "If-Match": logged.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text

    erased = client.post(f"/api/v1/customers/{buyer}/erase", headers=manager)
    assert erased.status_code == 200, erased.text

    session.expire_all()
    call = session.get(Interaction, logged.json()["id"])
    assert call is not None and call.channel == "phone"  # the touchpoint stays, counted
    assert call.subject == call.notes == ""
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "interaction")):
        readable = str(audit_service.readable_changes(session=session, entry=entry))
        assert "淮海路" not in readable and "投诉" not in readable
        assert "淮海路" not in str(entry.changes)  # sealed when written
    assert audit_service.verify(session=session).intact
