"""Rendering pages: one Jinja2 environment over every domain's templates, in the user's locale."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from guanxi.auth.permissions import (
    ACTION_LABELS,
    AREA_LABELS,
    AREAS,
    RESOURCE_LABELS,
    RESOURCES,
    SCOPE_LABELS,
)
from guanxi.config import Settings
from guanxi.deps import CSRF_COOKIE, LOCALE_COOKIE, PrincipalDep, Viewer
from guanxi.web import i18n

PACKAGE_DIR = Path(__file__).resolve().parent.parent
FLASH_COOKIE = "guanxi_flash"

# The areas of MISSION.md in navigation order, with the page each one opens on.
AREA_PATHS = {
    "customers": "/customers",
    "interactions": "/interactions",
    "sales": "/sales",
    "service": "/service",
    "marketing": "/marketing",
    "analytics": "/analytics",
    "admin": "/admin",
}


def _template_dirs() -> list[str]:
    dirs = [str(PACKAGE_DIR / "web" / "templates")]
    dirs += sorted(str(p) for p in PACKAGE_DIR.glob("*/templates") if p.parent.name != "web")
    return dirs


def _audit_value(value: Any) -> str:
    """An audited value as people read it: empty shown as a dash, structures as JSON."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_template_dirs()),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.filters["date"] = i18n.fmt_date
    env.filters["datetime"] = i18n.fmt_datetime
    env.filters["money"] = i18n.fmt_money
    env.filters["number"] = i18n.fmt_number
    env.filters["audit_value"] = _audit_value
    env.globals.update(
        area_labels=AREA_LABELS,
        resource_labels=RESOURCE_LABELS,
        action_labels=ACTION_LABELS,
        scope_labels=SCOPE_LABELS,
    )
    return env


ENVIRONMENT = build_environment()


@dataclass(frozen=True)
class NavItem:
    area: str
    href: str
    active: bool


def request_locale(request: Request, user: Viewer | None, settings: Settings) -> str:
    """The user's own choice, else the language cookie, else the browser's, else the default."""
    if user is not None and user.locale:
        return user.locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in i18n.LANGUAGE_NAMES:
        return cookie
    return i18n.negotiate(request.headers.get("accept-language"), settings.default_locale)


def activate_for(request: Request) -> tuple[Viewer | None, str]:
    """Switch translations and time zone to the requesting user's; returns (user, locale)."""
    settings: Settings = request.app.state.settings
    user: Viewer | None = getattr(request.state, "viewer", None)
    locale = request_locale(request, user, settings)
    zone = ZoneInfo(user.timezone) if user and user.timezone else settings.zone
    i18n.activate(locale, zone)
    return user, locale


def navigation(user: Viewer | None, path: str) -> list[NavItem]:
    if user is None:
        return []
    items = []
    for area in AREAS:
        resources = [name for name, owner in RESOURCES.items() if owner == area]
        if any(user.can(resource, "read") for resource in resources):
            href = AREA_PATHS[area]
            items.append(NavItem(area, href, path == href or path.startswith(href + "/")))
    return items


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    user, locale = activate_for(request)
    settings: Settings = request.app.state.settings
    new_csrf_cookie = None
    if user is not None and user.csrf_token:
        csrf_token = user.csrf_token
    else:
        csrf_token = request.cookies.get(CSRF_COOKIE) or ""
        if not csrf_token:
            csrf_token = new_csrf_cookie = secrets.token_urlsafe(32)
    flash = read_flash(request, settings)
    page = ENVIRONMENT.get_template(template).render(
        request=request,
        user=user,
        locale=locale,
        languages=i18n.LANGUAGE_NAMES,
        csrf_token=csrf_token,
        nav=navigation(user, request.url.path),
        flash=flash,
        currency=settings.currency,
        unread_notifications=unread_notifications(request, user),
        **(context or {}),
    )
    response = HTMLResponse(page, status_code=status_code)
    if new_csrf_cookie:
        response.set_cookie(
            CSRF_COOKIE, new_csrf_cookie, httponly=True, samesite="strict", secure=_secure(settings)
        )
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    return response


def unread_notifications(request: Request, user: Viewer | None) -> int:
    """The bell's count for a signed-in user: one COUNT over the unread index, in a short
    session of its own (so an error page drawn after a rollback can still show it); nothing
    is counted for visitors, and a failing count hides the number rather than the page."""
    if user is None:
        return 0
    from guanxi.notifications.service import unread_count  # the layout depends on no domain

    try:
        with request.app.state.sessions() as session:
            return unread_count(session, user_id=user.id)
    except SQLAlchemyError:
        return 0


def _secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def _flash_serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt="guanxi.flash")


def redirect(
    request: Request, url: str, *, flash: str | None = None, **params: object
) -> RedirectResponse:
    """A 303 after a successful form post, optionally with a message for the next page.

    ``flash`` is an English template marked with N_(); it is translated when shown.
    """
    response = RedirectResponse(url, status_code=303)
    if flash:
        settings: Settings = request.app.state.settings
        value = _flash_serializer(settings).dumps({"t": flash, "p": params})
        response.set_cookie(
            FLASH_COOKIE, value, httponly=True, samesite="lax", secure=_secure(settings)
        )
    return response


def read_flash(request: Request, settings: Settings) -> str | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        data = _flash_serializer(settings).loads(value)
    except BadSignature:
        return None
    return i18n.translate_template(str(data.get("t", "")), dict(data.get("p") or {}))


async def page_language(request: Request, principal: PrincipalDep) -> None:
    """Every page request speaks the viewer's language from the start, so messages made while
    a form is parsed or a service refuses are translated too, not only the template. It is
    async on purpose: FastAPI runs async dependencies in the request's own context, which the
    thread running a sync page handler copies; a sync dependency's activation would be lost."""
    activate_for(request)
