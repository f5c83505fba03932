"""In Chromium: a card dragged on the pipeline board with the mouse, and with a finger on a touch
screen, lands in the new stage: after a reload it is still there, and the store holds the new
stage and one more history row with who moved it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from guanxi import crypto, schema
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.db import Database
from guanxi.sales.models import Opportunity, OpportunityStageChange, PipelineStage
from tests.sales.pipeline_support import opportunity_of
from tests.web.live import LiveServer, live_server
from tests.web.test_browser import PASSWORD, _sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def server(fresh_database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    crypto.configure(Settings(data_dir=tmp_path, secret_key="browser-test-secret-key-long-enough"))
    with db.unit_of_work() as session:
        user = auth_service.create_user(
            session=session,
            user_in=UserCreate(
                username="lina", password=PASSWORD, role="manager", display_name="李娜 Li Na"
            ),
        )
        opportunity_of(session, user, title="鼠标拖动的机会", amount="1200.00")
        opportunity_of(session, user, title="手指拖动的机会", amount="800.00")
    db.dispose()
    with live_server(fresh_database_url, tmp_path) as live:
        yield live


def _state(server: LiveServer, title: str) -> tuple[str, list[tuple[str | None, str]]]:
    with server.database.unit_of_work() as session:
        opportunity = session.scalars(select(Opportunity).where(Opportunity.title == title)).one()
        keys = {i: k for i, k in session.execute(select(PipelineStage.id, PipelineStage.key))}
        moves = session.scalars(
            select(OpportunityStageChange)
            .where(OpportunityStageChange.opportunity_id == opportunity.id)
            .order_by(OpportunityStageChange.id)
        ).all()
        history = [(keys.get(m.from_stage_id or 0), keys[m.to_stage_id]) for m in moves]
        return keys[opportunity.stage_id], history


def _column(page, key_label: str):  # type: ignore[no-untyped-def]
    return page.locator("[data-column]").filter(
        has=page.get_by_role("heading", name=key_label, exact=True)
    )


def test_drag_a_card_with_the_mouse(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    page = browser.new_page(locale="en-US")
    _sign_in(page, server)
    page.goto(server.url + "/sales/pipeline")
    card = _column(page, "Lead").locator("[data-card]", has_text="鼠标拖动的机会")
    target = _column(page, "Proposal")
    start = card.locator(".pipeline-card-meta").first.bounding_box()
    end = target.bounding_box()
    assert start and end

    page.mouse.move(start["x"] + 10, start["y"] + 5)
    page.mouse.down()
    page.mouse.move(start["x"] + 40, start["y"] + 20, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 80, steps=12)
    assert page.locator(".pipeline-ghost").count() == 1  # the card follows the pointer
    page.mouse.up()
    page.locator("[data-board-status]").filter(has_text="Moved.").wait_for()

    page.reload()
    assert _column(page, "Proposal").get_by_role("link", name="鼠标拖动的机会").is_visible()
    assert _column(page, "Lead").get_by_role("link", name="鼠标拖动的机会").count() == 0
    proposal_totals = _column(page, "Proposal").locator("[data-count]").inner_text()
    assert proposal_totals == "1"
    stage, history = _state(server, "鼠标拖动的机会")
    assert stage == "proposal"
    assert history == [(None, "lead"), ("lead", "proposal")]


def test_drag_a_card_by_touch(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, has_touch=True, locale="en-US"
    )
    page = context.new_page()
    _sign_in(page, server)
    page.goto(server.url + "/sales/pipeline")
    handle = (
        _column(page, "Lead")
        .locator("[data-card]", has_text="手指拖动的机会")
        .locator("[data-drag-handle]")
    )
    start = handle.bounding_box()
    end = _column(page, "Negotiation").bounding_box()
    assert start and end
    # real touch input through the DevTools protocol: Chromium turns it into pointer events of
    # type "touch", exactly as a finger on a phone does
    cdp = context.new_cdp_session(page)
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    tx, ty = end["x"] + end["width"] / 2, end["y"] + 80
    for step in range(1, 13):
        point = {"x": x + (tx - x) * step / 12, "y": y + (ty - y) * step / 12}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.locator("[data-board-status]").filter(has_text="Moved.").wait_for()

    page.reload()
    assert _column(page, "Negotiation").get_by_role("link", name="手指拖动的机会").is_visible()
    stage, history = _state(server, "手指拖动的机会")
    assert stage == "negotiation"
    assert history[-1] == ("lead", "negotiation") and len(history) == 2
    context.close()
