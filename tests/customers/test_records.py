"""Duplicates, merging, encrypted identity numbers, personal-data export and erasure."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from guanxi.audit import service as audit_service
from guanxi.audit.models import AuditEntry
from guanxi.customers import consent
from guanxi.customers.models import Contact, Customer
from tests.conftest import People


def _create(client: TestClient, headers: dict[str, str], **fields: object) -> dict:
    reply = client.post("/api/v1/customers", json=fields, headers=headers)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_duplicates_by_phone_email_and_name_in_city(client: TestClient, people: People):
    headers = people.token(people.user("manager", team=people.team()))
    a = _create(client, headers, name="张伟", city="上海", phones=["13800138000"])
    b = _create(client, headers, name="张 伟", city="上海", phones=["+86 138 0013 8000"])
    c = _create(client, headers, name="Li Na", emails=["li.na@example.com"])
    d = _create(client, headers, name="Na Li", emails=["LI.NA@example.com"])
    _create(client, headers, name="张伟", city="北京")  # same name, other city: not a duplicate
    pairs = client.get("/api/v1/customers/duplicates", headers=headers).json()
    found = {(p["first"]["id"], p["second"]["id"]): set(p["reasons"]) for p in pairs}
    assert found == {(a["id"], b["id"]): {"phone", "name_city"}, (c["id"], d["id"]): {"email"}}


def test_similar_names_in_one_city_for_one_customer(client: TestClient, people: People):
    headers = people.token(people.user("manager", team=people.team()))
    one = _create(client, headers, name="王小明", city="杭州")
    two = _create(client, headers, name="王晓明", city="杭州")
    _create(client, headers, name="李四", city="杭州")
    pairs = client.get(
        "/api/v1/customers/duplicates", params={"customer_id": one["id"]}, headers=headers
    ).json()
    assert [(p["second"]["id"], p["reasons"]) for p in pairs] == [(two["id"], ["similar_name"])]


def test_merge_moves_related_records_and_records_where_values_came_from(
    client: TestClient, people: People, session: Session
):
    headers = people.token(people.user("manager", team=people.team()))
    survivor = _create(
        client,
        headers,
        kind="organisation",
        name="华为技术",
        city="深圳",
        phones=["075528780808"],
        tags=["Key"],
    )
    other = _create(
        client,
        headers,
        kind="organisation",
        name="华为技术有限公司",
        industry="通信",
        emails=["info@huawei.example"],
        tags=["VIP"],
        external_id="ERP-7",
    )
    contact = client.post(
        "/api/v1/contacts",
        json={"organisation_id": other["id"], "name": "余承东", "title": "CEO"},
        headers=headers,
    ).json()
    client.post(
        f"/api/v1/customers/{other['id']}/consents",
        json={"purpose": "marketing_email", "granted": True, "source": "trade show"},
        headers=headers,
    )
    merged = client.post(
        "/api/v1/customers/merge",
        json={
            "survivor_id": survivor["id"],
            "other_id": other["id"],
            "choices": {"name": "other"},
        },
        headers=headers,
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["name"] == "华为技术有限公司"  # chosen from the other record
    assert body["city"] == "深圳" and body["industry"] == "通信"  # kept, and filled from other
    assert body["external_id"] == "ERP-7"
    assert sorted(body["tags"]) == ["Key", "VIP"]
    assert [e["address"] for e in body["emails"]] == ["info@huawei.example"]
    moved = client.get(f"/api/v1/contacts/{contact['id']}", headers=headers).json()
    assert moved["organisation_id"] == survivor["id"]
    state = client.get(f"/api/v1/customers/{survivor['id']}/consents", headers=headers).json()
    assert state["marketing_email"]["granted"] is True
    assert client.get(f"/api/v1/customers/{other['id']}", headers=headers).status_code == 404
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "merge")).one()
    assert entry.entity_id == str(survivor["id"])
    assert entry.changes["merged"] == other["id"]
    assert "name" in entry.changes["fields_from_merged"]
    assert entry.changes["moved"]["contacts"] == 1 and entry.changes["moved"]["consents"] == 1


def test_merge_needs_both_records_visible(client: TestClient, people: People):
    mine = people.token(people.user("manager", team=people.team()))
    theirs = people.token(people.user("manager", team=people.team()))
    a = _create(client, mine, name="Mine")
    b = _create(client, theirs, name="Theirs")
    reply = client.post(
        "/api/v1/customers/merge", json={"survivor_id": a["id"], "other_id": b["id"]}, headers=mine
    )
    assert reply.status_code == 404
    assert client.get(f"/api/v1/customers/{b['id']}", headers=theirs).status_code == 200


def test_sales_users_cannot_merge(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    a, b = _create(client, headers, name="A"), _create(client, headers, name="B")
    reply = client.post(
        "/api/v1/customers/merge",
        json={"survivor_id": a["id"], "other_id": b["id"]},
        headers=headers,
    )
    assert reply.status_code == 403


def test_identity_numbers_are_encrypted_and_found_by_exact_match(
    client: TestClient, people: People, session: Session
):
    headers = people.token(people.user("sales"))
    created = _create(client, headers, name="Zhao", id_number="11010519491231002x")
    assert created["id_number_masked"] == "110***********002X"
    raw = session.execute(
        text("SELECT id_number_encrypted, id_number_index FROM customers WHERE id = :id"),
        {"id": created["id"]},
    ).one()
    assert "110105" not in raw[0] and raw[0].startswith("v1:")
    from guanxi.auth.service import get_user
    from guanxi.customers import service as customer_service

    actor = get_user(session=session, user_id=created["owner_id"])
    found = customer_service.find_by_id_number(
        session=session, actor=actor, id_number="11010519491231002X"
    )
    assert [c.id for c in found] == [created["id"]]


def test_personal_data_export_holds_everything(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    created = _create(
        client,
        headers,
        name="陈静",
        phones=["13911112222"],
        id_number="A1234567",
        family=[{"name": "陈小宝", "relation": "son", "birthday": "2019-06-01"}],
    )
    client.post(
        f"/api/v1/customers/{created['id']}/consents",
        json={"purpose": "profiling", "granted": True, "source": "contract"},
        headers=headers,
    )
    document = client.get(
        f"/api/v1/customers/{created['id']}/personal-data", headers=headers
    ).json()
    assert document["profile"]["name"] == "陈静"
    assert document["profile"]["id_number"] == "A1234567"
    assert document["profile"]["family"][0]["name"] == "陈小宝"
    assert document["consents"][0]["purpose"] == "profiling"
    assert any(h["action"] == "create" for h in document["change_history"])


def test_erasure_leaves_no_personal_field_readable(
    client: TestClient, people: People, session: Session
):
    manager = people.token(people.user("manager", team=people.team()))
    created = _create(
        client,
        manager,
        kind="organisation",
        name="Secret Trading 秘密贸易",
        city="上海",
        address="淮海中路 1 号",
        phones=["13855556666"],
        emails=["boss@secret.example"],
        id_number="Z9876543",
        notes="likes tea",
    )
    contact = client.post(
        "/api/v1/contacts",
        json={"organisation_id": created["id"], "name": "Boss Wang", "phone": "13977778888"},
        headers=manager,
    ).json()
    client.patch(
        f"/api/v1/customers/{created['id']}", json={"name": "Secret Trading Ltd"}, headers=manager
    )
    client.post(
        f"/api/v1/customers/{created['id']}/consents",
        json={"purpose": "marketing_email", "granted": True, "source": "web"},
        headers=manager,
    )
    erased = client.post(f"/api/v1/customers/{created['id']}/erase", headers=manager)
    assert erased.status_code == 200, erased.text
    customer_id = created["id"]

    secrets = (
        "Secret",
        "秘密",
        "淮海",
        "13855556666",
        "boss@secret",
        "Z9876543",
        "likes tea",
        "Boss Wang",
        "13977778888",
    )
    # the record and what the API returns
    document = json.dumps(
        client.get(f"/api/v1/customers/{customer_id}/personal-data", headers=manager).json(),
        ensure_ascii=False,
    )
    assert not [s for s in secrets if s in document]
    assert erased.json()["city"] == "上海"  # kept for aggregate reports
    # the audit log: earlier values were sealed; erasure shredded the key
    session.expire_all()
    for entry in session.scalars(select(AuditEntry)):
        readable = json.dumps(
            audit_service.readable_changes(session=session, entry=entry), ensure_ascii=False
        )
        assert not [s for s in secrets if s in readable], entry.action
        raw = json.dumps(entry.changes, ensure_ascii=False)
        assert not [s for s in secrets if s in raw], entry.action
    assert audit_service.verify(session=session).intact
    # the raw row, the contact, and search
    row = str(
        session.execute(text("SELECT * FROM customers WHERE id = :id"), {"id": customer_id}).one()
    )
    assert not [s for s in secrets if s in row]
    assert session.get(Contact, contact["id"]).name == f"#{contact['id']}"
    assert (
        client.get("/api/v1/customers", params={"q": "Secret"}, headers=manager).json()["items"]
        == []
    )
    assert (
        consent.state(session=session, customer_id=customer_id)["marketing_email"].granted is False
    )
    assert session.get(Customer, customer_id).erased_at is not None
    assert client.post(f"/api/v1/customers/{customer_id}/erase", headers=manager).status_code == 409
