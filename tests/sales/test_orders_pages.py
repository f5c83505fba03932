"""The order pages: list with URL filters, the new-order form (values kept on an error), the
record page's totals and its invoice, shipment, return and status forms, roles and visibility."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, People
from tests.sales.orders_support import create_order, customer, post, product
from tests.web.forms import csrf_from, sign_in, submit


def _line_form(**rows: list[str]) -> dict[str, list[str]]:
    return {f"line_{key}": values for key, values in rows.items()}


def test_new_order_form_keeps_everything_on_an_error_then_saves(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    tea = product(session, price="19.99", cost="12.50", name="龙井礼盒")
    buyer = customer(session, rep.user, name="西湖茶庄")
    sign_in(client, rep.username, PASSWORD)
    form = client.get(f"/sales/orders/new?customer_id={buyer}")
    assert form.status_code == 200 and "西湖茶庄" in form.text and "龙井礼盒" in form.text

    data = {
        "customer_id": str(buyer),
        "channel": "phone",
        "notes": "送货前电话联系",
        **_line_form(
            product=[str(tea.id), ""],
            sku=["", ""],
            description=["", "定制包装"],
            quantity=["3", "abc"],
            price=["", "15.00"],
            discount=["6.00", ""],
        ),
        "status": "confirmed",
    }
    refused = submit(client, "/sales/orders/new", "/sales/orders/new", data)
    assert refused.status_code == 422
    page = refused.text
    assert "送货前电话联系" in page and "定制包装" in page and 'value="abc"' in page
    assert 'value="6.00"' in page and 'value="15.00"' in page
    assert re.search(r'<option value="phone"\s+selected', page)
    assert 'id="e-line_quantity.1"' in page  # the error sits at the second row's quantity

    data["line_quantity"] = ["3", "2"]
    saved = submit(client, "/sales/orders/new", "/sales/orders/new", data)
    assert saved.status_code == 303, saved.text
    record = client.get(saved.headers["location"])
    assert record.status_code == 200
    assert 'data-status="confirmed"' in record.text
    assert "¥83.97" in record.text  # 59.97 - 6.00 + 30.00
    assert "西湖茶庄" in record.text


def test_service_refusals_land_on_the_row_they_name(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    buyer = customer(session, rep.user)
    sign_in(client, rep.username, PASSWORD)
    data = {
        "customer_id": str(buyer),
        "channel": "store",
        **_line_form(
            product=[""],
            sku=["NO-SUCH"],
            description=[""],
            quantity=["1"],
            price=[""],
            discount=[""],
        ),
    }
    refused = submit(client, "/sales/orders/new", "/sales/orders/new", data)
    assert refused.status_code == 422
    assert 'id="e-line_price.0"' in refused.text and 'value="NO-SUCH"' in refused.text
    hidden = submit(
        client, "/sales/orders/new", "/sales/orders/new", {**data, "customer_id": "999999"}
    )
    assert hidden.status_code == 422 and 'id="e-customer_id"' in hidden.text


def test_record_page_records_invoice_shipment_and_return(
    client: TestClient, people: People, session: Session
):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user)
    order = create_order(
        client,
        api,
        buyer,
        [
            {"description": "茶叶", "quantity": "3", "unit_price": "19.99", "unit_cost": "12.50"},
            {"description": "茶杯", "quantity": "2", "unit_price": "5.00", "unit_cost": "2.00"},
        ],
        status="confirmed",
    )
    oid = order["id"]
    tea, cup = (line["id"] for line in order["lines"])
    url = f"/sales/orders/{oid}"
    sign_in(client, rep.username, PASSWORD)
    page = client.get(url).text
    assert f'name="ship_{tea}" inputmode="decimal" value="3"' in page  # prefilled: all left

    over = submit(client, url, f"{url}/invoices", {"amount": "80.00"})
    assert over.status_code == 422 and 'id="e-amount"' in over.text and 'value="80.00"' in over.text
    assert submit(client, url, f"{url}/invoices", {"amount": "20.00"}).status_code == 303
    too_many = submit(client, url, f"{url}/shipments", {f"ship_{tea}": "4", f"ship_{cup}": "1"})
    assert too_many.status_code == 422
    assert f'id="e-ship_{tea}"' in too_many.text and 'value="4"' in too_many.text
    shipped = submit(
        client, url, f"{url}/shipments", {f"ship_{tea}": "3", f"ship_{cup}": "0", "carrier": "顺丰"}
    )
    assert shipped.status_code == 303
    page = client.get(url).text
    assert 'data-status="confirmed"' in page and "顺丰" in page
    assert '<td class="num" data-shipped>3</td>' in page

    returned = submit(client, url, f"{url}/returns", {f"return_{tea}": "1", "reason": "破损"})
    assert returned.status_code == 303
    page = client.get(url).text
    assert re.search(r'data-total="refunded">[^<]*¥19\.99</dd>', page)
    assert re.search(r'data-total="cost">[^<]*¥29\.00</dd>', page)  # 37.50 + 4.00 - 12.50
    assert re.search(r'data-total="margin">[^<]*¥20\.98</dd>', page)  # 69.97 - 19.99 - 29.00
    assert "破损" in page
    nothing = submit(client, url, f"{url}/returns", {f"return_{tea}": ""})
    assert nothing.status_code == 422


def test_status_buttons_follow_the_order_and_the_role(
    client: TestClient, people: People, session: Session
):
    team = people.team("North")
    rep = people.user("sales", team=team)
    lead = people.user("manager", team=team)
    api = people.token(rep)
    buyer = customer(session, rep.user)
    order = create_order(
        client, api, buyer, [{"description": "A", "quantity": "1", "unit_price": "10"}]
    )
    url = f"/sales/orders/{order['id']}"
    sign_in(client, rep.username, PASSWORD)
    page = client.get(url).text
    assert f'action="{url}/confirm"' in page and f'action="{url}/delete"' not in page  # no delete
    assert (
        submit(client, url, f"{url}/confirm", {"version": str(order["version"])}).status_code == 303
    )
    page = client.get(url).text
    assert 'data-status="confirmed"' in page and f'action="{url}/confirm"' not in page
    assert f'action="{url}/cancel"' in page
    again = submit(client, url, f"{url}/confirm", {})
    assert again.status_code == 303  # refused: back to the record with the reason shown
    assert "Only a draft order can be confirmed." in client.get(url).text
    assert submit(client, url, f"{url}/cancel", {"reason": "客户改主意"}).status_code == 303
    assert 'data-status="cancelled"' in client.get(url).text

    draft = create_order(
        client, api, buyer, [{"description": "B", "quantity": "1", "unit_price": "1"}]
    )
    client.cookies.clear()
    sign_in(client, lead.username, PASSWORD)
    durl = f"/sales/orders/{draft['id']}"
    assert f'action="{durl}/delete"' in client.get(durl).text
    assert submit(client, durl, f"{durl}/delete", {}).status_code == 303
    assert client.get(durl).status_code == 404


def test_list_filters_sorts_and_pages(client: TestClient, people: People, session: Session):
    rep = people.user("sales")
    api = people.token(rep)
    buyer = customer(session, rep.user, name="宁波海味")
    other = customer(session, rep.user, name="温州鞋业")
    one = create_order(
        client,
        api,
        buyer,
        [{"description": "A", "quantity": "1", "unit_price": "5"}],
        channel="web",
        ordered_at="2026-03-01T08:00:00+08:00",
    )
    two = create_order(
        client,
        api,
        other,
        [{"description": "B", "quantity": "1", "unit_price": "50"}],
        status="confirmed",
        ordered_at="2026-05-01T08:00:00+08:00",
    )
    sign_in(client, rep.username, PASSWORD)
    page = client.get("/sales/orders").text
    assert page.index(two["number"]) < page.index(one["number"])  # newest first
    assert "宁波海味" in page and "温州鞋业" in page
    web = client.get("/sales/orders", params={"channel": "web"}).text
    assert one["number"] in web and two["number"] not in web
    confirmed = client.get("/sales/orders", params={"status": "confirmed"}).text
    assert two["number"] in confirmed and one["number"] not in confirmed
    by_customer = client.get("/sales/orders", params={"customer_id": buyer}).text
    assert one["number"] in by_customer and two["number"] not in by_customer
    april = client.get(
        "/sales/orders", params={"ordered_from": "2026-04-01", "ordered_to": "2026-05-01"}
    ).text
    assert two["number"] in april and one["number"] not in april
    cheap_first = client.get("/sales/orders", params={"sort": "total", "order": "asc"}).text
    assert cheap_first.index(one["number"]) < cheap_first.index(two["number"])
    paged = client.get("/sales/orders", params={"q": "SO-"})
    assert paged.status_code == 200
    bad = client.get("/sales/orders", params={"ordered_from": "yesterday"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    assert client.get("/sales/orders", params={"status": "lost"}).status_code == 400


def test_another_teams_order_is_out_of_reach_and_roles_are_checked(
    client: TestClient, people: People, session: Session
):
    east, west = people.team("East"), people.team("West")
    east_rep = people.user("sales", team=east)
    west_rep = people.user("sales", team=west)
    marketer = people.user("marketing")
    service = people.user("service")
    buyer = customer(session, east_rep.user)
    api = people.token(east_rep)
    order = create_order(
        client,
        api,
        buyer,
        [{"description": "A", "quantity": "2", "unit_price": "5"}],
        status="confirmed",
    )
    oid, line = order["id"], order["lines"][0]["id"]
    shipment = post(
        client,
        api,
        f"/api/v1/orders/{oid}/shipments",
        {"lines": [{"order_line_id": line, "quantity": "1"}]},
    ).json()
    invoice = post(client, api, f"/api/v1/orders/{oid}/invoices", {"amount": "1.00"}).json()

    other = people.token(west_rep)
    for path in (
        f"/api/v1/orders/{oid}",
        f"/api/v1/invoices/{invoice['id']}",
        f"/api/v1/shipments/{shipment['id']}",
        f"/api/v1/orders/{oid}/returns",
    ):
        assert client.get(path, headers=other).status_code == 404, path
    for action, body in (
        ("confirm", None),
        ("cancel", None),
        ("invoices", {}),
        ("shipments", {"lines": [{"order_line_id": line, "quantity": "1"}]}),
    ):
        assert post(client, other, f"/api/v1/orders/{oid}/{action}", body).status_code == 404, (
            action
        )
    assert (
        client.patch(f"/api/v1/orders/{oid}", json={"notes": "x"}, headers=other).status_code == 404
    )
    assert client.get("/api/v1/orders", headers=other).json()["items"] == []
    assert client.get("/api/v1/invoices", headers=other).json()["items"] == []
    assert client.get("/api/v1/shipments", headers=other).json()["items"] == []
    # nor may they order for a customer they cannot see
    refused = client.post(
        "/api/v1/orders",
        json={
            "customer_id": buyer,
            "lines": [{"description": "A", "quantity": "1", "unit_price": "1"}],
        },
        headers=other,
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "customer_id"

    # the service desk reads every order but changes none; marketing has no orders at all
    desk = people.token(service)
    assert client.get(f"/api/v1/orders/{oid}", headers=desk).status_code == 200
    assert (
        client.get(f"/api/v1/shipments/{shipment['id']}", headers=desk).json()["lines"][0][
            "quantity"
        ]
        == "1.000"
    )
    assert post(client, desk, f"/api/v1/orders/{oid}/cancel").status_code == 403
    market = people.token(marketer)
    for path in (
        "/api/v1/orders",
        f"/api/v1/orders/{oid}",
        "/api/v1/invoices",
        "/api/v1/shipments",
    ):
        assert client.get(path, headers=market).status_code == 403, path
    assert (
        client.post(
            "/api/v1/orders", json={"customer_id": buyer, "lines": []}, headers=market
        ).status_code
        == 403
    )

    sign_in(client, west_rep.username, PASSWORD)
    assert client.get(f"/sales/orders/{oid}").status_code == 404
    assert order["number"] not in client.get("/sales/orders").text
    token = csrf_from(client.get("/sales/orders").text)
    for action in ("confirm", "cancel", "invoices", "shipments", "returns"):
        reply = client.post(
            f"/sales/orders/{oid}/{action}", data={"csrf_token": token}, follow_redirects=False
        )
        assert reply.status_code == 404, action
    client.cookies.clear()
    sign_in(client, marketer.username, PASSWORD)
    assert client.get("/sales/orders").status_code == 403
    assert client.get("/sales/orders/new").status_code == 403
    assert client.get(f"/sales/orders/{oid}").status_code == 403
