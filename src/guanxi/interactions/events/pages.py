"""Web events settings page (/admin/web-events): how long events are kept, the shop origins that
may send them, the ingest key (a new one is shown once) with the snippet to paste into the shop's
pages, and what the store holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_
from guanxi.interactions.events import ingest_settings as events_settings
from guanxi.interactions.events import service as events
from guanxi.interactions.events.schemas import WebEventSettingsIn
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/web-events"
Manager = Annotated[User, require("settings", "manage")]


def snippet_tag(settings: Settings, key: str | None) -> str:
    """The tag a shop page includes; the key is filled in only right after it was made."""
    base = settings.public_url.rstrip("/")
    return (
        f'<script src="{base}/static/interactions/guanxi-events.js" '
        f'data-endpoint="{base}/api/v1/events" '
        f'data-key="{key or "YOUR-INGEST-KEY"}" async></script>'
    )


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    new_key: str | None = None,
    values: dict[str, str] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    stored = events_settings.load(session)
    return render(
        request,
        "interactions/web_events_admin.html",
        {
            "stored": stored,
            "rotated_at": events_settings.rotated_at(stored),
            "overview": events.overview(session),
            "new_key": new_key,
            "snippet": snippet_tag(settings, new_key),
            "endpoint": settings.public_url.rstrip("/") + "/api/v1/events",
            "values": values
            or {
                "retention_days": str(stored.retention_days),
                "allowed_origins": "\n".join(stored.allowed_origins),
            },
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get(PAGE, response_class=HTMLResponse)
def web_events_admin(
    request: Request, session: DbSession, settings: SettingsDep, _: Manager
) -> HTMLResponse:
    return _page(request, session, settings)


@router.post(PAGE)
def save_web_event_settings(
    request: Request, session: DbSession, settings: SettingsDep, data: FormData, _: Manager
) -> Response:
    values = {k: str(v) for k, v in data.items()}
    try:
        form = parse(WebEventSettingsIn, data)
        with refusals(session):
            events_settings.save(
                session, retention_days=form.retention_days, allowed_origins=form.origins()
            )
    except FormInvalid as invalid:
        return _page(request, session, settings, values=values, invalid=invalid)
    return redirect(request, PAGE, flash=N_("Changes saved."))


@router.post(f"{PAGE}/key", response_class=HTMLResponse)
def rotate_ingest_key(
    request: Request, session: DbSession, settings: SettingsDep, _: Manager
) -> HTMLResponse:
    """A new key, shown on this answer only; the old one stops working at once."""
    key = events_settings.rotate_key(session)
    return _page(request, session, settings, new_key=key)
