"""The sla-policies and business-calendar API: who may read and change them, policies created,
changed with a version and deleted, the working week and its holidays and make-up days edited,
and bad input answered with a 422 problem naming the field; a new ticket then counts on them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.service_desk import business_calendar, sla
from guanxi.service_desk.models import CalendarDay
from tests.conftest import People

PROBLEM = "application/problem+json"
POLICY = {
    "name": "VIP 投诉",
    "kind": "complaint",
    "priority": "urgent",
    "tier": "vip",
    "first_response_minutes": 10,
    "resolution_minutes": 120,
    "warn_before_minutes": 5,
}


@pytest.fixture
def headers(people: People) -> dict[str, dict[str, str]]:
    return {
        role: people.token(people.user(role))
        for role in ("admin", "manager", "service", "sales", "marketing")
    }


def test_policies_are_created_read_changed_with_a_version_and_deleted(
    client: TestClient, headers: dict[str, dict[str, str]], session: Session
) -> None:
    seeded = client.get("/api/v1/sla-policies", headers=headers["sales"])
    assert seeded.status_code == 200
    assert len(seeded.json()) == 12
    assert {p["tier"] for p in seeded.json()} == {"vip", "key", None}

    # agents work tickets; setting up the desk is for managers and administrators
    refused = client.post("/api/v1/sla-policies", json=POLICY, headers=headers["service"])
    assert refused.status_code == 403
    created = client.post("/api/v1/sla-policies", json=POLICY, headers=headers["manager"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["ETag"] == 'W/"1"'
    assert {k: body[k] for k in POLICY} == POLICY
    assert body["is_active"] is True and body["calendar_id"] is None
    url = f"/api/v1/sla-policies/{body['id']}"
    assert sla.policy_for(session, "complaint", "urgent", "vip").id == body["id"]  # type: ignore[union-attr]

    stale = client.patch(
        url, json={"resolution_minutes": 90, "version": 7}, headers=headers["admin"]
    )
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
    changed = client.patch(
        url, json={"resolution_minutes": 90, "tier": None, "version": 1}, headers=headers["admin"]
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["resolution_minutes"] == 90 and changed.json()["tier"] is None
    assert changed.json()["kind"] == "complaint" and changed.json()["version"] == 2
    by_header = client.patch(
        url, json={"is_active": False}, headers={**headers["admin"], "If-Match": 'W/"2"'}
    )
    assert by_header.status_code == 200 and by_header.json()["is_active"] is False
    assert client.get(url, headers=headers["sales"]).json()["version"] == 3

    actions = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "sla_policy", AuditEntry.entity_id == str(body["id"])
        )
    ).all()
    assert len(actions) == 3

    assert client.delete(url, headers={**headers["admin"], "If-Match": 'W/"1"'}).status_code == 412
    assert client.delete(url, headers=headers["admin"]).status_code == 204
    missing = client.get(url, headers=headers["admin"])
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_only_ticket_managers_change_policies_and_the_calendar(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    policy_id = client.get("/api/v1/sla-policies", headers=headers["admin"]).json()[0]["id"]
    url = f"/api/v1/sla-policies/{policy_id}"
    for role in ("sales", "marketing"):
        writes = [
            client.post("/api/v1/sla-policies", json=POLICY, headers=headers[role]),
            client.patch(url, json={"position": 3}, headers=headers[role]),
            client.delete(url, headers=headers[role]),
            client.patch(
                "/api/v1/business-calendar", json={"timezone": "UTC"}, headers=headers[role]
            ),
            client.post(
                "/api/v1/business-calendar/days",
                json=[{"day": "2026-10-01", "kind": "holiday"}],
                headers=headers[role],
            ),
            client.delete("/api/v1/business-calendar/days/2026-10-01", headers=headers[role]),
        ]
        assert [w.status_code for w in writes] == [403] * 6, role
        assert all(w.headers["content-type"] == PROBLEM for w in writes)
    # reading needs tickets:read, which marketing lacks
    assert client.get("/api/v1/sla-policies", headers=headers["marketing"]).status_code == 403
    assert client.get("/api/v1/business-calendar", headers=headers["marketing"]).status_code == 403
    assert client.get("/api/v1/business-calendar", headers=headers["sales"]).status_code == 200
    assert client.get("/api/v1/sla-policies").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"priority": "critical"}, "body.priority"),
        ({"kind": "praise"}, "body.kind"),
        ({"tier": "gold"}, "body.tier"),
        ({"first_response_minutes": -5}, "body.first_response_minutes"),
        ({"resolution_minutes": 0}, "body.resolution_minutes"),
        ({"warn_before_minutes": -1}, "body.warn_before_minutes"),
        ({"name": "  "}, "body.name"),
        ({"resolution_minutes": 5}, "resolution_minutes"),  # before the first response
        ({"warn_before_minutes": 500}, "warn_before_minutes"),
        ({"calendar_id": 999}, "calendar_id"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(
    client: TestClient, headers: dict[str, dict[str, str]], change: dict[str, object], field: str
) -> None:
    reply = client.post("/api/v1/sla-policies", json={**POLICY, **change}, headers=headers["admin"])
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert field in [e["field"] for e in reply.json()["errors"]]


def test_a_taken_name_and_a_bad_patch_are_refused(
    client: TestClient, headers: dict[str, dict[str, str]]
) -> None:
    assert (
        client.post("/api/v1/sla-policies", json=POLICY, headers=headers["admin"]).status_code
        == 201
    )
    taken = client.post("/api/v1/sla-policies", json=POLICY, headers=headers["admin"])
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "name"
    policy_id = client.get("/api/v1/sla-policies", headers=headers["admin"]).json()[0]["id"]
    url = f"/api/v1/sla-policies/{policy_id}"
    shorter = client.patch(url, json={"resolution_minutes": 10}, headers=headers["admin"])
    assert shorter.status_code == 422
    assert client.get(url, headers=headers["admin"]).json()["version"] == 1  # unchanged
    assert client.patch(url, json={"priority": "asap"}, headers=headers["admin"]).status_code == 422


def test_the_week_holidays_and_make_up_days_are_edited(
    client: TestClient, headers: dict[str, dict[str, str]], session: Session
) -> None:
    calendar = client.get("/api/v1/business-calendar", headers=headers["service"])
    assert calendar.status_code == 200
    assert calendar.json()["timezone"] == "Asia/Shanghai"
    assert calendar.json()["week"]["0"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert calendar.json()["week"]["6"] == []

    # Saturday mornings become working hours
    week = {**calendar.json()["week"], "5": [["09:00", "12:00"]]}
    saved = client.patch(
        "/api/v1/business-calendar", json={"week": week, "version": 1}, headers=headers["manager"]
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["week"]["5"] == [["09:00", "12:00"]] and saved.json()["version"] == 2

    days = [
        *({"day": f"2026-10-0{d}", "kind": "holiday", "name": "国庆节"} for d in range(1, 8)),
        {"day": "2026-10-10", "kind": "workday", "name": "国庆调休", "hours": [["09:00", "18:00"]]},
    ]
    added = client.post("/api/v1/business-calendar/days", json=days, headers=headers["manager"])
    assert added.status_code == 200, added.text
    assert len(added.json()) == 8
    listed = client.get("/api/v1/business-calendar", headers=headers["sales"]).json()["days"]
    assert listed[0] == {"day": "2026-10-01", "kind": "holiday", "name": "国庆节", "hours": None}
    assert listed[-1]["hours"] == [["09:00", "18:00"]]

    loaded = business_calendar.load(session)
    shanghai = ZoneInfo("Asia/Shanghai")
    eve = datetime(2026, 9, 30, 17, tzinfo=shanghai).astimezone(UTC)
    assert business_calendar.add_business_minutes(loaded, eve, 120) == datetime(
        2026, 10, 8, 10, tzinfo=shanghai
    ).astimezone(UTC)

    # replacing a day and removing one
    again = client.post(
        "/api/v1/business-calendar/days",
        json=[{"day": "2026-10-07", "kind": "workday"}],
        headers=headers["admin"],
    )
    assert again.status_code == 200
    assert session.get(CalendarDay, (1, date(2026, 10, 7))).kind == "workday"  # type: ignore[union-attr]
    assert (
        client.delete(
            "/api/v1/business-calendar/days/2026-10-07", headers=headers["admin"]
        ).status_code
        == 204
    )
    assert (
        client.delete(
            "/api/v1/business-calendar/days/2026-10-07", headers=headers["admin"]
        ).status_code
        == 404
    )
    assert session.get(CalendarDay, (1, date(2026, 10, 7))) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"week": {"0": [["09:00", "12:00"], ["11:00", "14:00"]]}}, "week.0"),  # overlapping
        ({"week": {"1": [["18:00", "09:00"]]}}, "week.1"),  # reversed
        ({"week": {"2": [["9am", "5pm"]]}}, "week.2"),
        ({"week": {"8": [["09:00", "12:00"]]}}, "week.8"),
        ({"week": {}}, "week"),  # no working hours at all
        ({"week": {"0": "09:00-18:00"}}, "body.week.0"),
    ],
)
def test_bad_calendars_are_refused(
    client: TestClient, headers: dict[str, dict[str, str]], body: dict[str, object], field: str
) -> None:
    reply = client.patch("/api/v1/business-calendar", json=body, headers=headers["admin"])
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert field in [e["field"] for e in reply.json()["errors"]]
    assert client.get("/api/v1/business-calendar", headers=headers["admin"]).json()["version"] == 1


@pytest.mark.parametrize(
    ("days", "field"),
    [
        ([{"day": "2026-02-30", "kind": "holiday"}], "body.0.day"),
        ([{"day": "2026-10-01", "kind": "vacation"}], "body.0.kind"),
        ([{"day": "2026-10-01", "kind": "holiday", "hours": [["09:00", "12:00"]]}], "0.hours"),
        ([{"day": "2026-10-10", "kind": "workday", "hours": [["12:00", "09:00"]]}], "0.hours"),
    ],
)
def test_bad_days_are_refused_and_nothing_is_saved(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    days: list[dict[str, object]],
    field: str,
    session: Session,
) -> None:
    good = {"day": "2026-05-01", "kind": "holiday", "name": "劳动节"}
    reply = client.post(
        "/api/v1/business-calendar/days", json=[*days, good], headers=headers["admin"]
    )
    assert reply.status_code == 422, reply.text
    assert field in [e["field"] for e in reply.json()["errors"]]
    assert session.get(CalendarDay, (1, date(2026, 5, 1))) is None
