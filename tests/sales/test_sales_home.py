"""The sales area's landing page links only to what the viewer's role may read."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, People
from tests.web.forms import sign_in


def test_sales_rep_sees_every_sales_page(client: TestClient, people: People):
    rep = people.user("sales")
    sign_in(client, rep.username, PASSWORD)
    page = client.get("/sales")
    assert page.status_code == 200
    for href in ("/sales/pipeline", "/sales/orders", "/sales/contracts", "/sales/products"):
        assert f'href="{href}"' in page.text


def test_marketing_sees_the_catalogue_but_not_orders_or_the_pipeline(
    client: TestClient, people: People
):
    sign_in(client, people.user("marketing").username, PASSWORD)
    page = client.get("/sales")
    assert page.status_code == 200
    assert 'href="/sales/products"' in page.text
    assert 'href="/sales/orders"' not in page.text
    assert 'href="/sales/pipeline"' not in page.text


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient):
    reply = client.get("/sales", follow_redirects=False)
    assert reply.status_code in (302, 303, 401)
