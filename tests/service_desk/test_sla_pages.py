"""The SLA admin pages and the SLA report page: policies edited (a refused form keeps what was
typed), the working week changed, Chinese public holidays and make-up days pasted a line each,
who may see and change what, in English and Chinese."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.service_desk import sla_admin
from guanxi.service_desk.models import BusinessCalendar, CalendarDay, SlaPolicy
from tests.conftest import PASSWORD, People
from tests.web.forms import sign_in, submit


@pytest.fixture
def admin(client: TestClient, people: People, session: Session) -> TestClient:
    person = people.user("admin")
    session.flush()
    assert sign_in(client, person.username, PASSWORD).status_code == 303
    return client


def test_policies_are_listed_created_and_edited(admin: TestClient, session: Session) -> None:
    assert 'href="/admin/sla"' in admin.get("/admin").text
    page = admin.get("/admin/sla")
    assert page.status_code == 200
    assert page.text.count("data-policy=") == 12
    created = submit(
        admin,
        "/admin/sla",
        "/admin/sla/policies",
        {
            "name": "VIP 投诉",
            "kind": "complaint",
            "priority": "urgent",
            "tier": "vip",
            "first_response_minutes": "10",
            "resolution_minutes": "120",
            "warn_before_minutes": "5",
            "position": "0",
            "is_active": "on",
        },
    )
    assert created.status_code == 303, created.text
    policy = session.scalars(select(SlaPolicy).where(SlaPolicy.name == "VIP 投诉")).one()
    assert (policy.kind, policy.tier, policy.first_response_minutes) == ("complaint", "vip", 10)

    # a refused form keeps what was typed and says why
    refused = submit(
        admin,
        f"/admin/sla/policies/{policy.id}",
        f"/admin/sla/policies/{policy.id}",
        {
            "name": "VIP 投诉",
            "kind": "",
            "priority": "urgent",
            "tier": "vip",
            "first_response_minutes": "200",
            "resolution_minutes": "120",
            "warn_before_minutes": "5",
            "position": "0",
            "version": str(policy.version),
        },
    )
    assert refused.status_code == 422
    assert 'value="200"' in refused.text and "field-error" in refused.text

    saved = submit(
        admin,
        f"/admin/sla/policies/{policy.id}",
        f"/admin/sla/policies/{policy.id}",
        {
            "name": "VIP 加急",
            "kind": "",
            "priority": "urgent",
            "tier": "vip",
            "first_response_minutes": "10",
            "resolution_minutes": "90",
            "warn_before_minutes": "5",
            "position": "0",
            "version": str(policy.version),
        },
    )
    assert saved.status_code == 303, saved.text
    session.refresh(policy)
    assert (policy.name, policy.kind, policy.resolution_minutes) == ("VIP 加急", None, 90)
    assert policy.is_active is False  # the box was left unticked

    policy_id = policy.id
    deleted = submit(
        admin,
        f"/admin/sla/policies/{policy_id}",
        f"/admin/sla/policies/{policy_id}/delete",
        {"version": str(policy.version)},
    )
    assert deleted.status_code == 303
    session.expire_all()
    assert session.scalar(select(SlaPolicy.id).where(SlaPolicy.id == policy_id)) is None


def test_the_week_is_edited_and_holidays_pasted(admin: TestClient, session: Session) -> None:
    page = admin.get("/admin/sla/calendar")
    assert page.status_code == 200 and 'value="09:00-12:00, 13:00-18:00"' in page.text
    week = {f"week_{day}": "09:00-12:00, 13:00-18:00" for day in range(5)}
    refused = submit(
        admin,
        "/admin/sla/calendar",
        "/admin/sla/calendar",
        {**week, "week_5": "10:00-09:00", "timezone": "Asia/Shanghai", "version": "1"},
    )
    assert refused.status_code == 422 and 'value="10:00-09:00"' in refused.text
    saved = submit(
        admin,
        "/admin/sla/calendar",
        "/admin/sla/calendar",
        {**week, "week_5": "9:00-12:00", "week_6": "", "timezone": "Asia/Shanghai", "version": "1"},
    )
    assert saved.status_code == 303, saved.text
    calendar = session.get(BusinessCalendar, 1)
    assert calendar is not None
    session.refresh(calendar)
    assert calendar.week["5"] == [["09:00", "12:00"]] and calendar.week["6"] == []

    lines = (
        "2026-10-01 holiday 国庆节\n2026-10-02 假 国庆节\n# comment\n\n"
        "2026-10-10 workday 国庆调休\n"
    )
    bad = submit(
        admin, "/admin/sla/calendar", "/admin/sla/calendar/days", {"lines": lines + "2026-13-01 x"}
    )
    assert bad.status_code == 422 and "line 6" in bad.text and "国庆调休" in bad.text
    assert session.scalars(select(CalendarDay)).all() == []
    added = submit(admin, "/admin/sla/calendar", "/admin/sla/calendar/days", {"lines": lines})
    assert added.status_code == 303, added.text
    days = {d.day: (d.kind, d.name) for d in session.scalars(select(CalendarDay))}
    assert days == {
        date(2026, 10, 1): ("holiday", "国庆节"),
        date(2026, 10, 2): ("holiday", "国庆节"),
        date(2026, 10, 10): ("workday", "国庆调休"),
    }
    page = admin.get("/admin/sla/calendar")
    assert 'data-day="2026-10-10"' in page.text
    removed = submit(admin, "/admin/sla/calendar", "/admin/sla/calendar/days/2026-10-02/delete", {})
    assert removed.status_code == 303
    session.expire_all()
    assert (
        session.scalar(select(CalendarDay.day).where(CalendarDay.day == date(2026, 10, 2))) is None
    )


def test_pasted_lines_are_read_with_hours_and_chinese_words() -> None:
    days = sla_admin.parse_day_lines(
        "2026-09-27 班 国庆调休\n2026-10-10 workday 09:00-12:00,13:00-17:00 调休\n"
        "2026-10-01 放假 国庆节"
    )
    assert [(d.day.isoformat(), d.kind, d.name, d.hours) for d in days] == [
        ("2026-09-27", "workday", "国庆调休", None),
        ("2026-10-10", "workday", "调休", [("09:00", "12:00"), ("13:00", "17:00")]),
        ("2026-10-01", "holiday", "国庆节", None),
    ]


def test_service_agents_read_but_do_not_change_and_sales_may_not_see(
    client: TestClient, people: People, session: Session
) -> None:
    sales = people.user("sales")
    marketing = people.user("marketing")
    session.flush()
    assert sign_in(client, marketing.username, PASSWORD).status_code == 303
    assert client.get("/admin/sla").status_code == 403
    assert client.get("/admin/sla/calendar").status_code == 403
    client.cookies.clear()
    assert sign_in(client, sales.username, PASSWORD).status_code == 303
    page = client.get("/admin/sla")
    assert page.status_code == 200 and '/admin/sla/policies"' not in page.text  # no new form
    refused = submit(client, "/admin/sla", "/admin/sla/policies", {"name": "x"})
    assert refused.status_code == 403
    assert client.get("/service/sla").status_code == 403  # the report needs reports:read


def test_the_report_page_in_chinese(admin: TestClient) -> None:
    page = admin.get("/service/sla?period=365d")
    assert page.status_code == 200 and 'id="by-queue"' in page.text
    bad = admin.get("/service/sla?period=someday")
    assert bad.status_code == 422 and "alert" in bad.text
    token_page = admin.get("/service/sla")
    from tests.web.forms import csrf_from

    admin.post(
        "/locale",
        data={"locale": "zh_CN", "next": "/service/sla", "csrf_token": csrf_from(token_page.text)},
    )
    chinese = admin.get("/service/sla")
    assert "SLA 达成报告" in chinese.text or "服务时限" in chinese.text
