"""Downloading the analysis report (分析与报告) as XLSX or PDF: build it over the customers the
viewer may see, in their language, name the file with the day it was made, and audit the export
(format, run and how many customers it covers), as customer exports are audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from guanxi.analytics.dashboard_scope import NO_SCOPE, Scope
from guanxi.analytics.reports import content
from guanxi.analytics.reports.words import Words
from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.config import Settings

Format = Literal["xlsx", "pdf"]
FORMATS: tuple[Format, ...] = ("xlsx", "pdf")
MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class ReportFile:
    filename: str
    media_type: str
    body: bytes
    run_id: int
    customers: int


def render(report: content.Report, file_format: Format, words: Words, *, viewer: str) -> bytes:
    # reportlab and openpyxl load when a file is first asked for, not with the web app
    from guanxi.analytics.reports import pdf, workbook

    if file_format == "xlsx":
        return workbook.workbook_bytes(report, words)
    return pdf.pdf_bytes(report, words, viewer=viewer)


def filename(report: content.Report, file_format: Format, zone: ZoneInfo) -> str:
    """``guanxi-report-2026-12-07.pdf``: the day the report was made, in the reader's zone."""
    day = report.generated_at.astimezone(zone).date().isoformat()
    return f"guanxi-report-{day}.{file_format}"


def record(
    *,
    session: Session,
    actor: User,
    report: content.Report,
    file_format: Format,
    via: str,
    scope: Scope = NO_SCOPE,
) -> None:
    """Audit that ``actor``'s report left the system (downloaded, or mailed to them)."""
    tracking.record(
        session,
        "export",
        "analysis_report",
        report.run.id,
        {
            "format": file_format,
            "customers": report.headline.customers,
            "via": via,
            "user_id": actor.id,
            "filter": dict(scope.values),
        },
    )


def export(
    *,
    session: Session,
    actor: User,
    file_format: Format,
    locale: str,
    settings: Settings,
    database_engine: Any,
    scope: Scope = NO_SCOPE,
    via: str = "download",
) -> ReportFile:
    """The report file for ``actor`` (narrowed to ``scope``), audited as an export. Raises
    ``NotFound`` when no scoring run has finished yet."""
    report = content.build(
        session=session,
        actor=actor,
        database_engine=database_engine,
        timezone=settings.timezone,
        scope=scope,
    )
    body = render(report, file_format, Words(locale, settings.currency), viewer=actor.label)
    record(
        session=session,
        actor=actor,
        report=report,
        file_format=file_format,
        via=via,
        scope=scope,
    )
    return ReportFile(
        filename(report, file_format, actor.zone(settings.zone)),
        MEDIA_TYPES[file_format],
        body,
        report.run.id,
        report.headline.customers,
    )
