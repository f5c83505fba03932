"""In Chromium: create a customer with the form, land on the 360 page, withdraw a consent with one
click; at phone width the 360 page fits the screen."""

from __future__ import annotations

import re

import pytest

from tests.web.live import LiveServer
from tests.web.test_browser import _sign_in, server  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser


def _create_customer(page, live: LiveServer) -> str:  # type: ignore[no-untyped-def]
    page.goto(live.url + "/customers/new")
    page.get_by_role("textbox", name="Name", exact=True).fill("林小雨")
    page.get_by_label("Phone number").first.fill("138 0013 8000")
    rows = page.locator('[data-rows="phones"] [data-row]')
    before = rows.count()
    page.get_by_role("button", name="Add a phone").click()
    assert rows.count() == before + 1
    page.get_by_label("E-mail address").first.fill("Lin@Example.com")
    page.get_by_label("City").fill("深圳")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    return str(page.url)


def test_create_a_customer_and_withdraw_consent(browser, server: LiveServer):  # type: ignore[no-untyped-def]  # noqa: F811
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    _create_customer(page, server)
    assert page.get_by_role("heading", name="林小雨").is_visible()
    assert page.get_by_role("link", name="138 0013 8000").is_visible()
    assert page.get_by_role("link", name="lin@example.com").is_visible()

    row = page.locator('tr[data-purpose="marketing_email"]')
    row.get_by_role("button", name="Grant").click()
    page.wait_for_load_state()
    assert row.get_by_text("Granted", exact=True).is_visible()
    row.get_by_role("button", name="Withdraw").click()
    page.wait_for_load_state()
    assert row.get_by_text("Withdrawn", exact=True).is_visible()
    assert row.get_by_role("button", name="Grant").is_visible()
    timeline = page.locator("#timeline")
    assert timeline.get_by_text("Consent withdrawn: Marketing e-mail").is_visible()
    page.close()


def test_the_360_page_fits_a_phone_screen(browser, server: LiveServer):  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    _sign_in(page, server)
    _create_customer(page, server)
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("textbox", name="Address", exact=True).fill(
        "南山区科技园南区深南大道一万零八十八号某某大厦二十八层"
    )
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/customers/\d+$"))
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    context.close()
