"""In Chromium at phone width: a customer opens their sign-in link, presses the button, changes
their city, withdraws a consent, reads their orders and opens a request, every page fitting the
screen without sideways scrolling; the portal speaks Chinese after the language switch."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from guanxi import crypto, schema
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.config import Settings
from guanxi.customers import consent
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.customers.schemas import ConsentIn, CustomerCreate
from guanxi.db import Database, utcnow
from guanxi.sales.orders import service as order_service
from guanxi.sales.orders.schemas import OrderCreate, OrderLineIn
from guanxi.service_desk.models import PortalLoginLink
from guanxi.service_desk.portal import auth
from tests.web.live import LiveServer, live_server

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@dataclass
class Portal:
    server: LiveServer
    token: str
    customer_id: int


@pytest.fixture
def portal(fresh_database_url: str, tmp_path: Path) -> Iterator[Portal]:
    db = Database(fresh_database_url)
    schema.upgrade(db)
    crypto.configure(Settings(data_dir=tmp_path, secret_key="browser-test-secret-key-long-enough"))
    token = secrets.token_urlsafe(32)
    with db.unit_of_work() as session:
        seller = auth_service.create_user(
            session=session,
            user_in=UserCreate(username="seller", password="correct horse battery", role="sales"),
        )
        buyer = customer_service.create(
            session=session,
            actor=seller,
            customer_in=CustomerCreate(
                name="欧阳娜娜", city="北京", emails=["ouyang@example.com"], phones=["13912345678"]
            ),
        )
        consent.record(
            session=session,
            actor=seller,
            customer=buyer,
            consent_in=ConsentIn(purpose="marketing_email", granted=True, source="web_form"),
        )
        order_service.create(
            session=session,
            actor=seller,
            order_in=OrderCreate(
                customer_id=buyer.id,
                status="confirmed",
                lines=[
                    OrderLineIn(
                        description="变频空调 KFR-35GW 一级能效 冷暖两用 大一匹",
                        quantity=Decimal(2),
                        unit_price=Decimal("3299"),
                    )
                ],
            ),
        )
        session.add(
            PortalLoginLink(
                token_hash=auth.digest(token),
                customer_id=buyer.id,
                email_address="ouyang@example.com",
                expires_at=utcnow() + timedelta(minutes=30),
            )
        )
        customer_id = buyer.id
    with live_server(fresh_database_url, tmp_path) as server:
        yield Portal(server, token, customer_id)
    db.dispose()


def _fits(page) -> None:  # type: ignore[no-untyped-def]
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def test_a_customer_uses_the_portal_on_a_phone(browser, portal: Portal) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    base = portal.server.url

    page.goto(f"{base}/portal/login/{portal.token}")
    _fits(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/portal")
    assert "欧阳娜娜" in page.inner_text("h1")
    _fits(page)

    page.get_by_role("link", name="My details").first.click()
    page.fill("#f-city", "上海")
    _fits(page)
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Your details were saved.")
    with portal.server.database.sessions() as session:
        record = session.get(Customer, portal.customer_id)
        assert record is not None and record.city == "上海"

    page.goto(f"{base}/portal/consents")
    _fits(page)
    page.locator('[data-purpose="marketing_email"] button').click()
    page.wait_for_selector("text=Your consent was withdrawn.")
    with portal.server.database.sessions() as session:
        assert consent.granted_ids(session=session, purpose="marketing_email") == set()

    page.goto(f"{base}/portal/orders")
    assert page.locator("[data-order]").count() == 1
    _fits(page)

    page.goto(f"{base}/portal/tickets/new")
    page.get_by_label("Complaint").check()
    page.fill("#f-subject", "空调外机噪音很大")
    page.fill("#f-description", "晚上影响休息。")
    _fits(page)
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector("text=空调外机噪音很大")
    _fits(page)

    page.select_option("#language-select", "zh_CN")
    page.wait_for_selector("text=沟通记录")
    assert page.get_by_role("link", name="我的资料").count() == 1
    _fits(page)
    context.close()
