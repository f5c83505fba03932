"""In Chromium: a shop page on another origin includes the snippet served by a live Guanxi; page
views with their dwell time and product views arrive (beacon and CORS fetch), all as one
visitor's session, and become the customer's once the shop's server identifies the visitor."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from guanxi import schema
from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import UserCreate
from guanxi.customers import service as customer_service
from guanxi.customers.schemas import CustomerCreate
from guanxi.db import Database
from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.models import WebEvent
from tests.conftest import PASSWORD
from tests.web.live import LiveServer, live_server

pytestmark = pytest.mark.browser

SHOP_HOME = """<!doctype html><html><head><meta charset="utf-8"><title>青山茶业</title></head><body>
<h1>青山茶业</h1><a id="go" href="/product.html">龙井</a>
{snippet}</body></html>"""
SHOP_PRODUCT = """<!doctype html><html><head><meta charset="utf-8"><title>西湖龙井</title>
<script>
window.guanxi = window.guanxi || function () {{ (guanxi.q = guanxi.q || []).push(arguments); }};
guanxi('product', {{sku: 'TEA-01'}});
</script></head>
<body><h1 data-guanxi-product="42" data-guanxi-sku="LJ-42">西湖龙井</h1>{snippet}</body></html>"""


@dataclass
class Shop:
    guanxi: LiveServer
    url: str
    key: str
    token: str
    customer_id: int


def _serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def shop(fresh_database_url: str, tmp_path: Path) -> Iterator[Shop]:
    site = tmp_path / "shop"
    site.mkdir()
    httpd, shop_url = _serve(site)
    db = Database(fresh_database_url)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        admin = auth_service.create_user(
            session=session, user_in=UserCreate(username="shop", password=PASSWORD, role="admin")
        )
        buyer = customer_service.create(
            session=session,
            actor=admin,
            customer_in=CustomerCreate(name="王小明", external_id="shop-7"),
        )
        key = events_settings.rotate_key(session)
        # the shop's pages are on their own origin; only it may send events from a browser
        events_settings.save(session, retention_days=365, allowed_origins=[shop_url])
        token = login.create_token(session=session, user=admin, name="shop", expires_in_days=1)
        customer_id = buyer.id
    db.dispose()
    try:
        with live_server(fresh_database_url, tmp_path / "data") as live:
            snippet = (
                f'<script src="{live.url}/static/interactions/guanxi-events.js" '
                f'data-endpoint="{live.url}/api/v1/events" data-key="{key}" async></script>'
            )
            (site / "index.html").write_text(SHOP_HOME.format(snippet=snippet), encoding="utf-8")
            (site / "product.html").write_text(
                SHOP_PRODUCT.format(snippet=snippet), encoding="utf-8"
            )
            yield Shop(live, shop_url, key, token.token, customer_id)
    finally:
        httpd.shutdown()


def _events(live: LiveServer, count: int) -> list[WebEvent]:
    """The stored events once there are at least ``count`` (beacons arrive a moment later)."""
    deadline = time.monotonic() + 15
    while True:
        with live.database.sessions() as session:
            found = list(session.scalars(select(WebEvent).order_by(WebEvent.id)))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_the_snippet_records_a_visit_and_the_login_links_it(browser, shop: Shop):  # type: ignore[no-untyped-def]
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(shop.url + "/index.html")
    page.wait_for_function("typeof window.guanxi === 'function'")
    page.wait_for_timeout(1200)  # a little time on the home page
    page.click("#go")  # leaving the page sends its view with the time spent, as a beacon
    page.wait_for_url("**/product.html")
    page.wait_for_function("typeof window.guanxi === 'function' && !window.guanxi.q")
    visitor = page.evaluate("guanxi('visitor')")
    # while the page is visible the queue goes with fetch: key in a header, CORS preflight
    page.evaluate("guanxi('flush')")
    arrived = _events(shop.guanxi, 3)
    assert {(e.kind, e.product_id, e.product_sku) for e in arrived} == {
        ("page_view", None, ""),
        ("product_view", 42, "LJ-42"),
        ("product_view", None, "TEA-01"),
    }
    # the fetch passed its CORS preflight (a beacon sent while leaving counts as aborted later)
    assert failed == []
    page.goto("about:blank")  # leaving the product page sends its view too

    stored = _events(shop.guanxi, 4)
    home, product_page = sorted(
        (e for e in stored if e.kind == "page_view"), key=lambda e: e.occurred_at
    )
    assert (home.url, home.title) == (shop.url + "/index.html", "青山茶业")
    assert home.dwell_seconds is not None and 1 <= home.dwell_seconds <= 10
    assert (product_page.url, product_page.title) == (shop.url + "/product.html", "西湖龙井")
    assert product_page.referrer == shop.url + "/index.html"
    assert {e.visitor_id for e in stored} == {visitor}
    assert len({e.session_id for e in stored}) == 1
    assert {e.customer_id for e in stored} == {None}

    # the visitor logs in at the shop; the shop's server tells Guanxi who it is
    reply = httpx2.post(
        shop.guanxi.url + "/api/v1/events/identify",
        json={"visitor_id": visitor, "customer_external_id": "shop-7"},
        headers={"Authorization": f"Bearer {shop.token}"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["linked_events"] == 4
    assert {e.customer_id for e in _events(shop.guanxi, 4)} == {shop.customer_id}
    page.close()
