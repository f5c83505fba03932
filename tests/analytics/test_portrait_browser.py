"""In Chromium: the portrait of a demo VIP shows its tier and a next best action, in English and
in Chinese, to a sales representative who owns the customer; the action's link opens the
follow-up form with the action as its subject; at phone width the panel fits the screen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from guanxi import demo, schema
from guanxi.analytics import nba, runs, tiers
from guanxi.analytics.models import CustomerScore
from guanxi.audit import tracking
from guanxi.audit.tracking import AuditActor
from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.config import Settings
from guanxi.customers.models import Customer
from guanxi.db import Database
from guanxi.web import i18n
from tests.conftest import TEST_SECRET
from tests.web.live import LiveServer, live_server

pytestmark = pytest.mark.browser
SEED = 1


@dataclass
class DemoVip:
    server: LiveServer
    username: str
    password: str
    customer_id: int
    action: str


@pytest.fixture
def demo_vip(fresh_database_url: str, tmp_path: Path) -> Iterator[DemoVip]:
    """The small demo company, scored, and a VIP the demo's sales representative may see."""
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        tracking.set_actor(session, AuditActor(None, "test"))
        company = demo.create(session, seed=SEED, size=demo.DemoSize.small)
        login = next(one for one in company.logins if one.role == "sales")
    run = runs.analyze(
        db, Settings(data_dir=tmp_path, database_url=fresh_database_url, secret_key=TEST_SECRET)
    )
    assert run.status == "succeeded", run.error
    with db.sessions() as session:
        rep = session.scalars(select(User).where(User.username == login.username)).one()
        vips = session.execute(
            restrict(
                select(Customer.id, CustomerScore.next_action)
                .join(CustomerScore, CustomerScore.customer_id == Customer.id)
                .where(
                    CustomerScore.run_id == run.id,
                    CustomerScore.tier == "vip",
                    Customer.deleted_at.is_(None),
                )
                .order_by(Customer.id),
                Customer,
                rep,
            )
        ).all()
    db.dispose()
    assert vips, "the demo's sales representative owns no VIP"
    customer_id, action = vips[0]
    with live_server(fresh_database_url, tmp_path) as live:
        yield DemoVip(live, login.username, login.password, customer_id, action)


def _sign_in(page, vip: DemoVip) -> None:  # type: ignore[no-untyped-def]
    page.goto(vip.server.url + "/login")
    page.locator("input[name=username]").fill(vip.username)
    page.locator("input[name=password]").fill(vip.password)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(vip.server.url + "/")


def test_the_portrait_of_a_demo_vip_shows_its_tier_and_next_best_action(
    browser,  # type: ignore[no-untyped-def]
    demo_vip: DemoVip,
    tmp_path: Path,
) -> None:
    title = nba.ACTIONS[demo_vip.action][0]
    page = browser.new_page(locale="en-US")
    _sign_in(page, demo_vip)
    page.goto(f"{demo_vip.server.url}/customers/{demo_vip.customer_id}")
    panel = page.locator("#portrait")
    assert panel.get_by_role("heading", name="Customer portrait").is_visible()
    assert panel.locator(".portrait-tier", has_text=tiers.TIERS["vip"]).is_visible()
    action = panel.locator(".portrait-action")
    assert action.get_by_role("heading", name="Next best action").is_visible()
    assert action.get_by_text(title, exact=True).is_visible()
    assert panel.get_by_role("meter").first.is_visible()
    page.screenshot(path=str(tmp_path / "portrait-en.png"), full_page=True)

    action.get_by_role("link", name="Plan a follow-up").click()
    page.wait_for_url("**/interactions/follow-ups/new?**")
    assert page.locator("#f-subject").input_value() == title

    page.goto(f"{demo_vip.server.url}/customers/{demo_vip.customer_id}")
    with page.expect_navigation():
        page.get_by_label("Language").first.select_option("zh_CN")
    panel = page.locator("#portrait")
    assert panel.get_by_role("heading", name="客户画像").is_visible()
    assert panel.locator(".portrait-tier", has_text="屈从型 VIP客户").is_visible()
    action = panel.locator(".portrait-action")
    assert action.get_by_role("heading", name="下一步最佳行动").is_visible()
    chinese_title = i18n.translations("zh_CN").gettext(title)
    assert chinese_title != title
    assert action.get_by_text(chinese_title, exact=True).is_visible()
    assert action.get_by_role("link", name="新建跟进计划").is_visible()
    page.screenshot(path=str(tmp_path / "portrait-zh.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the panel fits the screen
    page.reload()
    panel = page.locator("#portrait")
    assert panel.locator(".portrait-tier").is_visible()
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert panel.evaluate("element => element.scrollWidth <= element.clientWidth")
    page.screenshot(path=str(tmp_path / "portrait-phone.png"), full_page=True)
    page.close()
