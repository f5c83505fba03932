"""The shell's own pages: home, the area landing pages, language switch, and the admin index."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from guanxi.auth.models import User
from guanxi.auth.permissions import RESOURCES
from guanxi.deps import (
    CSRF_COOKIE,
    LOCALE_COOKIE,
    PERMISSION_ATTRIBUTE,
    CurrentUser,
    DbSession,
    PrincipalDep,
    SubmittedCsrf,
    public,
)
from guanxi.errors import N_, NotAuthenticated, PermissionDenied
from guanxi.web import i18n
from guanxi.web.templating import AREA_PATHS, render

router = APIRouter(include_in_schema=False)

# What each area will hold, shown on its landing page until its domain adds real pages.
AREA_SUMMARIES = {
    "customers": N_("Customers and contacts, tags, consent, import and export."),
    "interactions": N_("Every touchpoint with a customer, follow-up plans and reminders."),
    "sales": N_("Opportunities, orders, invoices, shipments and contracts."),
    "service": N_("Complaints, inquiries, suggestions and service requests."),
    "marketing": N_("Campaigns, segments, automation and loyalty."),
    "analytics": N_("Segmentation, value tiers, lifetime value, lifecycle and churn."),
}


def require_area(area: str) -> Any:
    """Depends() for an area page: the user may read at least one resource of the area."""

    def dependency(principal: PrincipalDep, request: Request, submitted: SubmittedCsrf) -> User:
        if principal is None:
            raise NotAuthenticated(N_("Sign in first."))
        resources = [name for name, owner in RESOURCES.items() if owner == area]
        if not any(principal.user.can(r, "read") for r in resources):
            raise PermissionDenied(N_("Your role has no access to this area."))
        return principal.user

    dependency.__name__ = f"require_area_{area}"
    setattr(dependency, PERMISSION_ATTRIBUTE, f"area:{area}")
    return Depends(dependency)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: CurrentUser) -> HTMLResponse:
    return render(request, "home.html", {"summaries": AREA_SUMMARIES})


def _area_page(area: str) -> Any:
    def page(request: Request) -> HTMLResponse:
        return render(request, "area.html", {"area": area, "summary": AREA_SUMMARIES[area]})

    page.__name__ = f"{area}_home"
    return page


# the customers and sales areas open on their own pages (guanxi.customers.list_pages,
# guanxi.sales.pages); the rest keep a landing page until their domain adds pages
_OWN_PAGES = ("customers", "sales", "interactions", "service", "marketing", "analytics")
for _area in (a for a in AREA_SUMMARIES if a not in _OWN_PAGES):
    router.add_api_route(
        AREA_PATHS[_area],
        _area_page(_area),
        methods=["GET"],
        response_class=HTMLResponse,
        dependencies=[require_area(_area)],
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, user: Annotated[User, require_area("admin")]) -> HTMLResponse:
    return render(request, "admin.html")


@router.post("/locale", dependencies=[public])
def switch_language(
    request: Request,
    principal: PrincipalDep,
    session: DbSession,
    submitted: SubmittedCsrf,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Switch the interface language; a signed-in user keeps the choice on their account."""
    expected = (
        principal.web_session.csrf_token
        if principal and principal.web_session
        else request.cookies.get(CSRF_COOKIE)
    )
    if not expected or not submitted or not secrets.compare_digest(expected, submitted):
        raise PermissionDenied(N_("The form has expired; reload the page and try again."))
    if locale not in i18n.LANGUAGE_NAMES:
        locale = "en"
    if principal is not None:
        principal.user.locale = locale
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
    return response


def safe_next(target: str | None) -> str:
    """Only same-site paths, so a crafted link cannot send a user elsewhere after a form."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
