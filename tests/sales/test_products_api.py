"""``/api/v1/products`` as a script or an ERP uses it: CRUD with ETags, problem details for bad
input, the idempotent PUT by external id, the import endpoint, and who may do what."""

from __future__ import annotations

import csv
import io

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.audit.models import AuditEntry
from guanxi.sales.models import Product
from guanxi.sales.products import importing
from tests.conftest import People

BODY = {"sku": "TEA-1", "name": "龙井茶", "category": "茶叶", "list_price": "128.00"}


def _headers(people: People, role: str) -> dict[str, str]:
    return people.token(people.user(role))


def test_create_read_update_and_delete(client: TestClient, people: People):
    headers = _headers(people, "manager")
    created = client.post("/api/v1/products", json=BODY | {"unit_cost": 80}, headers=headers)
    assert created.status_code == 201, created.text
    product = created.json()
    assert product["list_price"] == "128.00" and product["margin_percent"] == "37.5"
    url = f"/api/v1/products/{product['id']}"
    read = client.get(url, headers=headers)
    assert read.headers["etag"] == 'W/"1"'
    stale = client.patch(url, json={"list_price": "1"}, headers=headers | {"If-Match": 'W/"9"'})
    assert stale.status_code == 412
    changed = client.patch(
        url, json={"list_price": "150.5"}, headers=headers | {"If-Match": read.headers["etag"]}
    )
    assert changed.status_code == 200 and changed.json()["list_price"] == "150.50"
    assert changed.headers["etag"] == 'W/"2"'
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_bad_money_and_a_duplicate_sku_are_problems_not_errors(client: TestClient, people: People):
    headers = _headers(people, "admin")
    negative = client.post("/api/v1/products", json=BODY | {"list_price": -1}, headers=headers)
    assert negative.status_code == 422
    assert negative.headers["content-type"].startswith("application/problem+json")
    three = client.post("/api/v1/products", json=BODY | {"unit_cost": "1.005"}, headers=headers)
    assert three.status_code == 422 and "unit_cost" in three.text
    assert client.post("/api/v1/products", json=BODY, headers=headers).status_code == 201
    duplicate = client.post("/api/v1/products", json=BODY | {"name": "x"}, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"][0]["field"] == "sku"


def test_list_filters_and_categories(client: TestClient, people: People):
    headers = _headers(people, "admin")
    for sku, category, active in (("A", "茶叶", True), ("B", "茶具", True), ("C", "茶叶", False)):
        body = BODY | {"sku": sku, "category": category, "is_active": active}
        assert client.post("/api/v1/products", json=body, headers=headers).status_code == 201
    listed = client.get(
        "/api/v1/products", params={"category": "茶叶", "active": "true"}, headers=headers
    )
    assert [p["sku"] for p in listed.json()["items"]] == ["A"]
    desc = client.get("/api/v1/products", params={"sort": "sku", "order": "desc"}, headers=headers)
    assert [p["sku"] for p in desc.json()["items"]] == ["C", "B", "A"]
    assert client.get("/api/v1/products/categories", headers=headers).json() == ["茶具", "茶叶"]
    assert client.get("/api/v1/products?sort=cost", headers=headers).status_code == 422


def test_the_same_put_twice_changes_nothing(client: TestClient, people: People, session: Session):
    headers = _headers(people, "manager")
    url = "/api/v1/products/by-external-id/erp-42"
    first = client.put(url, json=BODY, headers=headers)
    assert first.status_code == 201, first.text
    audits = select(func.count()).where(AuditEntry.entity_type == "product")
    before = session.scalar(audits)
    second = client.put(url, json=BODY, headers=headers)
    assert second.status_code == 200
    assert second.json()["version"] == first.json()["version"] == 1
    assert second.json()["external_id"] == "erp-42"
    assert session.scalar(audits) == before
    changed = client.put(url, json=BODY | {"list_price": "99"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert client.put(url, json=BODY | {"external_id": "x"}, headers=headers).status_code == 422


def test_sales_may_read_but_not_change_products(client: TestClient, people: People):
    admin, sales = _headers(people, "admin"), _headers(people, "sales")
    product = client.post("/api/v1/products", json=BODY, headers=admin).json()
    url = f"/api/v1/products/{product['id']}"
    assert client.get(url, headers=sales).status_code == 200
    assert client.get("/api/v1/products", headers=sales).status_code == 200
    assert client.post("/api/v1/products", json=BODY | {"sku": "N"}, headers=sales).status_code == (
        403
    )
    assert client.patch(url, json={"name": "x"}, headers=sales).status_code == 403
    assert client.delete(url, headers=sales).status_code == 403
    put = client.put("/api/v1/products/by-external-id/e1", json=BODY, headers=sales)
    assert put.status_code == 403
    files = {"file": ("p.csv", b"SKU,Name\nA,B\n", "text/csv")}
    assert client.post("/api/v1/products/import", files=files, headers=sales).status_code == 403
    assert client.get("/api/v1/products").status_code == 401


def _gbk_csv() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [
            ["编码", "名称", "分类", "标价", "单位成本"],
            ["G-1", "铁观音", "茶叶", "66.60", "30"],
            ["G-2", "大红袍", "茶叶", "1.234", "30"],
        ]
    )
    return buffer.getvalue().encode("gbk")


def test_import_endpoint_dry_run_then_real_then_again(
    client: TestClient, people: People, session: Session
):
    headers = _headers(people, "manager")
    files = {"file": ("茶.csv", _gbk_csv(), "text/csv")}
    dry = client.post("/api/v1/products/import?dry_run=true", files=files, headers=headers)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["created"] == 1
    assert session.scalar(select(func.count()).select_from(Product)) == 0
    real = client.post("/api/v1/products/import", files=files, headers=headers).json()
    assert (real["created"], real["refused"]) == (1, 1)
    assert real["refusals"] == [
        {"row": 3, "column": "标价", "reason": "Use at most two decimal places."}
    ]
    assert real["mapping"]["编码"] == "sku" and real["mapping"]["单位成本"] == "unit_cost"
    again = client.post("/api/v1/products/import", files=files, headers=headers).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)


def test_import_endpoint_reads_xlsx_and_refuses_oversized_files(
    client: TestClient, people: People, monkeypatch
):  # type: ignore[no-untyped-def]
    headers = _headers(people, "admin")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["SKU", "Name", "Price"])
    sheet.append(["X-1", "Kettle", 19.9])
    sheet.append(["X-2", "Tray", -1])
    content = io.BytesIO()
    book.save(content)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    files = {"file": ("p.xlsx", content.getvalue(), xlsx)}
    reply = client.post("/api/v1/products/import", files=files, headers=headers).json()
    assert (reply["created"], reply["refused"]) == (1, 1)
    monkeypatch.setattr(importing, "MAX_ROWS", 1)
    too_many = client.post("/api/v1/products/import", files=files, headers=headers)
    assert too_many.status_code == 413 and "more than 1 products" in too_many.json()["detail"]
    monkeypatch.setattr(importing, "MAX_BYTES", 10)
    too_big = client.post("/api/v1/products/import", files=files, headers=headers)
    assert too_big.status_code == 413
    bad_mapping = client.post(
        "/api/v1/products/import", files=files, data={"mapping": "[1]"}, headers=headers
    )
    assert bad_mapping.status_code == 422
