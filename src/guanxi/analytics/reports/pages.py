"""The reports page (分析与报告) under ``/analytics/reports``: which scoring run the report is
based on and what it holds, with the XLSX and PDF downloads. Reading the page needs
``reports:read``, downloading ``reports:export``; downloads are audited and speak the page's
language. The dashboards' filters in the URL (``?team_id=3&region=华东``) narrow the report and
are passed on to the downloads, so the dashboard can link to the report of what it shows.
Without a finished run the page says so with a 404."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.analytics.dashboard_scope import Scope, scope_from
from guanxi.analytics.reports import content, exports
from guanxi.analytics.reports.api import file_response
from guanxi.analytics.reports.tables import TITLE
from guanxi.auth.models import User
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, NotFound
from guanxi.web import i18n
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)

Exporter = Annotated[User, require("reports", "export")]

SECTIONS = (
    N_("Headline figures and what changed since the previous run"),
    N_("Value tiers with customers, revenue, profit and CLV, charted"),
    N_("Pareto (80/20) analysis with the Lorenz curve and the top customers"),
    N_("Lifecycle stages and the movements between them"),
    N_("RFM segments"),
    N_("Churn risk by tier, the churn-cause model and its causes"),
    N_("Win-back candidates"),
    N_("Cohort retention over the first months"),
)


@router.get("/analytics/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("reports", "read")],
) -> HTMLResponse:
    scope = scope_from(request.query_params)
    context: dict[str, Any] = {
        "title": TITLE,
        "sections": SECTIONS,
        "filters": content.describe(session, scope),
        "query": "?" + urlencode(scope.values) if scope.values else "",
    }
    try:
        context["run"] = content.run_info(session)
    except NotFound as missing:
        context["missing"] = missing.template
        return render(request, "analytics/reports.html", context, status_code=404)
    return render(request, "analytics/reports.html", context)


def _download(
    session: DbSession,
    actor: User,
    settings: SettingsDep,
    scope: Scope,
    file_format: exports.Format,
) -> Response:
    return file_response(
        exports.export(
            session=session,
            actor=actor,
            file_format=file_format,
            locale=i18n.current_locale(),  # the page's language, set for every page request
            settings=settings,
            database_engine=content.database_engine(session),
            scope=scope,
        )
    )


@router.get("/analytics/reports/summary.xlsx")
def download_xlsx(
    request: Request, session: DbSession, actor: Exporter, settings: SettingsDep
) -> Response:
    return _download(session, actor, settings, scope_from(request.query_params), "xlsx")


@router.get("/analytics/reports/summary.pdf")
def download_pdf(
    request: Request, session: DbSession, actor: Exporter, settings: SettingsDep
) -> Response:
    return _download(session, actor, settings, scope_from(request.query_params), "pdf")
