"""The customer list page as a browser uses it: filters in the URL, visibility, sorting, pages,
bulk actions on a selection, and the top bar's search box."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.customers import list_pages
from guanxi.customers.models import Customer
from tests.conftest import PASSWORD, People, Person
from tests.web.forms import csrf_from, sign_in

_ROW_NAME = re.compile(r'<td class="name-cell"><a href="/customers/(\d+)">([^<]*)</a></td>')
_NEXT = re.compile(r'<a class="button secondary" href="([^"]+)">Next page')


def _customer(client: TestClient, headers: dict[str, str], **fields: object) -> int:
    reply = client.post("/api/v1/customers", json=fields, headers=headers)
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def _names(page: str) -> list[str]:
    return [html.unescape(name) for _id, name in _ROW_NAME.findall(page)]


def _total(page: str) -> int:
    match = re.search(r'data-total="(\d+)"', page)
    assert match, "the list shows no total"
    return int(match.group(1))


def _next_url(page: str) -> str | None:
    match = _NEXT.search(page)
    return html.unescape(match.group(1)) if match else None


def _two_teams(client: TestClient, people: People) -> tuple[Person, dict[str, int]]:
    """A sales rep of team A with three customers, and team B's rep with one of their own."""
    team_a, team_b = people.team("A"), people.team("B")
    mine = people.user("sales", team=team_a)
    theirs = people.token(people.user("sales", team=team_b))
    headers = people.token(mine)
    ids = {
        "张伟": _customer(
            client,
            headers,
            name="张伟",
            city="上海",
            phones=["138 0013 8000"],
            emails=["zhang.wei@example.com"],
            tags=["VIP"],
        ),
        "王芳": _customer(client, headers, name="王芳", city="北京", company="华为技术"),
        "Acme": _customer(
            client, headers, name="Acme Trading", kind="organisation", customer_type="distributor"
        ),
        "张敏": _customer(
            client, theirs, name="张敏", city="上海", phones=["13800138001"], tags=["VIP"]
        ),
    }
    sign_in(client, mine.username, PASSWORD)
    return mine, ids


def test_list_shows_only_the_users_customers_and_filters_them(client: TestClient, people: People):
    _two_teams(client, people)
    page = client.get("/customers")
    assert page.status_code == 200
    assert sorted(_names(page.text)) == sorted(["张伟", "王芳", "Acme Trading"])
    assert _total(page.text) == 3
    assert "张敏" not in page.text  # team B's customer, though in the same city with the same tag
    # labels of kind and type, the first phone and e-mail, the tags
    assert "Organisation" in page.text and "Distributor" in page.text
    assert (
        "138 0013 8000" in page.text and "zhang.wei@example.com" in page.text
    )  # as written at home
    assert '<span class="badge">VIP</span>' in page.text

    def names(**params: str) -> list[str]:
        reply = client.get("/customers", params=params)
        assert reply.status_code == 200, reply.text
        assert _total(reply.text) == len(_names(reply.text))
        return sorted(_names(reply.text))

    assert names(q="张") == ["张伟"]  # never 张敏, search goes through visibility too
    assert names(q="华为") == ["王芳"]  # a company fragment
    assert names(q="0013 8000") == ["张伟"]  # a phone fragment, as people type it
    assert names(q="13800138001") == []  # team B's number
    assert names(city="上海") == ["张伟"]
    assert names(tag="VIP") == ["张伟"]
    assert names(kind="organisation") == ["Acme Trading"]
    assert names(city="上海", tag="VIP", q="伟") == ["张伟"]
    assert names(city="深圳") == []
    assert "No customers match these filters." in client.get("/customers?city=深圳").text


def test_the_filter_form_keeps_the_filters_and_links_keep_them(client: TestClient, people: People):
    _two_teams(client, people)
    page = client.get("/customers", params={"city": "上海", "tag": "VIP", "q": "张"}).text
    assert 'name="city" value="上海"' in page
    assert '<option value="VIP" selected>' in page
    # export offers the same selection; the other actions are one click away
    assert 'href="/customers/export?city=%E4%B8%8A%E6%B5%B7&amp;tag=VIP&amp;q=%E5%BC%A0"' in page
    for link in (
        'href="/customers/new"',
        'href="/customers/import"',
        'href="/customers/duplicates"',
    ):
        assert link in page
    # the bulk form returns to this very list
    assert 'name="back" value="city=%E4%B8%8A%E6%B5%B7&amp;tag=VIP&amp;q=%E5%BC%A0"' in page


