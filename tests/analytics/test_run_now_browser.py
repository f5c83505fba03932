"""In Chromium: an analyst clicks "Run scoring now" on the runs page of a real shop, sees the run's
progress with the step it is on, and the page shows the finished run (a live server whose own
job worker carries the run out). Clicking while another run is going says so, follows that run,
and shows how it ended."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from guanxi import schema
from guanxi.analytics.models import AnalysisRun, CustomerScore
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.db import Database, utcnow
from tests.analytics.store_support import END, seed_shop
from tests.web.live import LiveServer, live_server

pytestmark = pytest.mark.browser
PASSWORD = "browser test password"
STEPS = (
    "Waiting for the job worker",
    "Summarising purchases",
    "RFM, value tiers and trends",
    "Fitting the CLV models",
    "Lifecycle stages",
    "Churn risk",
    "Recommendations",
    "Reports and diagnostics",
    "Done",
)


@pytest.fixture
def shop_server(fresh_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    seed_shop(db, customers=120)
    with db.unit_of_work() as session:
        auth_service.create_user(
            session=session,
            user_in=UserCreate(username="ana", password=PASSWORD, role="analyst"),
        )
    db.dispose()
    with live_server(fresh_database_url, tmp_path, worker=True) as live:
        yield live


def _sign_in(page, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/analytics/runs")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/analytics/runs")


def test_run_scoring_now_shows_progress_and_the_finished_run(browser, shop_server: LiveServer):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, shop_server)
    assert page.get_by_text("No scoring run yet.", exact=False).is_visible()
    polled: list[dict] = []

    def seen(response) -> None:  # type: ignore[no-untyped-def]
        if re.search(r"/api/v1/analytics/runs/\d+$", response.url) and response.ok:
            polled.append(response.json())

    page.on("response", seen)
    page.get_by_role("button", name="Run scoring now").click()
    bar = page.get_by_role("progressbar")
    bar.wait_for()
    assert page.get_by_role("button", name="Run scoring now").is_disabled()
    step = page.locator("[data-run-now-step]")
    assert step.inner_text() in STEPS

    # the run ends in the worker; the page then loads again with the finished run in the list
    finished = page.locator('tr[data-status="succeeded"]')
    finished.wait_for(timeout=120_000)
    assert any(run["status"] == "running" for run in polled)
    assert "Succeeded" in finished.inner_text() and "ana" in finished.inner_text()
    assert not page.get_by_role("progressbar").is_visible()
    with shop_server.database.sessions() as session:
        run = session.scalars(select(AnalysisRun)).one()
        assert run.status == "succeeded" and run.started_by_id is not None
        assert session.scalars(select(CustomerScore.run_id).limit(1)).first() == run.id
    finished.get_by_role("link", name=f"#{run.id}").click()
    page.wait_for_url(f"{shop_server.url}/analytics/runs/{run.id}")
    assert page.get_by_role("heading", name="Customers per value tier").is_visible()
    assert page.get_by_role("heading", name="Holdout check").is_visible()
    page.close()


def test_a_run_already_going_is_named_and_followed(browser, shop_server: LiveServer):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, shop_server)
    page.wait_for_load_state("networkidle")  # the script has asked whether a run is going
    # someone else's run starts after the page was opened (not in the queue: the test ends it)
    with shop_server.database.unit_of_work() as session:
        other = AnalysisRun(observation_end=END, step="clv", progress=25)
        session.add(other)
        session.flush()
        other_id = other.id
    page.get_by_role("button", name="Run scoring now").click()
    page.get_by_text("A scoring run is already in progress.").wait_for()
    page.get_by_text("Fitting the CLV models").wait_for()
    assert page.get_by_role("progressbar").get_attribute("value") == "25"
    with shop_server.database.unit_of_work() as session:
        run = session.get_one(AnalysisRun, other_id)
        run.status, run.error, run.finished_at = "failed", "stopped by the test", utcnow()
    failed = page.locator(f'tr[data-run="{other_id}"][data-status="failed"]')
    failed.wait_for(timeout=20_000)
    assert "stopped by the test" in failed.inner_text()
    with shop_server.database.sessions() as session:
        assert len(session.scalars(select(AnalysisRun)).all()) == 1  # the click started none
    page.close()
