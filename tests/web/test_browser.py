"""In Chromium: sign in, switch language, see the navigation translated, sign out; phone width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guanxi import schema
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.db import Database
from tests.web.live import LiveServer, live_server

pytestmark = pytest.mark.browser
PASSWORD = "browser test password"


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username="lina", password=PASSWORD, role="manager", display_name="李娜 Li Na"
            ),
        )
    db.dispose()
    with live_server(fresh_database_url, tmp_path) as live:
        yield live


def _sign_in(page, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    assert "/login" in page.url
    page.get_by_label("Username").fill("lina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")


def test_sign_in_switch_language_and_sign_out(browser, server: LiveServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    nav = page.get_by_role("navigation", name="Main navigation")
    assert nav.get_by_role("link", name="Customers").is_visible()
    assert nav.get_by_role("link", name="Analytics").is_visible()

    with page.expect_navigation():
        page.get_by_label("Language").first.select_option("zh_CN")
    nav = page.get_by_role("navigation", name="主导航")
    for label in ("客户", "互动", "销售", "服务", "营销", "分析"):
        assert nav.get_by_role("link", name=label, exact=True).is_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.screenshot(path=str(tmp_path / "home-zh.png"), full_page=True)

    page.locator("summary", has_text="李娜").click()
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login")
    page.goto(server.url + "/")
    assert "/login" in page.url  # the old session is gone


def test_phone_width_navigation_opens_from_the_menu(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    _sign_in(page, server)
    link = page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Sales")
    assert not link.is_visible()
    page.get_by_role("button", name="Menu").click()
    assert link.is_visible()
    link.click()
    page.wait_for_url("**/sales")
    assert page.get_by_role("heading", name="Sales").is_visible()
    context.close()
