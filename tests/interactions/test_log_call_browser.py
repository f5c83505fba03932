"""In Chromium: the top bar's "log a call" box finds the customer by part of the caller's
number while it is typed, the user picks it with the keyboard and logs the call; the call is in
the store and on the customer's page. The same box works in Chinese."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.interactions.models import Interaction
from tests.web.live import LiveServer
from tests.web.test_browser import PASSWORD, _sign_in, server  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser


def _customers(live: LiveServer) -> dict[str, int]:
    with live.database.unit_of_work() as session:
        lina = session.scalars(select(User).where(User.username == "lina")).one()
        made = {}
        for name, phone in (
            ("林小雨", "138 0013 8000"),
            ("张三丰", "138 1234 9999"),
            ("王大海", "139 1234 5678"),
        ):
            customer = customer_service.create(
                session=session,
                actor=lina,
                customer_in=CustomerCreate(name=name, phones=[phone]),  # type: ignore[list-item]
            )
            session.flush()
            made[name] = customer.id
    return made


def test_log_a_call_finds_the_customer_by_part_of_the_number(browser, server: LiveServer):  # type: ignore[no-untyped-def]  # noqa: F811
    ids = _customers(server)
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)

    page.get_by_text("Log a call", exact=True).click()
    phone = page.get_by_role("combobox", name="Caller's number")
    assert phone.is_visible()
    assert phone.evaluate("element => element === document.activeElement")
    results = page.get_by_role("listbox", name="Customers with this number")

    phone.press_sequentially("13", delay=40)
    assert page.get_by_text("Type at least three digits of the number.").is_visible()
    phone.press_sequentially("8", delay=40)  # "138": two customers have it
    results.get_by_role("option").nth(1).wait_for()
    names = results.get_by_role("option").all_inner_texts()
    assert len(names) == 2 and any("林小雨" in n for n in names)
    assert any("张三丰" in n for n in names) and not any("王大海" in n for n in names)

    phone.press_sequentially("00", delay=40)  # "13800": only one is left
    page.wait_for_function(
        "() => document.querySelectorAll('#log-call-results [role=option]').length === 1"
    )
    assert "林小雨" in results.get_by_role("option").inner_text()

    phone.press("ArrowDown")
    phone.press("Enter")
    form = page.locator("[data-log-call-form]")
    assert form.get_by_text("林小雨").is_visible()
    assert form.get_by_label("Channel").input_value() == "phone"
    form.get_by_label("Direction").select_option("inbound")
    form.get_by_label("Subject").fill("问询明前龙井价格")
    form.get_by_label("Notes").fill("想订五斤，周五前回电。")
    form.get_by_label("Outcome").select_option("call_back")
    form.get_by_role("button", name="Log the call").click()
    page.wait_for_url(server.url + "/")
    assert page.get_by_text("Interaction with 林小雨 logged.").is_visible()

    with server.database.unit_of_work() as session:
        calls = list(
            session.scalars(select(Interaction).where(Interaction.customer_id == ids["林小雨"]))
        )
        assert len(calls) == 1
        call = calls[0]
        assert (call.channel, call.direction, call.outcome) == ("phone", "inbound", "call_back")
        assert call.subject == "问询明前龙井价格" and call.source == "manual"
        lina_id = session.scalars(select(User.id).where(User.username == "lina")).one()
        assert call.user_id == lina_id
        others = session.scalars(
            select(Interaction.id).where(Interaction.customer_id != ids["林小雨"])
        ).all()
        assert others == []

    page.goto(f"{server.url}/customers/{ids['林小雨']}")
    panel = page.locator("#interactions")
    assert panel.get_by_text("问询明前龙井价格").is_visible()
    assert panel.get_by_role("cell", name="Call back later").is_visible()
    page.close()


def test_the_box_speaks_chinese_and_says_when_nothing_matches(browser, server: LiveServer):  # type: ignore[no-untyped-def]  # noqa: F811
    _customers(server)
    page = browser.new_page(locale="zh-CN")
    page.goto(server.url + "/")
    page.get_by_label("用户名").fill("lina")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(server.url + "/")
    page.get_by_text("记录来电", exact=True).click()
    phone = page.get_by_role("combobox", name="来电号码")
    phone.press_sequentially("0571", delay=40)
    page.get_by_text("没有客户的号码与此相符。").wait_for()
    phone.fill("")
    phone.press_sequentially("5678", delay=40)
    option = page.get_by_role("listbox").get_by_role("option")
    option.wait_for()
    assert "王大海" in option.inner_text()
    option.click()
    form = page.locator("[data-log-call-form]")
    assert form.get_by_text("王大海").is_visible()
    assert form.get_by_label("渠道").input_value() == "phone"
    form.get_by_role("button", name="选择其他客户").click()
    assert phone.is_visible() and not form.is_visible()
    page.keyboard.press("Escape")
    assert not phone.is_visible()
    page.close()


def test_the_open_box_fits_a_phone_screen(browser, server: LiveServer):  # type: ignore[no-untyped-def]  # noqa: F811
    ids = _customers(server)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    _sign_in(page, server)
    page.goto(f"{server.url}/customers/{ids['林小雨']}")
    closed = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert closed <= 0, f"the page is {closed}px wider than the screen"
    page.locator(".log-call summary").click()  # the icon only, on a phone
    phone = page.get_by_role("combobox", name="Caller's number")
    phone.press_sequentially("13800", delay=40)
    option = page.get_by_role("listbox", name="Customers with this number").get_by_role("option")
    option.wait_for()
    option.click()
    button = page.get_by_role("button", name="Log the call")
    assert button.is_visible()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    context.close()
