"""The analysis report (分析与报告) as XLSX and PDF: one sheet per section with numbers kept as
numbers, a PDF whose Chinese text is set in STSong-Light, figures only over the customers the
reader may see, every download audited, and a clear 404 before the first scoring run.

Scores are written as a run would write them (see ``test_api.py``)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.analytics.reports import content
from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Customer
from tests.analytics.reports_support import (
    pdf_text,
    reporting_sales_role,
    score,
    scoring_run,
)
from tests.conftest import People
from tests.sales.orders_support import customer
from tests.web.forms import sign_in

XLSX = "/api/v1/analytics/reports/summary.xlsx"
PDF = "/api/v1/analytics/reports/summary.pdf"


@pytest.fixture
def book(session: Session, people: People) -> dict[str, Any]:
    """Two reps (allowed reports) with customers of their own, an admin, and two runs: the
    older one makes "what changed" measurable."""
    role = reporting_sales_role(session)
    alice, bob = people.user(role), people.user(role)
    admin = people.user("admin")
    mine = [customer(session, alice.user, f"甲{i}") for i in range(3)]
    theirs = [customer(session, bob.user, f"乙{i}") for i in range(2)]
    older = scoring_run(session)
    for customer_id in mine + theirs:
        score(session, older, customer_id)
    run = scoring_run(session)
    score(session, run, mine[0], tier="vip", profit=Decimal("900.00"), clv=Decimal("5000"))
    score(
        session,
        run,
        mine[1],
        tier="key",
        lifecycle_stage="decline",
        churn_risk=0.9,
        rfm_segment="at_risk",
    )
    score(session, run, mine[2], tier="unprofitable", profit=Decimal("-50.00"))
    for other in theirs:
        score(session, run, other, tier="vip", profit=Decimal("700.00"), rfm_segment="champions")
    return {
        "alice": alice,
        "admin": admin,
        "alice_headers": people.token(alice),
        "bob_headers": people.token(bob),
        "admin_headers": people.token(admin),
        "run": run,
        "older": older,
        "mine": mine,
    }


def _workbook(reply: Any) -> openpyxl.Workbook:
    assert reply.status_code == 200, reply.text
    return openpyxl.load_workbook(io.BytesIO(reply.content))


def _rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _figures(sheet: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for row in _rows(sheet):
        if row and row[0]:
            figures.setdefault(row[0], row[1])  # the first table's figure, not a later one's
    return figures


def test_the_workbook_has_a_sheet_per_section_with_numbers_as_numbers(
    client: TestClient, book: dict[str, Any]
) -> None:
    reply = client.get(XLSX, headers=book["admin_headers"])
    workbook = _workbook(reply)
    assert reply.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    today = datetime.now(UTC).astimezone().date().isoformat()[:7]  # the month, zone-proof
    disposition = reply.headers["content-disposition"]
    assert "guanxi-report-" in disposition and today in disposition and ".xlsx" in disposition
    assert workbook.sheetnames == [
        "Summary",
        "Value tiers",
        "Pareto (80 20)",
        "Lifecycle",
        "RFM segments",
        "Churn",
        "Win-back candidates",
        "Cohort retention",
    ]
    tiers = workbook["Value tiers"]
    assert tiers.freeze_panes == "A2"
    header, vip = _rows(tiers)[0], _rows(tiers)[1]
    assert header == ["Tier", "Customers", "Revenue", "Profit", "Share of profit", "CLV"]
    assert vip[:4] == ["VIP (deferential)", 3, 900.0, 2300.0]
    assert vip[4] == pytest.approx(2300 / 2400)
    assert tiers["D2"].number_format == "#,##0.00" and tiers["E2"].number_format == "0.0%"
    assert tiers.column_dimensions["A"].width >= len("Unprofitable (indifferent)")
    summary = _figures(workbook["Summary"])
    assert summary["Customers scored"] == 5
    assert summary["Customer equity"] == pytest.approx(5800.0)
    assert summary["High-risk customers"] == 1


def test_what_changed_since_the_previous_run(client: TestClient, book: dict[str, Any]) -> None:
    rows = _rows(_workbook(client.get(XLSX, headers=book["admin_headers"]))["Summary"])
    changes = {row[0]: row[1:4] for row in rows if row and row[0]}  # the last table wins
    # the older run had every customer ordinary with a CLV of 200
    assert changes["VIP (deferential)"] == [0, 3, 3]
    assert changes["Ordinary (adaptive)"] == [5, 0, -5]
    assert changes["Customer equity"] == [1000.0, 5800.0, 4800.0]
    assert (
        _figures(_workbook(client.get(XLSX, headers=book["admin_headers"]))["Summary"])[
            "Previous run"
        ]
        == book["older"].id
    )
    lifecycle = _rows(_workbook(client.get(XLSX, headers=book["admin_headers"]))["Lifecycle"])
    assert ["Stability", "Declining", 1] in lifecycle


def test_a_sales_reps_report_covers_only_their_customers(
    client: TestClient, book: dict[str, Any]
) -> None:
    workbook = _workbook(client.get(XLSX, headers=book["alice_headers"]))
    assert _figures(workbook["Summary"])["Customers scored"] == 3
    names = [row[1] for row in _rows(workbook["Pareto (80 20)"]) if row[0] and row[0] != "Rank"]
    assert "甲0" in names
    every_cell = " ".join(
        str(value) for sheet in workbook for row in _rows(sheet) for value in row if value
    )
    assert "乙" not in every_cell
    text = pdf_text(client.get(PDF, headers=book["alice_headers"]).content)
    assert "甲0" in text and "乙" not in text
    bobs = _workbook(client.get(XLSX, headers=book["bob_headers"]))
    assert _figures(bobs["Summary"])["Customers scored"] == 2


def test_the_pdf_speaks_chinese_in_the_cjk_font(
    client: TestClient, session: Session, book: dict[str, Any]
) -> None:
    reply = client.get(PDF, headers={**book["admin_headers"], "Accept-Language": "zh-CN"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    assert ".pdf" in reply.headers["content-disposition"]
    data = reply.content
    assert data.startswith(b"%PDF") and b"/BaseFont /STSong-Light" in data
    text = pdf_text(data)
    assert "客户分析报告" in text
    assert "屈从型" in text  # a tier label, in the tier chart and table
    assert "甲0" in text  # the top customer, by name
    english = pdf_text(client.get(PDF, headers=book["admin_headers"]).content)
    assert "Customer analysis report" in english and "客户分析报告" not in english
    assert "VIP (deferential)" in english and "甲0" in english  # names keep their characters


def test_every_download_is_audited(
    client: TestClient, session: Session, book: dict[str, Any]
) -> None:
    client.get(XLSX, headers=book["alice_headers"])
    client.get(PDF, headers=book["admin_headers"])
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "export", AuditEntry.entity_type == "analysis_report")
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.entity_id, e.changes["format"], e.changes["customers"]) for e in entries] == [
        (str(book["run"].id), "xlsx", 3),
        (str(book["run"].id), "pdf", 5),
    ]
    assert entries[0].actor_id == book["alice"].user.id


def test_without_a_finished_run_the_answer_is_a_clear_404(
    client: TestClient, session: Session, people: People
) -> None:
    admin = people.user("admin")
    failed = scoring_run(session, status="failed")
    assert failed.id
    reply = client.get(PDF, headers=people.token(admin))
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["detail"] == content.NO_REPORT
    assert sign_in(client, admin.username, admin.password).status_code == 303
    page = client.get("/analytics/reports")
    assert page.status_code == 404 and "no scoring run has finished" in page.text
    download = client.get("/analytics/reports/summary.xlsx")
    assert download.status_code == 404 and "no scoring run has finished" in download.text


def test_who_may_read_and_download(
    client: TestClient, session: Session, people: People, book: dict[str, Any]
) -> None:
    plain_sales = people.user("sales")  # the built-in sales role has no reports
    assert client.get(PDF, headers=people.token(plain_sales)).status_code == 403
    assert client.get(PDF).status_code == 401
    from guanxi.auth import service as auth_service
    from guanxi.auth.schemas import RoleCreate

    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="report_reader",
            label="Report reader",
            record_scope="all",
            permissions={"analytics": ["read"], "reports": ["read"]},
        ),
    )
    reader = people.user("report_reader")
    assert client.get(XLSX, headers=people.token(reader)).status_code == 403
    assert sign_in(client, reader.username, reader.password).status_code == 303
    page = client.get("/analytics/reports")
    assert page.status_code == 200
    assert "summary.pdf" not in page.text and "not download them" in page.text
    assert client.get("/analytics/reports/summary.pdf").status_code == 403


def test_the_page_names_the_run_and_offers_both_files(
    client: TestClient, book: dict[str, Any]
) -> None:
    alice = book["alice"]
    assert sign_in(client, alice.username, alice.password).status_code == 303
    page = client.get("/analytics/reports")
    assert page.status_code == 200, page.text
    assert f'data-run="{book["run"].id}"' in page.text
    assert f"scoring run {book['older'].id}" in page.text
    assert 'href="/analytics/reports/summary.pdf"' in page.text
    assert 'href="/analytics/reports/summary.xlsx"' in page.text
    download = client.get("/analytics/reports/summary.pdf")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert "甲0" in pdf_text(download.content) and "乙0" not in pdf_text(download.content)


def test_the_page_and_the_workbook_speak_the_readers_language(
    client: TestClient, book: dict[str, Any]
) -> None:
    zh = {**book["admin_headers"], "Accept-Language": "zh-CN,zh;q=0.9"}
    workbook = _workbook(client.get(XLSX, headers=zh))
    assert workbook.sheetnames[1] == "价值分层"
    assert _rows(workbook["价值分层"])[1][0].startswith("屈从型")
    admin = book["admin"]
    client.cookies.set("guanxi_locale", "zh_CN")
    assert sign_in(client, admin.username, admin.password).status_code == 303
    assert "分析与报告" in client.get("/analytics/reports").text


def test_the_dashboards_filters_narrow_the_report_and_are_audited(
    client: TestClient, session: Session, book: dict[str, Any]
) -> None:
    east = session.get(Customer, book["mine"][0])
    assert east is not None
    east.region = "华东"
    session.flush()
    reply = client.get(f"{XLSX}?region=华东", headers=book["admin_headers"])
    workbook = _workbook(reply)
    summary = _figures(workbook["Summary"])
    assert summary["Customers scored"] == 1 and summary["Region"] == "华东"
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "analysis_report")
    ).one()
    assert entry.changes["filter"] == {"region": "华东"}
    bad = client.get(f"{PDF}?team_id=east", headers=book["admin_headers"])
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")

    admin = book["admin"]
    assert sign_in(client, admin.username, admin.password).status_code == 303
    page = client.get("/analytics/reports?region=华东")
    assert page.status_code == 200 and "data-filters" in page.text
    assert 'summary.pdf?region=%E5%8D%8E%E4%B8%9C"' in page.text
    download = client.get("/analytics/reports/summary.xlsx?region=%E5%8D%8E%E4%B8%9C")
    assert _figures(_workbook(download)["Summary"])["Customers scored"] == 1
