"""Every error becomes an RFC 9457 problem: JSON for the API, a page for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from guanxi.errors import (
    N_,
    Conflict,
    FieldError,
    GuanxiError,
    InvalidInput,
    NotAuthenticated,
    PreconditionFailed,
    ServiceUnavailable,
)
from guanxi.web import i18n

log = logging.getLogger("guanxi")
PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "/problems/"

_HTTP_TITLES = {
    400: N_("Bad request"),
    401: N_("Not authenticated"),
    403: N_("Permission denied"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    412: N_("Precondition failed"),
    413: N_("Content too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal server error"),
    503: N_("Service unavailable"),
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem_body(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return body


def _respond(
    request: Request, error: GuanxiError, headers: dict[str, str] | None = None
) -> Response:
    if not wants_json(request):
        return _page(request, error, headers)
    body = problem_body(
        request,
        status=error.status,
        title=error.title,
        detail=error.detail,
        slug=error.slug,
        errors=error.errors,
    )
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM_JSON, headers=headers)


def _page(request: Request, error: GuanxiError, headers: dict[str, str] | None) -> Response:
    if isinstance(error, NotAuthenticated) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    from guanxi.web.templating import render  # the templates need the app's request state

    response = render(
        request,
        "error.html",
        {
            "status": error.status,
            "title": i18n.gettext(error.title),
            "detail": i18n.translate_template(error.template, dict(error.params)),
        },
        status_code=error.status,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(GuanxiError)
    async def _domain_error(request: Request, error: GuanxiError) -> Response:
        headers = {}
        retry_after = getattr(error, "retry_after_seconds", None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return _respond(request, error, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> Response:
        fields = [
            FieldError(".".join(str(part) for part in e["loc"]), e["msg"]) for e in error.errors()
        ]
        return _respond(
            request,
            InvalidInput(N_("The request has fields that are missing or wrong."), errors=fields),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        title = _HTTP_TITLES.get(error.status_code, "Error")
        generic = GuanxiError(str(error.detail) if error.detail else title)
        generic.status, generic.title = error.status_code, title
        generic.slug = title.lower().replace(" ", "-")
        return _respond(request, generic, dict(error.headers or {}))

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, _error: StaleDataError) -> Response:
        return _respond(
            request,
            PreconditionFailed(N_("Someone else changed this record at the same time; reload it.")),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, error: IntegrityError) -> Response:
        log.info("integrity error on %s: %s", request.url.path, error.orig)
        return _respond(request, Conflict(N_("The change conflicts with existing data.")))

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, error: OperationalError) -> Response:
        log.error("database error on %s: %s", request.url.path, error.orig)
        return _respond(
            request, ServiceUnavailable(N_("The database is not reachable; try again shortly."))
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        internal = GuanxiError(N_("Something went wrong on our side; it has been logged."))
        internal.status, internal.title, internal.slug = 500, "Internal server error", "internal"
        return _respond(request, internal)
