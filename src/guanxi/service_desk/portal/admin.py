"""The administrator's side of the portal: which profile fields customers may change themselves,
as a page (/admin/portal) and as JSON (``/api/v1/portal/settings``); both need settings:manage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers.labels import FIELD_LABELS
from guanxi.deps import DbSession, require
from guanxi.errors import N_
from guanxi.service_desk.portal import settings as portal_settings
from guanxi.service_desk.portal.settings import EDITABLE_CHOICES, PortalSettings
from guanxi.web.forms import FormData, FormInvalid, refusals
from guanxi.web.templating import redirect, render

api_router = APIRouter(prefix="/api/v1/portal", tags=["portal"])
router = APIRouter(include_in_schema=False)
PAGE = "/admin/portal"
Manager = Annotated[User, require("settings", "manage")]


@api_router.get("/settings")
def read_portal_settings(session: DbSession, _: Manager) -> PortalSettings:
    """What customers may change in the portal."""
    return portal_settings.load(session)


@api_router.put("/settings")
def update_portal_settings(body: PortalSettings, session: DbSession, _: Manager) -> PortalSettings:
    """Replace the list of fields customers may change; 422 names a field that cannot be
    offered."""
    return portal_settings.save(session, body)


def _page(
    request: Request,
    session: Session,
    *,
    chosen: list[str] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    current = portal_settings.load(session).editable_fields
    return render(
        request,
        "portal/admin.html",
        {
            "choices": EDITABLE_CHOICES,
            "chosen": current if chosen is None else chosen,
            "field_labels": FIELD_LABELS,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get(PAGE, response_class=HTMLResponse)
def portal_admin(request: Request, session: DbSession, _: Manager) -> HTMLResponse:
    return _page(request, session)


@router.post(PAGE)
def save_portal_admin(request: Request, session: DbSession, data: FormData, _: Manager) -> Response:
    raw = data.get("editable_fields", [])
    chosen = [str(v) for v in (raw if isinstance(raw, list) else [raw]) if v]
    try:
        with refusals(session):
            portal_settings.save(session, PortalSettings(editable_fields=chosen))
    except FormInvalid as invalid:
        return _page(request, session, chosen=chosen, invalid=invalid)
    return redirect(request, PAGE, flash=N_("Changes saved."))
