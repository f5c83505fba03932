"""The segments API and the ``segment=<id>`` customer-list filter: definitions saved, changed
with If-Match and deleted; previews and members only of the caller's customers; the list, the
customer API and exports reading a saved segment; bad input answered with problem details."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from tests.marketing.support import SEGMENT, Book

PROBLEM = "application/problem+json"


def _save(client: TestClient, book: Book, params: list[list[str]] = SEGMENT, **fields: object):  # type: ignore[no-untyped-def]
    body = {"name": "上海大客户", "params": params, **fields}
    reply = client.post("/api/v1/segments", json=body, headers=book.headers["analyst"])
    assert reply.status_code == 201, reply.text
    return reply


def _csv_names(content: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return sorted(row[2] for row in rows[1:])


def test_create_read_list_update_and_delete(client: TestClient, book: Book):
    created = _save(client, book, description="每月回访")
    body = created.json()
    assert created.headers["ETag"] == 'W/"1"'
    assert body["params"] == SEGMENT and body["query"] == "tier=vip%2Ckey&city=%E4%B8%8A%E6%B5%B7"
    assert body["description"] == "每月回访"
    url = f"/api/v1/segments/{body['id']}"
    listed = client.get("/api/v1/segments", headers=book.headers["alice"]).json()
    assert [s["name"] for s in listed] == ["上海大客户"]
    stale = client.patch(
        url, json={"name": "上海VIP"}, headers={**book.headers["analyst"], "If-Match": 'W/"7"'}
    )
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
    changed = client.patch(
        url,
        json={"name": "上海VIP", "params": [["tier", "vip"]]},
        headers={**book.headers["analyst"], "If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["params"] == [["tier", "vip"]] and changed.headers["ETag"] == 'W/"2"'
    assert client.get(url, headers=book.headers["bob"]).json()["name"] == "上海VIP"
    gone = client.delete(url, headers={**book.headers["analyst"], "If-Match": 'W/"2"'})
    assert gone.status_code == 204
    missing = client.get(url, headers=book.headers["analyst"])
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_bad_definitions_are_refused_naming_the_parameter(client: TestClient, book: Book):
    headers = book.headers["analyst"]
    for params, field in (
        ([["tier", "gold"]], "tier"),
        ([["churn_risk_min", "high"]], "churn_risk_min"),
        ([["favourite_colour", "red"]], "favourite_colour"),
        ([["segment", "1"]], "segment"),
        ([], "params"),
    ):
        reply = client.post(
            "/api/v1/segments", json={"name": "x", "params": params}, headers=headers
        )
        assert reply.status_code == 422, (params, reply.text)
        assert reply.headers["content-type"] == PROBLEM
        assert [e["field"] for e in reply.json()["errors"]] == [field]
    _save(client, book)
    taken = client.post(
        "/api/v1/segments", json={"name": "上海大客户", "params": SEGMENT}, headers=headers
    )
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "name"
    shapeless = client.post(
        "/api/v1/segments", json={"name": "y", "params": [["tier"]]}, headers=headers
    )
    assert shapeless.status_code == 422


def test_only_roles_with_the_right_may_change_segments(client: TestClient, book: Book):
    reply = client.post(
        "/api/v1/segments", json={"name": "x", "params": SEGMENT}, headers=book.headers["alice"]
    )
    assert reply.status_code == 403 and reply.headers["content-type"] == PROBLEM
    segment_id = _save(client, book).json()["id"]
    assert (
        client.delete(f"/api/v1/segments/{segment_id}", headers=book.headers["alice"]).status_code
        == 403
    )
    assert client.get("/api/v1/segments").status_code == 401


def test_previews_count_only_the_callers_customers(client: TestClient, book: Book):
    segment_id = _save(client, book).json()["id"]
    figures = {}
    for who in ("alice", "bob", "admin"):
        reply = client.get(f"/api/v1/segments/{segment_id}/preview", headers=book.headers[who])
        assert reply.status_code == 200, reply.text
        figures[who] = reply.json()
    assert [figures[w]["size"] for w in ("alice", "bob", "admin")] == [1, 2, 3]
    assert figures["alice"]["value"]["clv"] == 5000.0
    assert [p["size"] for p in figures["admin"]["trend"]] == [2, 3]
    assert figures["admin"]["trend"][0]["observation_end"] == "2026-10-01"
    unsaved = client.post(
        "/api/v1/segments/preview",
        json={"params": [["city", "上海"], ["clv_min", 1000]]},
        headers=book.headers["bob"],
    )
    assert unsaved.status_code == 200, unsaved.text
    assert unsaved.json()["size"] == 2 and unsaved.json()["list_url"].endswith("clv_min=1000")
    bad = client.post(
        "/api/v1/segments/preview",
        json={"params": [["cohort", "soon"]]},
        headers=book.headers["bob"],
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cohort"


def test_members_are_paged_like_the_customer_api(client: TestClient, book: Book):
    segment_id = _save(client, book).json()["id"]
    url = f"/api/v1/segments/{segment_id}/customers"
    mine = client.get(url, headers=book.headers["alice"]).json()
    assert [c["name"] for c in mine["items"]] == ["甲一"]
    first = client.get(url, params={"limit": 2, "sort": "name"}, headers=book.headers["admin"])
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(
        url,
        params={"limit": 2, "sort": "name", "cursor": page["next_cursor"]},
        headers=book.headers["admin"],
    ).json()
    names = [c["name"] for c in page["items"] + rest["items"]]
    assert sorted(names) == ["乙一", "乙二", "甲一"] and rest["next_cursor"] is None
    assert (
        client.get("/api/v1/segments/999999/customers", headers=book.headers["admin"]).status_code
        == 404
    )


def test_the_customer_api_and_export_read_a_saved_segment(
    client: TestClient, session: Session, book: Book
):
    segment_id = _save(client, book).json()["id"]
    listed = client.get(
        "/api/v1/customers", params={"segment": segment_id}, headers=book.headers["bob"]
    )
    assert sorted(c["name"] for c in listed.json()["items"]) == ["乙一", "乙二"]
    narrowed = client.get(
        "/api/v1/customers",
        params={"segment": segment_id, "tag": "VIP"},
        headers=book.headers["admin"],
    )
    assert sorted(c["name"] for c in narrowed.json()["items"]) == ["乙一", "甲一"]
    exported = client.get(
        "/api/v1/customers/export", params={"segment": segment_id}, headers=book.headers["alice"]
    )
    assert exported.status_code == 200 and _csv_names(exported.content) == ["甲一"]
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None and entry.changes["filter"] == {"extra": {"segment": str(segment_id)}}
    assert entry.changes["rows"] == 1


def test_an_unknown_or_deleted_segment_is_a_clear_refusal(client: TestClient, book: Book):
    created = _save(client, book)
    segment_id = created.json()["id"]
    client.delete(f"/api/v1/segments/{segment_id}", headers=book.headers["analyst"])
    for value in (str(segment_id), "abc"):
        reply = client.get(
            "/api/v1/customers", params={"segment": value}, headers=book.headers["admin"]
        )
        assert reply.status_code == 422 and reply.headers["content-type"] == PROBLEM
        assert reply.json()["errors"] == [
            {"field": "segment", "message": "No saved segment has this number."}
        ]
        exported = client.get(
            "/api/v1/customers/export", params={"segment": value}, headers=book.headers["admin"]
        )
        assert exported.status_code == 422
