"""Follow-up pages as a signed-in user uses them: "my day" in Chinese with its buckets,
completing and rescheduling inline, the planning form with inline errors, the record, the
customer 360 panel, and the calendar address on the account page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.db import Database
from guanxi.interactions.followups import service as followups
from guanxi.interactions.followups.schemas import FollowUpCreate
from guanxi.interactions.models import CalendarFeed, FollowUp, Interaction
from tests.conftest import People, Person
from tests.interactions.support_followups import customer, in_hours, plan, without_interactions
from tests.web.forms import sign_in, submit
from tests.web.live import LiveServer
from tests.web.test_browser import _sign_in, server  # noqa: F401 - a fixture


def _signed_in(client: TestClient, person: Person) -> None:
    client.cookies.clear()  # whoever was signed in before
    reply = sign_in(client, person.username, person.password)
    assert reply.status_code == 303, reply.text


def _chinese(session: Session, person: Person) -> None:
    person.user.locale = "zh_CN"
    person.user.timezone = "Asia/Shanghai"
    session.flush()


def _bucket(html: str, name: str) -> str:
    match = re.search(rf'data-bucket="{name}".*?</section>', html, re.S)
    assert match, name
    return match.group(0)


def test_my_day_in_chinese_shows_overdue_today_and_upcoming(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    _chinese(session, seller)
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    late = plan(client, headers, customer_id, subject="催一下回款", due_at=in_hours(-3))
    ahead = plan(client, headers, customer_id, subject="送样品", due_at=in_hours(24 * 4))
    far = plan(client, headers, customer_id, subject="年底拜访", due_at=in_hours(24 * 20))
    _signed_in(client, seller)

    page = client.get("/interactions/my-day")
    assert page.status_code == 200
    html = page.text
    assert "我的一天" in html and "已逾期" in html and "未来 7 天" in html
    overdue = _bucket(html, "overdue")
    assert f'data-follow-up="{late["id"]}"' in overdue and "催一下回款" in overdue
    assert "杭州青山茶业" in overdue
    assert f'data-follow-up="{ahead["id"]}"' in _bucket(html, "upcoming")
    assert f'data-follow-up="{far["id"]}"' not in html
    assert "今天没有其他到期的跟进计划。" in _bucket(html, "today")
    # the due time is shown in the user's zone
    due = datetime.fromisoformat(late["due_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert due.strftime("%Y-%m-%d %H:%M") in overdue


def test_completing_and_rescheduling_inline_from_my_day(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    _chinese(session, seller)
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    late = plan(client, headers, customer_id, due_at=in_hours(-1))
    other = plan(client, headers, customer_id, due_at=in_hours(-2))
    _signed_in(client, seller)

    done = submit(
        client,
        "/interactions/my-day",
        f"/interactions/follow-ups/{late['id']}/complete",
        {"outcome": "reached", "notes": "客户说下周下单", "next": "/interactions/my-day"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/interactions/my-day"
    session.expire_all()
    completed = session.get(FollowUp, late["id"])
    assert completed is not None and completed.status == "done"
    interaction = session.get(Interaction, completed.interaction_id)
    assert interaction is not None and interaction.outcome == "reached"
    assert interaction.notes == "客户说下周下单" and interaction.source == "follow_up"

    # 2 days ahead, 10:30 in Shanghai, typed as a local time
    local_day = (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    typed = local_day.strftime("%Y-%m-%dT10:30")
    moved = submit(
        client,
        "/interactions/my-day",
        f"/interactions/follow-ups/{other['id']}/reschedule",
        {"due_at": typed, "next": "/interactions/my-day"},
    )
    assert moved.status_code == 303
    session.expire_all()
    rescheduled = session.get(FollowUp, other["id"])
    assert rescheduled is not None
    assert (
        rescheduled.due_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M") == typed
    )
    page = client.get("/interactions/my-day").text
    assert f'data-follow-up="{other["id"]}"' in _bucket(page, "upcoming")
    assert f'data-follow-up="{late["id"]}"' not in page

    # a completion without an outcome is refused on the page, nothing recorded
    third = plan(client, headers, customer_id, due_at=in_hours(1))
    refused = submit(
        client,
        "/interactions/my-day",
        f"/interactions/follow-ups/{third['id']}/complete",
        {"outcome": ""},
    )
    assert refused.status_code == 422 and "必填" in refused.text
    session.expire_all()
    still = session.get(FollowUp, third["id"])
    assert still is not None and still.status == "open"


def test_planning_a_follow_up_on_the_form_with_inline_errors(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    _chinese(session, seller)
    customer_id = customer(session, seller.user)
    _signed_in(client, seller)
    form_url = f"/interactions/follow-ups/new?customer_id={customer_id}"
    page = client.get(form_url)
    assert page.status_code == 200 and "杭州青山茶业" in page.text

    bad = submit(
        client,
        form_url,
        "/interactions/follow-ups/new",
        {"customer_id": customer_id, "due_at": "", "channel": "phone", "recurrence": "none"},
    )
    assert bad.status_code == 422 and 'id="e-due_at"' in bad.text
    unreadable = submit(
        client,
        form_url,
        "/interactions/follow-ups/new",
        {"customer_id": customer_id, "due_at": "明天上午", "recurrence_until": "June"},
    )
    assert unreadable.status_code == 422
    assert "请按 YYYY-MM-DD HH:MM 格式填写时间。" in unreadable.text
    assert "请按 YYYY-MM-DD 格式填写日期。" in unreadable.text
    assert session.scalars(select(FollowUp)).all() == []

    made = submit(
        client,
        form_url,
        "/interactions/follow-ups/new",
        {
            "customer_id": customer_id,
            "due_at": "2030-04-01T09:00",
            "assignee_id": seller.user.id,
            "channel": "visit",
            "subject": "上门演示",
            "note": "带上新品目录",
            "recurrence": "weekly",
            "recurrence_interval": "2",
            "recurrence_until": "2030-06-30",
        },
    )
    assert made.status_code == 303, made.text
    follow_up = session.scalars(select(FollowUp)).one()
    assert follow_up.due_at == datetime(2030, 4, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert (follow_up.channel, follow_up.recurrence, follow_up.recurrence_interval) == (
        "visit",
        "weekly",
        2,
    )
    assert follow_up.recurrence_until is not None
    assert follow_up.recurrence_until.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat() == (
        "2030-06-30"
    )
    record = client.get(made.headers["location"])
    assert record.status_code == 200 and "上门演示" in record.text and "带上新品目录" in record.text
    assert "每周" in record.text

    edit_url = f"/interactions/follow-ups/{follow_up.id}/edit"
    assert 'value="2030-04-01T09:00"' in client.get(edit_url).text
    edited = submit(
        client,
        edit_url,
        edit_url,
        {
            "version": follow_up.version,
            "due_at": "2030-04-02T15:00",
            "assignee_id": seller.user.id,
            "channel": "visit",
            "subject": "",
            "note": "带上新品目录",
            "recurrence": "none",
            "recurrence_interval": "1",
            "recurrence_until": "",
        },
    )
    assert edited.status_code == 303, edited.text
    session.expire_all()
    assert follow_up.due_at == datetime(2030, 4, 2, 7, 0, tzinfo=UTC)
    assert (follow_up.subject, follow_up.recurrence, follow_up.recurrence_until) == (
        "",
        "none",
        None,
    )


def test_pages_respect_visibility_and_permissions(
    client: TestClient, people: People, session: Session
):
    owner = people.user("sales")
    other = people.user("sales")
    planned = plan(client, people.token(owner), customer(session, owner.user))
    _signed_in(client, other)
    assert client.get(f"/interactions/follow-ups/{planned['id']}").status_code == 404
    assert planned["subject"] not in client.get("/interactions/follow-ups").text
    viewer = without_interactions(session, people)
    _signed_in(client, viewer)
    assert client.get("/interactions/my-day").status_code == 403
    assert client.get("/interactions/follow-ups").status_code == 403


def test_the_customer_page_lists_open_follow_ups_and_plans_one(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    customer_id = customer(session, seller.user)
    planned = plan(client, headers, customer_id, subject="确认合同条款")
    closed = plan(client, headers, customer_id, subject="已经取消的")
    client.post(f"/api/v1/follow-ups/{closed['id']}/cancel", headers=headers)
    _signed_in(client, seller)
    page = client.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    panel = re.search(r'id="follow-ups".*?</section>', page.text, re.S)
    assert panel is not None
    assert "确认合同条款" in panel.group(0) and "已经取消的" not in panel.group(0)
    made = submit(
        client,
        f"/customers/{customer_id}",
        "/interactions/follow-ups/new",
        {
            "customer_id": customer_id,
            "due_at": "2030-01-02T10:00",
            "channel": "phone",
            "subject": "新年问候",
            "next": f"/customers/{customer_id}#follow-ups",
        },
    )
    assert (
        made.status_code == 303
        and made.headers["location"] == f"/customers/{customer_id}#follow-ups"
    )
    assert "新年问候" in client.get(f"/customers/{customer_id}").text
    assert planned["id"] != 0


def test_the_account_page_shows_copies_and_revokes_the_calendar_address(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    _chinese(session, seller)
    _signed_in(client, seller)
    page = client.get("/account")
    assert page.status_code == 200 and "日历订阅" in page.text and "生成我的日历地址" in page.text
    assert submit(client, "/account", "/account/calendar", {}).status_code == 303
    page = client.get("/account").text
    match = re.search(r'value="(http[^"]+\.ics)" data-calendar-url', page)
    assert match is not None and "data-copy-target" in page
    url = match.group(1)
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).status_code == 200
    api = client.get("/api/v1/me/calendar", headers=people.token(seller)).json()["url"]
    assert api == url  # the same address everywhere

    assert submit(client, "/account", "/account/calendar/revoke", {}).status_code == 303
    assert client.get(url.removeprefix("http://127.0.0.1:8000")).status_code == 404
    assert "生成我的日历地址" in client.get("/account").text
    feeds = session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == seller.user.id))
    assert [f.revoked_at is not None for f in feeds] == [True]


# ---------------------------------------------------------------- in Chromium


@pytest.mark.browser
def test_my_day_and_the_calendar_address_in_chromium(  # type: ignore[no-untyped-def]
    browser,
    server: LiveServer,  # noqa: F811
    tmp_path: Path,
):
    db = Database(server.database.url)
    with db.unit_of_work() as session:
        lina = session.scalars(select(User).where(User.username == "lina")).one()
        buyer = customer(session, lina, "杭州青山茶业")
        for hours, subject in ((-2, "催一下回款"), (24 * 3, "送样品")):
            followups.create(
                session=session,
                actor=lina,
                follow_up_in=FollowUpCreate(
                    customer_id=buyer,
                    due_at=datetime.now(UTC) + timedelta(hours=hours),
                    subject=subject,
                ),
            )
    db.dispose()
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    _sign_in(page, server)
    page.goto(server.url + "/interactions/my-day")
    overdue = page.locator('[data-bucket="overdue"]')
    assert overdue.get_by_text("催一下回款").is_visible()
    assert page.locator('[data-bucket="upcoming"]').get_by_text("送样品").is_visible()
    color = overdue.locator(".due").first.evaluate("e => getComputedStyle(e).color")
    assert color != "rgb(0, 0, 0)"  # overdue times stand out in red
    page.screenshot(path=str(tmp_path / "my-day.png"), full_page=True)

    overdue.get_by_text("Complete").click()
    overdue.get_by_label("Outcome").select_option("reached")
    overdue.get_by_label("Notes").fill("客户答应周五付款")
    overdue.get_by_role("button", name="Done").click()
    page.wait_for_url(server.url + "/interactions/my-day")
    assert page.get_by_text("The follow-up is done.").is_visible()
    assert page.locator('[data-bucket="overdue"]').get_by_text("Nothing overdue.").is_visible()

    page.goto(server.url + "/account")
    page.get_by_role("button", name="Create my calendar address").click()
    page.wait_for_url(re.compile(r".*/account"))
    url = page.locator("[data-calendar-url]").input_value()
    assert url.endswith(".ics")
    copy = page.get_by_role("button", name="Copy")
    copy.click()
    page.get_by_role("button", name="Copied").wait_for()  # the clipboard answers asynchronously
    assert page.evaluate("navigator.clipboard.readText()") == url
    page.screenshot(path=str(tmp_path / "account.png"), full_page=True)

    # the customer page: plan the next call from the panel, open it, see it on the calendar
    page.goto(f"{server.url}/customers/{buyer}")
    panel = page.locator("#follow-ups")
    panel.get_by_label("Due").fill("2030-01-02T10:00")
    panel.get_by_label("Subject").fill("新年问候")
    panel.get_by_role("button", name="Plan a follow-up").click()
    page.wait_for_url(re.compile(rf".*/customers/{buyer}#follow-ups$"))
    page.locator("#follow-ups").get_by_text("新年问候").click()
    page.wait_for_url(re.compile(r".*/interactions/follow-ups/\d+$"))
    assert page.get_by_role("heading", name=re.compile("新年问候")).is_visible()
    assert page.get_by_text("2030-01-02 10:00").is_visible()
    page.screenshot(path=str(tmp_path / "follow-up.png"), full_page=True)
    # the settings' public_url names the default port; the live server listens on its own
    feed = page.request.get(server.url + url.removeprefix("http://127.0.0.1:8000"))
    assert feed.ok and "新年问候" in feed.text()
    context.close()