def test_sorting_by_name_and_paging_with_the_cursor(client: TestClient, people: People):
    rep = people.user("sales")
    headers = people.token(rep)
    for name in ("Bravo", "Delta", "Alpha", "Charlie", "Echo"):
        _customer(client, headers, name=name)
    sign_in(client, rep.username, PASSWORD)

    first = client.get("/customers", params={"sort": "name", "order": "asc", "limit": "2"}).text
    assert _names(first) == ["Alpha", "Bravo"] and _total(first) == 5
    assert 'aria-sort="ascending"' in first
    # the header link flips the order, keeping the page size and dropping the cursor
    assert 'href="/customers?sort=name&amp;order=desc&amp;limit=2"' in first
    second_url = _next_url(first)
    assert second_url is not None and "cursor=" in second_url
    second = client.get(second_url).text
    assert _names(second) == ["Charlie", "Delta"] and _total(second) == 5
    assert "First page" in second
    third = client.get(_next_url(second) or "").text
    assert _names(third) == ["Echo"] and _next_url(third) is None

    backwards = client.get("/customers", params={"sort": "name", "order": "desc"}).text
    assert _names(backwards) == ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]


def test_bad_filters_are_explained_not_a_server_error(client: TestClient, people: People):
    rep = people.user("sales")
    sign_in(client, rep.username, PASSWORD)
    for params, message in (
        ({"owner_id": "abc"}, "owner_id must be a whole number."),
        ({"created_from": "yesterday"}, "Write dates as 2026-11-23."),
        ({"sort": "password"}, "Customers cannot be sorted by password."),
        ({"order": "sideways"}, "The order must be asc or desc."),
        ({"cursor": "not-a-cursor"}, "The cursor is not one this server issued."),
        ({"limit": "0"}, "The limit must be between 1 and 200."),
    ):
        reply = client.get("/customers", params=params)
        assert reply.status_code == 400, (params, reply.status_code)
        assert message in reply.text, params
        assert 'action="/customers"' in reply.text  # the filters are there to correct


def _bulk(client: TestClient, data: dict[str, object], back: str = ""):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/customers").text)
    return client.post(
        "/customers/bulk",
        data={**data, "back": back, "csrf_token": token},
        follow_redirects=False,
    )


def _tags(session: Session, customer_id: int) -> list[str]:
    session.expire_all()
    customer = session.get(Customer, customer_id)
    assert customer is not None
    return [t.name for t in customer.tags]


def test_bulk_tagging_changes_only_visible_customers_and_is_audited(
    client: TestClient, people: People, session: Session
):
    rep, ids = _two_teams(client, people)
    chosen = [ids["张伟"], ids["王芳"], ids["张敏"]]  # the last is team B's: never changed
    reply = _bulk(client, {"action": "tag", "tag": "重点客户", "ids": chosen}, back="city=上海")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/customers?city=%E4%B8%8A%E6%B5%B7"
    assert _tags(session, ids["张伟"]) == ["VIP", "重点客户"]
    assert _tags(session, ids["王芳"]) == ["重点客户"]
    assert _tags(session, ids["张敏"]) == ["VIP"]
    back = client.get(reply.headers["location"]).text
    assert "Customers changed: 2 of 3 selected." in back

    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "customer",
            AuditEntry.action == "update",
            AuditEntry.entity_id.in_([str(i) for i in chosen]),
        )
    ).all()
    assert {e.entity_id for e in entries} == {str(ids["张伟"]), str(ids["王芳"])}
    assert all(e.actor_username == rep.username for e in entries)
    assert all("重点客户" in e.changes["tags"]["after"] for e in entries)

    # the list shows the new tag, and filters by it
    assert sorted(_names(client.get("/customers", params={"tag": "重点客户"}).text)) == [
        "张伟",
        "王芳",
    ]

    reply = _bulk(client, {"action": "untag", "tag": "重点客户", "ids": [ids["张伟"]]})
    assert reply.status_code == 303 and reply.headers["location"] == "/customers"
    assert _tags(session, ids["张伟"]) == ["VIP"]
    assert _tags(session, ids["王芳"]) == ["重点客户"]


