"""The customers API: the fixed create/search interface, filters, ETags, consent, visibility."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import People


def test_create_takes_name_phones_and_emails(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    reply = client.post(
        "/api/v1/customers",
        json={"name": "张伟", "phones": ["138 0013 8000"], "emails": ["Zhang.Wei@Example.COM"]},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["phones"] == [{"number": "+8613800138000", "label": "mobile"}]
    assert body["emails"] == [{"address": "zhang.wei@example.com", "label": "work"}]
    assert reply.headers["etag"] == 'W/"1"'


def test_phone_forms_all_find_the_same_customer(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    client.post(
        "/api/v1/customers", json={"name": "李娜", "phones": ["13800138000"]}, headers=headers
    )
    for form in ("138 0013 8000", "+86 13800138000", "13800138000", "0013 8000"):
        found = client.get("/api/v1/customers", params={"q": form}, headers=headers).json()
        assert [c["name"] for c in found["items"]] == ["李娜"], form


def test_search_by_chinese_and_english_fragments(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    for name, company in (
        ("张伟", "华为技术"),
        ("张伟明", ""),
        ("王芳", "Alibaba Group"),
        ("Zhang Wei", "Acme Trading"),
    ):
        client.post("/api/v1/customers", json={"name": name, "company": company}, headers=headers)

    def names(q: str) -> set[str]:
        reply = client.get("/api/v1/customers", params={"q": q}, headers=headers)
        assert reply.status_code == 200, reply.text
        return {c["name"] for c in reply.json()["items"]}

    assert names("张伟") == {"张伟", "张伟明"}
    assert names("伟明") == {"张伟明"}
    assert names("张") == {"张伟", "张伟明"}
    assert names("华为") == {"张伟"}
    assert names("张伟明") == {"张伟明"}
    assert names("zhang") == {"Zhang Wei"}
    assert names("ali") == {"王芳"}
    assert names("zh") == {"Zhang Wei"}
    assert names("nobody") == set()


def test_invalid_phone_is_a_field_error(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    reply = client.post("/api/v1/customers", json={"name": "X", "phones": ["12"]}, headers=headers)
    assert reply.status_code == 422
    assert any(e["field"].startswith("body.phones.0") for e in reply.json()["errors"])


def test_filters_combine(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    client.post(
        "/api/v1/customers", json={"name": "A", "city": "上海", "tags": ["VIP"]}, headers=headers
    )
    client.post("/api/v1/customers", json={"name": "B", "city": "上海"}, headers=headers)
    client.post(
        "/api/v1/customers", json={"name": "C", "city": "北京", "tags": ["VIP"]}, headers=headers
    )
    found = client.get(
        "/api/v1/customers", params={"city": "上海", "tag": "VIP"}, headers=headers
    ).json()
    assert [c["name"] for c in found["items"]] == ["A"]
    by_name = client.get(
        "/api/v1/customers", params={"sort": "name", "order": "asc", "limit": 2}, headers=headers
    ).json()
    assert [c["name"] for c in by_name["items"]] == ["A", "B"]
    rest = client.get(
        "/api/v1/customers",
        params={"sort": "name", "order": "asc", "limit": 2, "cursor": by_name["next_cursor"]},
        headers=headers,
    ).json()
    assert [c["name"] for c in rest["items"]] == ["C"]


def test_update_with_stale_etag_is_refused(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    created = client.post("/api/v1/customers", json={"name": "Wang"}, headers=headers)
    url = f"/api/v1/customers/{created.json()['id']}"
    etag = created.headers["etag"]
    assert (
        client.patch(url, json={"city": "杭州"}, headers={**headers, "If-Match": etag}).status_code
        == 200
    )
    stale = client.patch(url, json={"city": "苏州"}, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(url, headers=headers).json()["city"] == "杭州"


def test_tag_only_change_bumps_the_version(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    created = client.post("/api/v1/customers", json={"name": "Tagged"}, headers=headers).json()
    changed = client.patch(
        f"/api/v1/customers/{created['id']}", json={"tags": ["VIP"]}, headers=headers
    ).json()
    assert changed["tags"] == ["VIP"] and changed["version"] == created["version"] + 1


def test_consent_ledger_fixed_interface(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    customer = client.post("/api/v1/customers", json={"name": "Consenting"}, headers=headers).json()
    url = f"/api/v1/customers/{customer['id']}/consents"
    assert client.get(url, headers=headers).json() == {}
    granted = client.post(
        url,
        json={"purpose": "marketing_email", "granted": True, "source": "web form"},
        headers=headers,
    )
    assert granted.status_code == 201
    assert granted.json()["marketing_email"]["granted"] is True
    client.post(
        url,
        json={"purpose": "marketing_email", "granted": False, "source": "phone call"},
        headers=headers,
    )
    state = client.get(url, headers=headers).json()
    assert state["marketing_email"]["granted"] is False
    assert state["marketing_email"]["source"] == "phone call"
    history = client.get(url + "/history", headers=headers).json()
    assert [h["granted"] for h in history] == [False, True]


def test_other_teams_customers_are_not_found(client: TestClient, people: People):
    mine = people.token(people.user("sales"))
    theirs = people.token(people.user("sales"))
    created = client.post(
        "/api/v1/customers", json={"name": "Secret", "phones": ["13900000001"]}, headers=mine
    ).json()
    url = f"/api/v1/customers/{created['id']}"
    assert client.get(url, headers=theirs).status_code == 404
    assert client.patch(url, json={"name": "x"}, headers=theirs).status_code == 404
    other_manager = people.token(people.user("manager", team=people.team()))
    assert client.delete(url, headers=other_manager).status_code == 404
    assert (
        client.get("/api/v1/customers", params={"q": "Secret"}, headers=theirs).json()["items"]
        == []
    )
    assert (
        client.get("/api/v1/customers", params={"q": "13900000001"}, headers=theirs).json()["items"]
        == []
    )
    bulk = client.post(
        "/api/v1/customers/bulk/tags",
        json={"customer_ids": [created["id"]], "tags": ["x"]},
        headers=theirs,
    )
    assert bulk.json()["changed"] == 0
