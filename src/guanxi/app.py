"""The FastAPI application: JSON API under /api/v1, pages, static files and the embedded worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from guanxi import __version__, crypto, jobs
from guanxi.analytics import api as analytics_api
from guanxi.analytics import pages as analytics_pages
from guanxi.analytics import run_pages as analytics_run_pages
from guanxi.analytics import worklist_pages as analytics_worklist_pages
from guanxi.analytics.reports import api as analytics_reports_api
from guanxi.analytics.reports import pages as analytics_reports_pages
from guanxi.audit import api as audit_api
from guanxi.audit import pages as audit_pages
from guanxi.auth import admin_pages as auth_admin_pages
from guanxi.auth import api as auth_api
from guanxi.auth import pages as auth_pages
from guanxi.auth import role_pages as auth_role_pages
from guanxi.config import Settings
from guanxi.customers import admin_pages as customers_admin_pages
from guanxi.customers import api as customers_api
from guanxi.customers import list_pages as customers_list_pages
from guanxi.customers import merge_pages as customers_merge_pages
from guanxi.customers import pages as customers_pages
from guanxi.customers import records_api as customers_records_api
from guanxi.customers.transfer import import_api as customers_import_api
from guanxi.customers.transfer import import_pages as customers_import_pages
from guanxi.db import Database
from guanxi.deps import public
from guanxi.health import router as health_router
from guanxi.interactions import api as interactions_api
from guanxi.interactions import pages as interactions_pages
from guanxi.interactions import timeline_api as interactions_timeline_api
from guanxi.interactions.events import api as interactions_events_api
from guanxi.interactions.events import pages as interactions_events_pages
from guanxi.interactions.followups import api as interactions_follow_up_api
from guanxi.interactions.followups import calendar_api as interactions_calendar_api
from guanxi.interactions.followups import pages as interactions_follow_up_pages
from guanxi.interactions.mail import api as interactions_mail_api
from guanxi.interactions.mail import pages as interactions_mail_pages
from guanxi.marketing.segments import api as segments_api
from guanxi.marketing.segments import pages as segments_pages
from guanxi.notifications import api as notifications_api
from guanxi.notifications import pages as notifications_pages
from guanxi.sales import pages as sales_pages
from guanxi.sales.contracts import api as contracts_api
from guanxi.sales.contracts import pages as contracts_pages
from guanxi.sales.funnel import api as funnel_api
from guanxi.sales.funnel import pages as funnel_pages
from guanxi.sales.orders import api as orders_api
from guanxi.sales.orders import erp_api as orders_erp_api
from guanxi.sales.orders import pages as orders_pages
from guanxi.sales.pipeline import api as pipeline_api
from guanxi.sales.pipeline import pages as pipeline_pages
from guanxi.sales.products import api as products_api
from guanxi.sales.products import pages as products_pages
from guanxi.service_desk import admin_pages as service_admin_pages
from guanxi.service_desk import api as tickets_api
from guanxi.service_desk import pages as service_pages
from guanxi.service_desk import routing_pages as service_routing_pages
from guanxi.service_desk import satisfaction_pages, sla_api, stations_api, survey_pages, surveys_api
from guanxi.service_desk.portal import admin as portal_admin
from guanxi.service_desk.portal import pages as portal_pages
from guanxi.web import pages as web_pages
from guanxi.web import problems, templating, vendor
from guanxi.webhooks import api as webhooks_api
from guanxi.webhooks import pages as webhooks_pages

log = logging.getLogger("guanxi")
PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "web" / "static"
# each domain's own scripts and styles, served under /static/<domain>/
DOMAIN_STATIC_DIRS = sorted(p for p in PACKAGE_DIR.glob("*/static") if p.parent.name != "web")
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
OPENAPI_URL = "/api/openapi.json"

API_ROUTERS = (
    health_router,
    auth_api.router,
    audit_api.router,
    customers_records_api.router,
    customers_api.router,
    customers_import_api.router,
    products_api.router,
    pipeline_api.router,
    orders_erp_api.router,  # before /orders/{order_id}
    orders_api.router,
    contracts_api.router,
    funnel_api.router,
    analytics_api.router,
    analytics_reports_api.router,
    interactions_mail_api.router,  # before /interactions/{interaction_id}
    interactions_api.router,
    interactions_follow_up_api.router,
    interactions_calendar_api.router,
    interactions_events_api.router,
    interactions_timeline_api.router,
    webhooks_api.router,
    notifications_api.router,
    segments_api.router,
    tickets_api.router,
    sla_api.router,
    stations_api.router,
    surveys_api.router,
    portal_admin.api_router,
)
PAGE_ROUTERS = (
    web_pages.router,
    auth_pages.router,
    auth_admin_pages.router,
    auth_role_pages.router,
    audit_pages.router,
    customers_merge_pages.router,  # before the 360 page's /customers/{id} routes
    customers_import_pages.router,  # /customers/import and /customers/export
    customers_list_pages.router,
    customers_pages.router,
    customers_admin_pages.router,
    sales_pages.router,
    products_pages.router,
    pipeline_pages.router,
    orders_pages.router,
    contracts_pages.router,
    funnel_pages.router,
    analytics_run_pages.router,
    analytics_worklist_pages.router,
    analytics_reports_pages.router,
    interactions_mail_pages.router,
    interactions_follow_up_pages.router,
    interactions_events_pages.router,
    interactions_pages.router,
    analytics_pages.router,
    vendor.router,
    webhooks_pages.router,
    notifications_pages.router,
    segments_pages.router,
    service_pages.router,
    service_admin_pages.router,
    service_routing_pages.router,
    satisfaction_pages.router,
    survey_pages.router,
    portal_pages.router,
    portal_admin.router,
)

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Pages use only our own scripts and styles; the API docs page needs one inline bootstrap script.
_PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:"
)


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    sessions: sessionmaker[Session] | None = None,
    job_queue: jobs.JobQueue | None = None,
    embedded_worker: bool | None = None,
) -> FastAPI:
    """Build the app. Tests pass ``sessions`` bound to a rolled-back transaction."""
    db = database or Database(settings.database_url, timezone=settings.timezone)
    crypto.configure(settings)
    queue = job_queue or jobs.build_queue(settings, db)
    run_worker = settings.embedded_worker if embedded_worker is None else embedded_worker

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        jobs.install(queue)
        consumer = None
        if run_worker:
            consumer = queue.consumer(workers=2, embedded=True)
            consumer.start()
            log.info("embedded job worker started")
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)
            if database is None:
                db.dispose()

    app = FastAPI(
        title="Guanxi CRM",
        version=__version__,
        description="Customer relationship management with an analytical core. "
        "Authenticate with `Authorization: Bearer <token>` from `POST /api/v1/auth/token`.",
        openapi_url=None,  # served by a route that declares itself public, like every route
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.sessions = sessions or db.sessions
    app.state.jobs = queue

    problems.install(app)
    app.middleware("http")(_security_headers)
    app.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    for directory in DOMAIN_STATIC_DIRS:
        domain = directory.parent.name
        app.mount(f"/static/{domain}", StaticFiles(directory=directory), name=f"{domain}-static")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(docs_router)
    for router in API_ROUTERS:
        app.include_router(router)
    for router in PAGE_ROUTERS:
        app.include_router(router, dependencies=[Depends(templating.page_language)])
    return app


# Built once at import: endpoints made inside create_app would close over each app, and
# FastAPI's caches keyed by endpoint would then keep every app ever made (and its database).
docs_router = APIRouter(include_in_schema=False)


@docs_router.get(OPENAPI_URL, dependencies=[public])
def openapi_document(request: Request) -> dict[str, object]:
    app: FastAPI = request.app
    return app.openapi()


@docs_router.get("/api/docs", dependencies=[public])
def api_docs() -> HTMLResponse:
    """Interactive API documentation, served from local files so it works offline."""
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="Guanxi API",
        swagger_js_url="/static/docs/swagger-ui-bundle.js",
        swagger_css_url="/static/docs/swagger-ui.css",
        swagger_favicon_url="/static/docs/favicon.png",
    )


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for key, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    is_docs = request.url.path == "/api/docs"
    response.headers.setdefault("Content-Security-Policy", _DOCS_CSP if is_docs else _PAGE_CSP)
    return response
