"""The analysis report (分析与报告) as files under ``/api/v1/analytics/reports``: the summary of
the latest scoring run over the customers the caller may see, as XLSX or PDF, in the caller's
language, narrowed by the dashboards' filters (period, channel, team, region) when given.
Downloading needs ``reports:export``; every download is audited; without a finished run the
answer is a 404 problem."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from guanxi.analytics.api import ScopeDep
from guanxi.analytics.dashboard_scope import Scope
from guanxi.analytics.reports import content, exports
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.web import i18n

router = APIRouter(prefix="/api/v1/analytics/reports", tags=["analytics"])

Exporter = Annotated[User, require("reports", "export")]
_FILES: dict[str, Any] = {
    "content": {media: {} for media in exports.MEDIA_TYPES.values()},
    "description": "The report file",
}


def file_response(made: exports.ReportFile) -> Response:
    """The file as a download; the name is also sent in RFC 6266 form."""
    disposition = (
        f"attachment; filename=\"{made.filename}\"; filename*=UTF-8''{quote(made.filename)}"
    )
    return Response(
        made.body, media_type=made.media_type, headers={"Content-Disposition": disposition}
    )


def _download(
    request: Request,
    session: Session,
    actor: User,
    settings: Settings,
    scope: Scope,
    file_format: exports.Format,
) -> Response:
    locale = actor.locale or i18n.negotiate(
        request.headers.get("accept-language"), settings.default_locale
    )
    return file_response(
        exports.export(
            session=session,
            actor=actor,
            file_format=file_format,
            locale=locale,
            settings=settings,
            database_engine=content.database_engine(session),
            scope=scope,
        )
    )


@router.get("/summary.xlsx", response_class=Response, responses={200: _FILES})
def summary_xlsx(
    request: Request, session: DbSession, actor: Exporter, settings: SettingsDep, scope: ScopeDep
) -> Response:
    """The report as a workbook: a sheet per section (summary and changes since the previous
    run, value tiers, Pareto, lifecycle, RFM, churn, win-back candidates, cohorts). Audited."""
    return _download(request, session, actor, settings, scope, "xlsx")


@router.get("/summary.pdf", response_class=Response, responses={200: _FILES})
def summary_pdf(
    request: Request, session: DbSession, actor: Exporter, settings: SettingsDep, scope: ScopeDep
) -> Response:
    """The report as an A4 PDF with the headline figures, the value-tier and Pareto charts and
    every section's tables. Audited."""
    return _download(request, session, actor, settings, scope, "pdf")
