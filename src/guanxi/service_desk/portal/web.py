"""The portal's request plumbing: who the signed-in customer is, its CSRF checks, and errors
drawn as portal pages (a customer never lands on the staff sign-in or the staff layout).

To the staff permission system every portal route is public: staff sessions and API tokens give
no access here, and the portal session gives none there. What guards a portal page is
``PortalCustomerDep``, which reads only the portal cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from guanxi.audit import tracking as audit
from guanxi.deps import DbSession, SubmittedCsrf, client_address
from guanxi.errors import N_, GuanxiError, NotAuthenticated, NotFound, PermissionDenied
from guanxi.service_desk.portal import auth
from guanxi.web import i18n
from guanxi.web.templating import render

LOGIN_PATH = "/portal/login"
# a double-submit token for the forms shown before sign-in, on the portal's own path
ANONYMOUS_CSRF_COOKIE = "guanxi_portal_csrf"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(NotAuthenticated):
    """No live portal session: the customer is sent to the portal's sign-in page."""


@dataclass(frozen=True)
class PortalCustomer:
    """The signed-in customer, copied out of the session row."""

    customer_id: int
    session_id: int
    email_address: str
    csrf_token: str


def current_customer(
    request: Request, session: DbSession, submitted: SubmittedCsrf
) -> PortalCustomer:
    record = auth.resolve_session(session, token=request.cookies.get(auth.COOKIE, ""))
    if record is None:
        raise SignInRequired(N_("Sign in first."))
    if request.method in _UNSAFE and not (
        submitted and secrets.compare_digest(submitted, record.csrf_token)
    ):
        raise PermissionDenied(
            N_("The form has expired or did not come from this site; reload the page.")
        )
    # whatever a staff cookie in the same browser said, here the customer acts for themselves
    audit.set_actor(session, auth.customer_actor(record.customer_id, client_address(request)))
    return PortalCustomer(
        customer_id=record.customer_id,
        session_id=record.id,
        email_address=record.email_address,
        csrf_token=record.csrf_token,
    )


PortalCustomerDep = Annotated[PortalCustomer, Depends(current_customer)]


def anonymous_csrf(request: Request, submitted: SubmittedCsrf) -> None:
    cookie = request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    if not cookie or not submitted or not secrets.compare_digest(cookie, submitted):
        raise PermissionDenied(N_("The form has expired; reload the page and try again."))


def render_portal(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    customer: PortalCustomer | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A portal page; forms carry ``portal_csrf``: the session's token once signed in, else a
    double-submit token kept in a cookie of the portal's own."""
    new_cookie = None
    if customer is not None:
        token = customer.csrf_token
    else:
        token = request.cookies.get(ANONYMOUS_CSRF_COOKIE) or ""
        if not token:
            token = new_cookie = secrets.token_urlsafe(32)
    response = render(
        request,
        template,
        {"portal": customer, "portal_csrf": token, **(context or {})},
        status_code=status_code,
    )
    if new_cookie:
        set_cookie(request, response, ANONYMOUS_CSRF_COOKIE, new_cookie, max_age=None)
    return response


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None
) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=auth.COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
    )


def error_page(request: Request, error: GuanxiError) -> Response:
    if isinstance(error, SignInRequired):
        return RedirectResponse(LOGIN_PATH, status_code=303)
    response = render_portal(
        request,
        "portal/error.html",
        {
            "status": error.status,
            "title": i18n.gettext(error.title),
            "detail": i18n.translate_template(error.template, dict(error.params)),
        },
        status_code=error.status,
    )
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


class PortalRoute(APIRoute):
    """Draws the errors of portal routes as portal pages instead of the staff's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except GuanxiError as error:
                return error_page(request, error)
            except (RequestValidationError, StarletteHTTPException):
                # a path that is not a number, say: as absent as a record that is not there
                return error_page(request, NotFound(N_("This page does not exist.")))

        return portal_handler
