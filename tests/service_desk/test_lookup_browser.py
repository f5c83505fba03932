"""In Chromium: a service agent types part of a serial number into the caller lookup and, as
they type, sees the caller with the product, its purchase date and retailer and the caller's
ticket history; "Open a ticket" lands on the ticket form filled in for that product. Also at
phone width."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from guanxi import crypto, schema
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from guanxi.sales import owned_items
from guanxi.sales.owned_items import OwnedItemCreate
from guanxi.service_desk import service
from guanxi.service_desk.schemas import TicketCreate
from tests.web.live import LiveServer, live_server
from tests.web.test_browser import PASSWORD, _sign_in

pytestmark = pytest.mark.browser
SERIAL = "KF35GW-2024-0815"


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    # seal the audit entries with the keys the live server will load from tmp_path
    crypto.configure(Settings(data_dir=tmp_path, secret_key="browser-test-secret-key-long-enough"))
    with db.unit_of_work() as session:
        agent = auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username="lina", password=PASSWORD, role="service", display_name="李娜 Li Na"
            ),
        )
        fixer = auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username="wangqiang", password=PASSWORD, role="service", display_name="王强"
            ),
        )
        caller = customer_service.create(
            session=session,
            actor=agent,
            customer_in=CustomerCreate(name="王建国", city="南京", phones=["13812345678"]),
        )
        customer_service.create(
            session=session,
            actor=agent,
            customer_in=CustomerCreate(name="王建华", city="南京", phones=["13987654321"]),
        )
        item = owned_items.register(
            session=session,
            actor=agent,
            customer_id=caller.id,
            item_in=OwnedItemCreate(
                serial_number=SERIAL,
                model="格力 KFR-35GW 空调",
                purchased_on=date(2024, 8, 15),
                retailer="苏宁易购南京新街口店",
            ),
        )
        service.create_ticket(
            session,
            actor=agent,
            ticket_in=TicketCreate(
                customer_id=caller.id,
                kind="service_request",
                subject="空调去年漏水",
                owned_item_id=item.id,
                assignee_id=fixer.id,
            ),
        )
    db.dispose()
    with live_server(fresh_database_url, tmp_path) as live:
        yield live


def test_caller_lookup_by_a_partial_serial_number(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    page.goto(server.url + "/service/lookup")
    box = page.get_by_label("Name, phone or serial number")
    box.press_sequentially("35gw-2024", delay=40)  # part of the serial, typed in lower case

    card = page.locator("article.caller-card")
    card.wait_for()
    text = card.inner_text()
    assert "王建国" in text
    assert "格力 KFR-35GW 空调" in text and SERIAL in text
    assert "2024-08-15" in text and "苏宁易购南京新街口店" in text
    history = card.locator("table.caller-tickets")
    assert "空调去年漏水" in history.inner_text() and "王强" in history.inner_text()
    # the address follows the search, so a reload shows the same caller
    assert "q=35gw-2024" in page.url

    card.locator("table.owned-items").get_by_role("link", name="Open a ticket").click()
    page.wait_for_url("**/service/tickets/new?**")
    form = page.locator("form.new-ticket")
    assert form.locator(".ticket-customer").inner_text().startswith("王建国")
    chosen = form.get_by_label("Product the customer owns")
    assert SERIAL in chosen.locator("option:checked").inner_text()
    assert form.get_by_label("Kind").input_value() == "service_request"

    form.get_by_label("Subject").fill("空调又漏水了")
    form.get_by_role("button", name="Open ticket").click()
    page.wait_for_url("**/service/tickets/*")
    assert page.get_by_role("heading", level=1).inner_text().endswith("空调又漏水了")
    assert SERIAL in page.locator(".ticket-facts").inner_text()


def test_the_lookup_fits_a_phone_screen(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    _sign_in(page, server)
    page.goto(server.url + "/service/lookup")
    page.get_by_label("Name, phone or serial number").press_sequentially("0815", delay=40)
    card = page.locator("article.caller-card")
    card.wait_for()
    # nothing spills sideways: the page is no wider than the screen
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert card.get_by_role("link", name="Open a ticket").first.is_visible()
    context.close()
