"""In Chromium: the mining centre's dashboard draws its charts with the plotly.js shipped in the
plotly package, a click on a Pareto bar lands on the customer list behind it with the same count,
the filters narrow the charts, and a sales rep's charts and drill-downs hold only their own
customers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from guanxi.app import create_app
from tests.analytics.scored_shop import ScoredShop, scored
from tests.conftest import PASSWORD
from tests.web.live import LiveServer, live_server

__all__ = ["scored"]
pytestmark = pytest.mark.browser

CHARTS = ("tiers", "pareto", "rfm", "lifecycle", "clv", "cohorts", "churn", "diagnostics")


@pytest.fixture(scope="module")
def server(scored: ScoredShop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(scored.db.url, tmp_path_factory.mktemp("live")) as live:
        yield live


@pytest.fixture(scope="module")
def api(scored: ScoredShop) -> Iterator[TestClient]:
    app = create_app(scored.settings, database=scored.db, embedded_worker=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _sign_in(page, server: LiveServer, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(server.url + "/")


def _open_dashboard(page, server: LiveServer, query: str = "") -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/analytics" + query)
    page.wait_for_selector(".dashboard[data-ready='yes']", timeout=30_000)


def _click_bar(page, chart: str, index: int) -> None:  # type: ignore[no-untyped-def]
    # plotly takes clicks on its drag layer above the bars: hover the bar's middle, then click
    bar = page.locator(f"[data-chart='{chart}'] .chart:not([data-part]) .bars .point path").nth(
        index
    )
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def _listed_total(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator(".list-count").get_attribute("data-total"))


def test_a_click_on_a_pareto_bar_lands_on_its_customers(
    browser, server: LiveServer, scored: ScoredShop, api: TestClient
) -> None:
    page = browser.new_page(locale="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, server, "analyst")
    _open_dashboard(page, server)
    for chart in CHARTS:
        drawn = page.locator(f"[data-chart='{chart}'] .chart").first.get_attribute("data-drawn")
        assert drawn == "yes", chart
    headline = page.locator("[data-chart='pareto'] [data-headline]").inner_text()
    assert re.search(r"top 20% of customers bring \d+(\.\d)?% of the profit", headline)

    groups = api.get("/api/v1/analytics/pareto", headers=scored.tokens["analyst"]).json()["groups"]
    _click_bar(page, "pareto", 1)
    page.wait_for_url(re.compile(r"/customers\?.*profit_min="))
    assert _listed_total(page) == groups[1]["customers"]
    assert page.locator(".filter-chips .chip").first.is_visible()
    assert errors == []


def test_filters_narrow_the_charts_and_the_lists(
    browser, server: LiveServer, scored: ScoredShop, api: TestClient
) -> None:
    page = browser.new_page(locale="en-US")
    _sign_in(page, server, "boss")
    _open_dashboard(page, server)
    page.get_by_label("Region").fill("华东")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"region="))
    page.wait_for_selector(".dashboard[data-ready='yes']", timeout=30_000)
    tiers = api.get(
        "/api/v1/analytics/tiers", params={"region": "华东"}, headers=scored.tokens["boss"]
    ).json()["tiers"]
    first = next(index for index, row in enumerate(tiers) if row["customers"])
    # the tier chart is a funnel: its bars are the same kind of plotly points
    _click_bar(page, "tiers", first)
    page.wait_for_url(re.compile(r"/customers\?region=.*tier="))
    assert _listed_total(page) == tiers[first]["customers"]


def test_a_rep_sees_only_their_customers_in_charts_and_drill_downs(
    browser, server: LiveServer, scored: ScoredShop, api: TestClient
) -> None:
    page = browser.new_page(locale="zh-CN")
    _sign_in(page, server, "rep-a")
    _open_dashboard(page, server)
    assert page.get_by_role("heading", name="价值分层").is_visible()
    diagnostics = page.locator("[data-chart='diagnostics'] .chart").first
    assert diagnostics.get_attribute("data-drawn") == "empty"  # fitted on every customer
    mine = api.get("/api/v1/analytics/pareto", headers=scored.tokens["rep-a"]).json()
    everyone = api.get("/api/v1/analytics/pareto", headers=scored.tokens["boss"]).json()
    assert mine["customers"] < everyone["customers"]
    _click_bar(page, "pareto", 0)
    page.wait_for_url(re.compile(r"/customers\?"))
    assert _listed_total(page) == mine["groups"][0]["customers"]
    owner_cells = page.locator("table.customer-list tbody tr td:nth-child(9)")
    assert set(owner_cells.all_inner_texts()) == {"rep-a"}
