"""Product pages as a browser drives them: the filtered list, the record with its margin, forms
that keep what was typed on an error, deactivation, and the import flow from upload to the
downloadable refusal report."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.sales.models import Product
from tests.conftest import People
from tests.web.forms import csrf_from, sign_in, submit


def _signed_in(client: TestClient, people: People, role: str) -> None:
    person = people.user(role)
    assert sign_in(client, person.username, person.password).status_code == 303


def _product(session: Session, sku: str, **fields: object) -> Product:
    values: dict[str, object] = {"name": f"产品 {sku}", "list_price": Decimal("100")}
    product = Product(sku=sku, **(values | fields))
    session.add(product)
    session.flush()
    return product


def test_list_filters_in_the_url_and_sorts(client: TestClient, people: People, session: Session):
    _product(session, "A-1", category="茶叶", list_price=Decimal("20"))
    _product(session, "A-2", category="茶叶", list_price=Decimal("50"))
    _product(session, "B-1", category="茶具", is_active=False)
    _signed_in(client, people, "sales")
    page = client.get("/sales/products")
    assert page.status_code == 200
    assert "A-1" in page.text and "B-1" not in page.text  # active ones by default
    inactive = client.get("/sales/products?status=inactive")
    assert "B-1" in inactive.text and "A-1" not in inactive.text
    by_price = client.get("/sales/products?category=茶叶&sort=list_price&order=desc").text
    assert by_price.index("A-2") < by_price.index("A-1")
    assert "New product" not in page.text  # sales reads the catalogue only
    assert client.get("/sales/products?sort=cost").status_code == 400


def test_record_shows_the_margin(client: TestClient, people: People, session: Session):
    product = _product(session, "M-1", list_price=Decimal("80"), unit_cost=Decimal("60"))
    _signed_in(client, people, "sales")
    page = client.get(f"/sales/products/{product.id}")
    assert page.status_code == 200
    assert re.search(r'class="product-margin">25(\.0)?%', page.text)
    assert "Deactivate" not in page.text
    assert client.get("/sales/products/999999").status_code == 404


def test_a_form_with_errors_keeps_what_was_typed(client: TestClient, people: People):
    _signed_in(client, people, "manager")
    reply = submit(
        client,
        "/sales/products/new",
        "/sales/products/new",
        {"sku": "N-1", "name": "新茶", "list_price": "12.345", "unit_cost": "-1", "unit": "盒"},
    )
    assert reply.status_code == 422
    text = html.unescape(reply.text)
    assert "Use at most two decimal places." in text and "Must not be negative." in text
    assert 'value="12.345"' in text and 'value="新茶"' in text and 'value="盒"' in text


def test_create_edit_deactivate_and_delete(client: TestClient, people: People, session: Session):
    _signed_in(client, people, "manager")
    created = submit(
        client,
        "/sales/products/new",
        "/sales/products/new",
        {"sku": "E-1", "name": "白茶", "list_price": "88", "category": "茶叶", "is_active": "on"},
    )
    assert created.status_code == 303
    product = session.scalars(select(Product).where(Product.sku == "E-1")).one()
    url = f"/sales/products/{product.id}"
    assert created.headers["location"] == url
    duplicate = submit(
        client, "/sales/products/new", "/sales/products/new", {"sku": "E-1", "name": "x"}
    )
    assert duplicate.status_code == 422 and "This value is taken." in duplicate.text
    edited = submit(
        client,
        f"{url}/edit",
        f"{url}/edit",
        {"sku": "E-1", "name": "白牡丹", "list_price": "90", "category": "", "version": "1"},
    )
    assert edited.status_code == 303
    session.refresh(product)
    assert (product.name, product.category, product.is_active) == ("白牡丹", "", False)
    stale = submit(client, f"{url}/edit", f"{url}/edit", {"sku": "E-1", "name": "y", "version": 1})
    assert stale.status_code == 422 and "Load the current version" in stale.text
    token = csrf_from(client.get(url).text)
    client.post(f"{url}/active", data={"csrf_token": token, "active": "1"})
    session.refresh(product)
    assert product.is_active
    deleted = client.post(f"{url}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert deleted.status_code == 303
    assert session.scalars(select(Product.id).where(Product.sku == "E-1")).first() is None


def test_sales_cannot_open_the_forms_or_import(client: TestClient, people: People):
    _signed_in(client, people, "sales")
    assert client.get("/sales/products/new").status_code == 403
    assert client.get("/sales/products/import").status_code == 403


def _upload(client: TestClient, name: str, content: bytes, content_type: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/sales/products/import").text)
    return client.post(
        "/sales/products/import",
        data={"csrf_token": token},
        files={"file": (name, content, content_type)},
    )


def _confirm(client: TestClient, preview: str, dry_run: bool = False, **mapping: str):  # type: ignore[no-untyped-def]
    upload = re.search(r'name="upload" value="([^"]+)"', preview)
    assert upload
    selected = re.findall(r'name="(map\.\d+)">.*?<option value="(\w*)" selected', preview, re.S)
    data = {"csrf_token": csrf_from(preview), "upload": html.unescape(upload.group(1))}
    data |= dict(selected) | mapping
    if dry_run:
        data["dry_run"] = "on"
    return client.post("/sales/products/import/confirm", data=data)


def test_import_flow_previews_confirms_and_reports_refused_rows(
    client: TestClient, people: People, session: Session
):
    _signed_in(client, people, "manager")
    rows = [["货号", "名称", "售价", "备注列"], ["P-1", "茶盘", "99"], ["P-2", "茶杯", "abc"]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    preview = _upload(client, "产品.csv", buffer.getvalue().encode("gbk"), "text/csv")
    assert preview.status_code == 200, preview.text
    assert "10,000" in preview.text and "Must be a number." in preview.text
    dry = _confirm(client, preview.text, dry_run=True)
    assert dry.status_code == 200 and "nothing was changed" in dry.text
    assert session.scalars(select(Product)).all() == []
    result = _confirm(client, preview.text)
    assert result.status_code == 200
    assert 'data-count="created">1<' in result.text and 'data-count="refused">1<' in result.text
    assert session.scalars(select(Product.sku)).all() == ["P-1"]
    link = re.search(r'href="(/sales/products/import/report/[^"]+)"', result.text)
    assert link
    report = client.get(html.unescape(link.group(1)))
    assert report.status_code == 200
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[1] == "3,售价,Must be a number.,P-2,茶杯,abc,"
    # the report belongs to its importer
    client.cookies.clear()
    _signed_in(client, people, "admin")
    assert client.get(html.unescape(link.group(1))).status_code == 404


def test_import_page_refuses_unmapped_files_and_oversized_ones(
    client: TestClient, people: People, monkeypatch
):  # type: ignore[no-untyped-def]
    from guanxi.sales.products import importing

    _signed_in(client, people, "admin")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Artikel", "Bezeichnung"])
    sheet.append(["X-1", "Kanne"])
    content = io.BytesIO()
    book.save(content)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    preview = _upload(client, "p.xlsx", content.getvalue(), xlsx)
    assert preview.status_code == 200
    refused = _confirm(client, preview.text)
    assert refused.status_code == 422 and "Map a column to the SKU." in refused.text
    mapped = _confirm(client, preview.text, **{"map.0": "sku", "map.1": "name"})
    assert mapped.status_code == 200 and 'data-count="created">1<' in mapped.text
    monkeypatch.setattr(importing, "MAX_BYTES", 10)
    too_big = _upload(client, "p.xlsx", content.getvalue(), xlsx)
    assert too_big.status_code == 413 and "MB can be imported" in too_big.text
