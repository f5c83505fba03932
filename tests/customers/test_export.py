"""Exporting customer lists: CSV, XLSX and vCard files, only what the user may see, audited, and
safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import vobject
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Customer
from guanxi.customers.transfer import file_formats, import_report, importing
from tests.conftest import PASSWORD, People
from tests.customers.import_helpers import SavepointUnits
from tests.web.forms import sign_in

FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)")


def _create(client: TestClient, headers: dict[str, str], **fields: object) -> dict:
    reply = client.post("/api/v1/customers", json=fields, headers=headers)
    assert reply.status_code == 201, reply.text
    return reply.json()


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_vcard_export_reads_back_in_a_vcard_library(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    _create(
        client,
        headers,
        name="张伟",
        phones=["13800138000", {"number": "0755 2878 0808", "label": "work"}],
        emails=["zhang.wei@example.cn"],
        company="华为技术",
        occupation="工程师",
        city="深圳",
        address="坂田街道",
        birthday="1985-03-14",
        tags=["VIP"],
        external_id="C-1",
        notes="喜欢茶; 周末勿扰",
    )
    _create(client, headers, kind="organisation", name="Acme Trading Co.", city="上海")
    reply = client.get("/api/v1/customers/export", params={"format": "vcf"}, headers=headers)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/vcard")
    assert "attachment" in reply.headers["content-disposition"]
    cards = {c.fn.value: c for c in vobject.readComponents(reply.content.decode("utf-8"))}
    zhang = cards["张伟"]
    assert zhang.version.value == "3.0"
    assert [(t.value, t.type_param) for t in zhang.contents["tel"]] == [
        ("+8613800138000", "CELL"),
        ("+8675528780808", "WORK"),
    ]
    assert zhang.email.value == "zhang.wei@example.cn"
    assert (zhang.n.value.family, zhang.n.value.given) == ("张", "伟")
    assert zhang.org.value == ["华为技术"]
    assert (zhang.title.value, zhang.bday.value, zhang.uid.value) == ("工程师", "1985-03-14", "C-1")
    assert (zhang.adr.value.street, zhang.adr.value.city) == ("坂田街道", "深圳")
    assert zhang.note.value == "喜欢茶; 周末勿扰"
    assert zhang.categories.value == ["VIP"]
    assert cards["Acme Trading Co."].org.value == ["Acme Trading Co."]


def test_csv_and_xlsx_exports_cannot_run_formulas(client: TestClient, people: People):
    headers = people.token(people.user("sales"))
    for number, formula in enumerate(FORMULAS):
        _create(client, headers, name=formula, notes="\tsecret", external_id=f"F{number}")
    rows = _csv(client.get("/api/v1/customers/export?format=csv", headers=headers).content)
    names = {row[2] for row in rows[1:]}
    assert names == {"'" + formula for formula in FORMULAS}
    assert {row[rows[0].index("Notes")] for row in rows[1:]} == {"'\tsecret"}
    dangerous = [cell for row in rows[1:] for cell in row if cell and cell[0] in "=+-@\t\r"]
    assert dangerous == []

    xlsx = client.get("/api/v1/customers/export?format=xlsx", headers=headers).content
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no formula anywhere
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    sheet = book.active
    assert sheet is not None
    cells = [row for row in sheet.iter_rows(min_row=2)]
    name_cells = [row[2] for row in cells]
    assert {c.value for c in name_cells} == set(FORMULAS)
    # text cells, marked with Excel's quote prefix: shown as typed, never evaluated
    assert all(c.data_type == "s" and c.quotePrefix for c in name_cells)


def test_export_holds_only_what_the_user_may_see_and_is_audited(
    client: TestClient, people: People, session: Session
):
    east, west = people.team("East"), people.team("West")
    mine = people.token(people.user("sales", team=east))
    theirs = people.token(people.user("sales", team=west))
    _create(client, mine, name="张伟", city="上海", tags=["VIP"])
    _create(client, mine, name="王芳", city="北京")
    _create(client, theirs, name="李娜", city="上海", tags=["VIP"])
    everything = _csv(client.get("/api/v1/customers/export", headers=mine).content)
    assert sorted(row[2] for row in everything[1:]) == ["张伟", "王芳"]
    filtered = client.get(
        "/api/v1/customers/export", params={"city": "上海", "tag": "VIP"}, headers=mine
    )
    assert [row[2] for row in _csv(filtered.content)[1:]] == ["张伟"]
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)
    ).all()
    assert [(e.entity_type, e.changes["rows"], e.changes["format"]) for e in entries] == [
        ("customer", 2, "csv"),
        ("customer", 1, "csv"),
    ]
    assert entries[1].changes["filter"] == {"equals": {"city": "上海"}, "tags": ["VIP"]}
    # a role without the export permission gets none
    service = people.token(people.user("service"))
    assert client.get("/api/v1/customers/export", headers=service).status_code == 403


def test_export_of_a_selection_by_ids(client: TestClient, people: People):
    east, west = people.team("East"), people.team("West")
    mine = people.token(people.user("sales", team=east))
    theirs = people.token(people.user("sales", team=west))
    a = _create(client, mine, name="甲")["id"]
    _create(client, mine, name="乙")
    hidden = _create(client, theirs, name="丙")["id"]
    reply = client.get(f"/api/v1/customers/export?ids={a},{hidden}", headers=mine)
    assert [row[2] for row in _csv(reply.content)[1:]] == ["甲"]


def test_export_page_offers_formats_and_streams_the_file(
    client: TestClient, people: People, session: Session
):
    seller = people.user("sales")
    headers = people.token(seller)
    _create(client, headers, name="张伟", city="上海")
    _create(client, headers, name="王芳", city="北京")
    sign_in(client, seller.username, PASSWORD)
    page = client.get("/customers/export", params={"city": "上海"})
    assert page.status_code == 200
    assert "/customers/export?format=xlsx&amp;city=%E4%B8%8A%E6%B5%B7" in page.text
    download = client.get("/customers/export", params={"format": "xlsx", "city": "上海"})
    assert download.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
    assert sheet is not None
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["张伟"]


def test_an_exported_file_imports_back_unchanged(
    client: TestClient,
    people: People,
    session: Session,
    sessions: sessionmaker[Session],
    tmp_path: Path,
):
    seller = people.user("sales")
    headers = people.token(seller)
    _create(
        client,
        headers,
        name="张伟",
        phones=["13800138000"],
        emails=["zw@example.cn"],
        gender="male",
        kind="person",
        customer_type="distributor",
        birthday="1985-03-14",
        city="上海",
        tags=["VIP", "老客户"],
        risk_level="high",
        external_id="C-9",
    )
    _create(client, headers, name="=1+1", phones=["+1 650 253 0000"])
    for file_format in ("csv", "xlsx"):
        exported = client.get(f"/api/v1/customers/export?format={file_format}", headers=headers)
        path = tmp_path / f"export.{file_format}"
        path.write_bytes(exported.content)
        run = importing.start_run(
            session=session, actor=seller.user, path=path, filename=path.name, work_dir=tmp_path
        )
        session.flush()
        done = importing.execute_run(
            db=SavepointUnits(sessions), run_id=run.id, actor_id=seller.user.id
        )
        assert (done.unchanged, done.inserted, done.updated, done.rejected) == (2, 0, 0, 0), (
            file_format,
            list(import_report.report_lines(done)),
        )
    session.expire_all()
    assert len(session.scalars(select(Customer)).all()) == 2


def test_neutralising_and_restoring_cells():
    assert file_formats.neutralise("=A1") == "'=A1"
    assert file_formats.neutralise("'=A1") == "''=A1"  # so that it reads back as written
    assert file_formats.neutralise("张伟") == "张伟"
    for text in ("=A1", "+86138", "-1", "@x", "\tx", "\rx", "plain", "'quoted", "'=A1"):
        assert file_formats.restore(file_formats.neutralise(text)) == text