def test_bulk_actions_refuse_what_they_cannot_do(
    client: TestClient, people: People, session: Session
):
    _rep, ids = _two_teams(client, people)
    # nothing selected, or no tag named: nothing happens, and the list says why
    reply = _bulk(client, {"action": "tag", "tag": "X"})
    assert "Select at least one customer first." in client.get(reply.headers["location"]).text
    reply = _bulk(client, {"action": "tag", "tag": " ", "ids": [ids["张伟"]]})
    assert "Name the tag to add or remove." in client.get(reply.headers["location"]).text
    assert _tags(session, ids["张伟"]) == ["VIP"]
    # only team B's customer selected: nothing changes
    reply = _bulk(client, {"action": "tag", "tag": "偷看", "ids": [ids["张敏"]]})
    assert "Customers changed: 0 of 1 selected." in client.get(reply.headers["location"]).text
    assert _tags(session, ids["张敏"]) == ["VIP"]
    # reassigning needs the "manage customers" permission, which sales reps do not have
    assert "Assign to owner" not in client.get("/customers").text
    owner = session.get(Customer, ids["张伟"]).owner_id  # type: ignore[union-attr]
    reply = _bulk(client, {"action": "assign", "owner_id": "1", "ids": [ids["张伟"]]})
    assert reply.status_code == 403
    assert session.get(Customer, ids["张伟"]).owner_id == owner  # type: ignore[union-attr]
    # without the form's CSRF token nothing is done
    refused = client.post(
        "/customers/bulk", data={"action": "tag", "tag": "Z", "ids": [ids["张伟"]]}
    )
    assert refused.status_code == 403 and _tags(session, ids["张伟"]) == ["VIP"]


def test_a_manager_reassigns_a_selection(client: TestClient, people: People, session: Session):
    team = people.team("East")
    manager = people.user("manager", team=team)
    rep = people.user("sales", team=team)
    outsider = people.user("sales", team=people.team("West"))
    headers = people.token(rep)
    first = _customer(client, headers, name="甲")
    second = _customer(client, headers, name="乙")
    hidden = _customer(client, people.token(outsider), name="丙")
    sign_in(client, manager.username, PASSWORD)
    page = client.get("/customers").text
    assert "Assign to owner" in page
    # the owners offered are the manager's team, not the other team's rep
    assert f'<option value="{rep.user.id}">' in page
    assert f'<option value="{outsider.user.id}">' not in page
    reply = _bulk(
        client,
        {"action": "assign", "owner_id": str(manager.user.id), "ids": [first, second, hidden]},
    )
    assert reply.status_code == 303
    assert "Customers changed: 2 of 3 selected." in client.get(reply.headers["location"]).text
    session.expire_all()
    assert [session.get(Customer, i).owner_id for i in (first, second, hidden)] == [  # type: ignore[union-attr]
        manager.user.id,
        manager.user.id,
        outsider.user.id,
    ]
    # handing customers to someone out of the manager's sight is refused, as through the API
    reply = _bulk(client, {"action": "assign", "owner_id": str(outsider.user.id), "ids": [first]})
    assert (
        "You may hand records only to people whose records you can see."
        in client.get(reply.headers["location"]).text
    )
    api = client.post(
        "/api/v1/customers/bulk/assign",
        json={"customer_ids": [first], "owner_id": outsider.user.id},
        headers=people.token(manager),
    )
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "owner_id"
    moved = client.patch(
        f"/api/v1/customers/{first}",
        json={"owner_id": outsider.user.id},
        headers={**people.token(manager), "If-Match": '"2"'},
    )
    assert moved.status_code == 422, moved.text
    # an unknown owner is refused with the reason, and nothing changes
    reply = _bulk(client, {"action": "assign", "owner_id": "999999", "ids": [first]})
    assert "The owner must be an active user." in client.get(reply.headers["location"]).text
    session.expire_all()
    assert session.get(Customer, first).owner_id == manager.user.id  # type: ignore[union-attr]


def test_the_search_box_is_in_the_top_bar_and_its_api_answers_the_page_session(
    client: TestClient, people: People
):
    _two_teams(client, people)
    home = client.get("/").text
    assert '<form class="global-search" method="get" action="/customers"' in home
    assert '<script src="/static/customers/customer_search.js" defer></script>' in home
    script = client.get("/static/customers/customer_search.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    # the script's request: the session cookie alone signs it in, visibility applies
    found = client.get("/api/v1/customers", params={"q": "张", "limit": "8"})
    assert found.status_code == 200
    assert [c["name"] for c in found.json()["items"]] == ["张伟"]


def test_users_who_cannot_read_customers_get_no_search_box(client: TestClient, people: People):
    admin_only = people.user("admin")
    sign_in(client, admin_only.username, PASSWORD)
    assert "global-search" in client.get("/").text  # admins read customers
    client.cookies.clear()
    assert client.get("/customers", follow_redirects=False).status_code == 303  # to sign in
    assert "global-search" not in client.get("/login").text


def test_large_lists_say_more_than_instead_of_counting_everything(
    client: TestClient, people: People, monkeypatch: pytest.MonkeyPatch
):
    _two_teams(client, people)  # the signed-in rep sees three customers
    monkeypatch.setattr(list_pages, "COUNT_CAP", 2)
    page = client.get("/customers").text
    assert "More than 2" in page and _total(page) == 3
    monkeypatch.setattr(list_pages, "COUNT_CAP", 3)
    page = client.get("/customers").text
    assert "Total: 3" in page and "More than" not in page
