"""The duplicates, merge, personal-data and erasure pages, as a browser uses them."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from guanxi.customers.models import Customer
from tests.conftest import PASSWORD, People
from tests.web.forms import csrf_from, sign_in


def _customer(client: TestClient, headers: dict[str, str], **fields: object) -> int:
    reply = client.post("/api/v1/customers", json=fields, headers=headers)
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def test_duplicates_page_links_to_a_side_by_side_merge(
    client: TestClient, people: People, session: Session
):
    manager = people.user("manager", team=people.team())
    headers = people.token(manager)
    first = _customer(
        client, headers, name="刘洋", city="成都", phones=["13700001111"], industry="零售"
    )
    second = _customer(
        client,
        headers,
        name="刘 洋",
        city="成都",
        phones=["137 0000 1111"],
        emails=["liu@example.com"],
    )
    sign_in(client, manager.username, PASSWORD)
    page = client.get("/customers/duplicates").text
    assert f"/customers/merge?a={first}&amp;b={second}" in page
    merge_page = client.get(f"/customers/merge?a={first}&b={second}")
    assert merge_page.status_code == 200
    # the names differ, so the user chooses; the industry is only on one side, so it is kept
    assert 'name="choice.name"' in merge_page.text and "零售" in merge_page.text
    reply = client.post(
        "/customers/merge",
        data={
            "csrf_token": csrf_from(merge_page.text),
            "survivor_id": str(first),
            "other_id": str(second),
            "choice.name": "other",
        },
        follow_redirects=False,
    )
    assert reply.status_code == 303 and reply.headers["location"] == f"/customers/{first}"
    session.expire_all()
    survivor = session.get(Customer, first)
    assert survivor.name == "刘 洋" and [e.address for e in survivor.emails] == ["liu@example.com"]
    assert session.get(Customer, second).merged_into_id == first


def test_stale_merge_is_refused_on_the_page(client: TestClient, people: People):
    manager = people.user("manager", team=people.team())
    headers = people.token(manager)
    first = _customer(client, headers, name="A")
    second = _customer(client, headers, name="B")
    sign_in(client, manager.username, PASSWORD)
    page = client.get(f"/customers/merge?a={first}&b={second}").text
    client.patch(f"/api/v1/customers/{first}", json={"city": "x"}, headers=headers)
    reply = client.post(
        "/customers/merge",
        data={
            "csrf_token": csrf_from(page),
            "survivor_id": str(first),
            "other_id": str(second),
            "survivor_version": "1",
            "other_version": "1",
        },
    )
    assert reply.status_code == 422 and "changed since you loaded it" in reply.text


def test_personal_data_download_and_erasure_from_the_pages(
    client: TestClient, people: People, session: Session
):
    manager = people.user("manager", team=people.team())
    headers = people.token(manager)
    customer = _customer(client, headers, name="周杰", phones=["13600002222"])
    sign_in(client, manager.username, PASSWORD)
    download = client.get(f"/customers/{customer}/personal-data")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    assert json.loads(download.text)["profile"]["name"] == "周杰"
    token = csrf_from(client.get("/").text)
    reply = client.post(
        f"/customers/{customer}/erase", data={"csrf_token": token}, follow_redirects=False
    )
    assert reply.status_code == 303
    session.expire_all()
    assert session.get(Customer, customer).name == f"#{customer}"


def test_sales_users_cannot_merge_or_erase_on_pages(client: TestClient, people: People):
    sales = people.user("sales")
    headers = people.token(sales)
    customer = _customer(client, headers, name="Own")
    sign_in(client, sales.username, PASSWORD)
    assert client.get(f"/customers/merge?a={customer}").status_code == 403
    token = csrf_from(client.get("/").text)
    assert (
        client.post(f"/customers/{customer}/erase", data={"csrf_token": token}).status_code == 403
    )


def test_other_teams_customers_are_not_found_on_record_pages(client: TestClient, people: People):
    theirs = people.token(people.user("manager", team=people.team()))
    hidden = _customer(client, theirs, name="Hidden", phones=["13500003333"])
    me = people.user("manager", team=people.team())
    sign_in(client, me.username, PASSWORD)
    assert client.get(f"/customers/{hidden}/personal-data").status_code == 404
    assert client.get(f"/customers/merge?a={hidden}").status_code == 404
    assert "Hidden" not in client.get("/customers/duplicates").text
