"""In Chromium: the top bar's search suggests customers as you type; bulk tagging from the list;
the list at phone width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guanxi import crypto, schema
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from tests.web.live import LiveServer, live_server
from tests.web.test_browser import _sign_in

pytestmark = pytest.mark.browser
PASSWORD = "browser test password"
CUSTOMERS = (
    {
        "name": "张伟",
        "city": "上海",
        "phones": ["13800138000"],
        "emails": ["zhang.wei@example.com"],
    },
    {"name": "张伟明", "city": "北京", "phones": ["13900139000"]},
    {"name": "王芳", "city": "广州", "company": "广州华南贸易有限公司"},
    {"name": "Li Na", "city": "深圳", "emails": ["li.na.with.a.long.address@example.com"]},
)


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    # seal the customers' audit entries with the keys the live server will load from tmp_path
    crypto.configure(Settings(data_dir=tmp_path, secret_key="browser-test-secret-key-long-enough"))
    with db.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username="lina", password=PASSWORD, role="manager", display_name="李娜 Li Na"
            ),
        )
        for fields in CUSTOMERS:
            customer_service.create(
                session=session, actor=user, customer_in=CustomerCreate.model_validate(fields)
            )
    db.dispose()
    with live_server(fresh_database_url, tmp_path) as live:
        yield live


def test_search_box_suggests_customers_as_you_type(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    box = page.get_by_role("combobox", name="Find customers")
    box.press_sequentially("张伟", delay=30)
    suggestions = page.get_by_role("listbox", name="Matching customers")
    options = suggestions.get_by_role("option")
    options.first.wait_for()
    assert options.count() == 2
    assert "上海" in suggestions.inner_text() and "+8613800138000" in suggestions.inner_text()
    # the keyboard moves through the suggestions; Escape closes them
    box.press("ArrowDown")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    box.press("Escape")
    assert not suggestions.is_visible()
    # one Chinese character is enough; a click opens the customer
    box.fill("")
    box.press_sequentially("芳")
    option = suggestions.get_by_role("option").filter(has_text="王芳")
    option.wait_for()
    option.click()
    page.wait_for_url("**/customers/*")
    assert page.url.rstrip("/").split("/")[-1].isdigit()


def test_enter_without_a_suggestion_opens_the_filtered_list(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    box = page.get_by_role("combobox", name="Find customers")
    box.fill("zhang.wei")
    box.press("Enter")
    page.wait_for_url("**/customers?q=zhang.wei")
    names = page.locator("table.customer-list tbody td:nth-child(2) a").all_inner_texts()
    assert names == ["张伟"]


def test_bulk_tagging_a_selection_from_the_list(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    page.goto(server.url + "/customers?sort=name&order=asc")
    page.get_by_role("checkbox", name="Select 张伟", exact=True).check()
    page.get_by_role("checkbox", name="Select 王芳").check()
    page.locator(".bulk-bar").locator("select[name=action]").select_option("tag")
    page.locator(".bulk-bar").get_by_label("Tag", exact=True).fill("重点客户")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Customers changed: 2 of 2 selected."
    tagged = page.locator("tr", has=page.locator(".badge", has_text="重点客户"))
    assert sorted(tagged.locator("td:nth-child(2)").all_inner_texts()) == ["张伟", "王芳"]

    # "select all on this page" ticks every row
    page.get_by_role("checkbox", name="Select all on this page").check()
    rows = page.locator("input[name=ids]")
    assert rows.count() == len(CUSTOMERS)
    assert all(rows.nth(i).is_checked() for i in range(rows.count()))


def test_the_list_fits_a_phone_screen(browser, server: LiveServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    _sign_in(page, server)
    page.goto(server.url + "/customers")
    assert page.get_by_role("combobox", name="Find customers").is_visible()
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    page.get_by_role("combobox", name="Find customers").press_sequentially("张")
    page.get_by_role("listbox", name="Matching customers").get_by_role("option").first.wait_for()
    assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(tmp_path / "customers-phone.png"), full_page=True)
    context.close()
