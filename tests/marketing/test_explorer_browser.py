"""In Chromium: build a segment in the explorer from a value-tier and a city condition, watch its
size follow each change, save it, open its list and find the same count there; and the explorer
in Chinese on a phone-sized screen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.schemas import UserCreate
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.marketing.segments.models import Segment
from tests.web.live import LiveServer
from tests.web.test_browser import PASSWORD, _sign_in, server  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser

# (name, city, tier in the run before, tier in the latest run); lina owns the first six
LINAS = [
    ("林上海一", "上海", "key", "vip"),
    ("林上海二", "上海", "ordinary", "key"),
    ("林上海三", "上海", "ordinary", "ordinary"),
    ("林北京一", "北京", "vip", "vip"),
    ("林北京二", "北京", "key", "key"),
    ("林杭州一", "杭州", "ordinary", "unprofitable"),
]
OTHERS = [("周上海一", "上海", "vip", "vip"), ("周上海二", "上海", "key", "key")]


def _seed(live: LiveServer) -> None:
    """Lina's customers and another rep's, scored by two runs (written as a run writes them)."""
    with live.database.unit_of_work() as session:
        lina = session.scalars(select(User).where(User.username == "lina")).one()
        zhou = auth_service.create_user(
            session=session, user_in=UserCreate(username="zhou", password=PASSWORD, role="sales")
        )
        runs = []
        for end in (dt.date(2026, 10, 1), dt.date(2026, 11, 1)):
            run = AnalysisRun(status="succeeded", observation_end=end, parameters={})
            session.add(run)
            runs.append(run)
        session.flush()
        for owner, rows in ((lina, LINAS), (zhou, OTHERS)):
            for i, (name, city, before, latest) in enumerate(rows):
                made = customer_service.create(
                    session=session, actor=owner, customer_in=CustomerCreate(name=name, city=city)
                )
                session.flush()
                for run, tier in zip(runs, (before, latest), strict=True):
                    session.add(
                        CustomerScore(
                            run_id=run.id,
                            customer_id=made.id,
                            tier=tier,
                            revenue=Decimal(1000 + 100 * i),
                            profit=Decimal(300),
                            clv=Decimal(2000 + 500 * i),
                        )
                    )


def _wait_for_size(page, size: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "size => document.querySelector('[data-figure=size]').dataset.value === String(size)",
        arg=size,
    )


def test_build_save_and_open_a_segment_with_the_lists_count(browser, server: LiveServer):  # type: ignore[no-untyped-def]  # noqa: F811
    _seed(server)
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Marketing"
    ).click()
    page.wait_for_url(server.url + "/marketing")
    page.get_by_role("link", name="Build the first segment").click()
    page.wait_for_url(server.url + "/marketing/segments/new")
    size = page.locator("[data-figure=size]")
    assert size.get_attribute("data-value") == "6"  # no conditions: every customer lina sees

    picker = page.get_by_label("Add a condition")
    picker.select_option(label="Value tier")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_role("checkbox", name="VIP (deferential)").check()
    _wait_for_size(page, 2)  # 林上海一, 林北京一
    page.get_by_role("checkbox", name="Key (caring)").check()
    _wait_for_size(page, 4)
    assert "Value tier" not in picker.inner_text()  # a field is added once

    picker.select_option(label="City")
    page.get_by_role("button", name="Add", exact=True).click()
    city = page.get_by_label("City", exact=True)
    assert city.evaluate("element => element === document.activeElement")
    city.fill("上海")
    _wait_for_size(page, 2)  # 林上海一 (VIP) and 林上海二 (key); zhou's are not lina's
    assert page.locator("[data-figure=clv]").inner_text() == "CN¥4,500.00"
    assert page.locator("[data-sparkline] circle").count() == 2  # a point per run
    rows = page.locator("[data-trend-rows] tr")
    assert rows.count() == 2
    link = page.get_by_role("link", name="Open the list with these conditions")
    assert "tier=vip%2Ckey" in link.get_attribute("href")

    page.get_by_label("Name").fill("上海重点客户")
    page.get_by_label("Description").fill("VIP 与关怀型，上海")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/marketing/segments/*")
    assert page.get_by_text("Segment 上海重点客户 saved.").is_visible()
    shown = int(size.get_attribute("data-value"))
    assert shown == 2
    with server.database.unit_of_work() as session:
        segment = session.scalars(select(Segment)).one()
        assert segment.definition == {"params": [["tier", "vip,key"], ["city", "上海"]]}

    page.get_by_role("link", name="Open the saved segment's list").click()
    page.wait_for_url(f"**/customers?segment={segment.id}")
    assert int(page.locator("[data-total]").get_attribute("data-total")) == shown
    names = page.locator("td.name-cell").all_inner_texts()
    assert sorted(names) == ["林上海一", "林上海二"]

    page.goto(server.url + "/marketing")
    card = page.locator(f"[data-segment-size='{segment.id}']")
    assert card.inner_text().split()[0] == str(shown)
    page.close()


def test_the_explorer_speaks_chinese_on_a_phone(browser, server: LiveServer):  # type: ignore[no-untyped-def]  # noqa: F811
    _seed(server)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url + "/")
    page.get_by_label("用户名").fill("lina")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(server.url + "/")
    page.goto(server.url + "/marketing/segments/new")
    page.get_by_label("添加条件").select_option(label="价值等级")
    page.get_by_role("button", name="添加", exact=True).click()
    page.get_by_role("checkbox", name="屈从型 VIP客户").check()
    _wait_for_size(page, 2)
    page.get_by_label("添加条件").select_option(label="客户终生价值")
    page.get_by_role("button", name="添加", exact=True).click()
    page.get_by_label("至少").fill("3000")
    _wait_for_size(page, 1)  # of lina's VIPs only 林北京一 (CLV 3500) has 3000 or more
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    assert page.locator(".figure-size dt").inner_text() == "客户"
    assert page.get_by_role("button", name="移除: 客户终生价值").is_visible()
    context.close()
