"""Interaction pages: the interactions list (the Interactions area's landing page), quick logging
from the customer page and the global "log a call" box, and an interaction's own page with its
edit form. Every write goes through the interaction service (visibility, links, versions)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_
from guanxi.interactions import service
from guanxi.interactions.customer_records import link_choices
from guanxi.interactions.labels import (
    CHANNEL_LABELS,
    DIRECTION_LABELS,
    OUTCOME_LABELS,
    SOURCE_LABELS,
)
from guanxi.interactions.models import Interaction
from guanxi.interactions.schemas import InteractionCreate, InteractionUpdate
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, local_input, parse, refusals
from guanxi.web.templating import ENVIRONMENT, redirect, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
LABELS = {
    "channel_labels": CHANNEL_LABELS,
    "direction_labels": DIRECTION_LABELS,
    "outcome_labels": OUTCOME_LABELS,
    "source_labels": SOURCE_LABELS,
}
# the top bar's "log a call" box is drawn by the layout on every page, so its choices are there
ENVIRONMENT.globals["interaction_labels"] = LABELS
# text fields an edit may empty; other blank fields mean "not given"
CLEARABLE = ("subject", "notes", "outcome")


def _local_moment(text: str, zone: ZoneInfo) -> datetime:
    """A ``datetime-local`` field's value in the user's zone, as an aware time."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=zone)
    except ValueError as exc:
        raise FormInvalid({"occurred_at": i18n.gettext(N_("Not a date and time."))}) from exc


def _local_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _form_fields(data: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """Form values as the API schemas take them: a typed local time becomes an aware one, a
    duration in minutes becomes seconds."""
    fields = {k: v for k, v in data.items() if k not in ("next", "version", "duration_minutes")}
    occurred = str(data.get("occurred_at", "")).strip()
    if occurred:
        fields["occurred_at"] = _local_moment(occurred, zone)
    minutes = str(data.get("duration_minutes", "")).strip()
    if minutes:
        try:
            fields["duration_seconds"] = round(float(minutes) * 60)
        except ValueError as exc:
            message = i18n.gettext(N_("Must be a number of minutes."))
            raise FormInvalid({"duration_minutes": message}) from exc
    return fields


def _errors_for_form(invalid: FormInvalid) -> dict[str, str]:
    # the form asks for minutes where the API speaks of seconds
    errors = dict(invalid.errors)
    if "duration_seconds" in errors:
        errors["duration_minutes"] = errors.pop("duration_seconds")
    return errors


def _safe_next(target: str, fallback: str) -> str:
    """Only a path on this site: a crafted form must not send people elsewhere."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


# ---------------------------------------------------------------- list


@router.get("/interactions", response_class=HTMLResponse)
def interaction_list(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "read")],
    channel: str = "",
    direction: str = "",
    customer_id: str = "",
    mine: str = "",
    day_from: Annotated[str, Query(alias="from")] = "",
    day_to: Annotated[str, Query(alias="to")] = "",
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Filters live in the URL, so a filtered list is a link to share. ``from`` and ``to``
    are days in the user's time zone, both included."""
    zone = actor.zone(settings.zone)
    first, last = _local_day(day_from), _local_day(day_to)
    customer = int(customer_id) if customer_id.isdigit() else None
    page = service.list_interactions(
        session=session,
        actor=actor,
        customer_id=customer,
        channel=channel if channel in CHANNEL_LABELS else None,
        direction=direction if direction in DIRECTION_LABELS else None,
        user_id=actor.id if mine else None,
        occurred_from=datetime.combine(first, time(0), zone) if first else None,
        occurred_to=datetime.combine(last + timedelta(days=1), time(0), zone) if last else None,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    filters = {
        "channel": channel,
        "direction": direction,
        "customer_id": customer_id,
        "mine": mine,
        "from": day_from,
        "to": day_to,
    }
    kept = {k: v for k, v in filters.items() if v}
    next_url = None
    if page.next_cursor:
        next_url = "/interactions?" + urlencode({**kept, "cursor": page.next_cursor})
    return render(
        request,
        "interactions/interaction_list.html",
        {
            **LABELS,
            "tab": "interactions",
            "interactions": page.items,
            "customer_names": _customer_names(session, {i.customer_id for i in page.items}),
            "user_names": _user_names(session, {i.user_id for i in page.items}),
            "customer": session.get(Customer, customer) if customer else None,
            "values": filters,
            "filtered": bool(kept),
            "next_url": next_url,
            "first_url": ("/interactions?" + urlencode(kept)) if cursor else None,
        },
    )


def _customer_names(session: DbSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {customer_id: name for customer_id, name in rows}


def _user_names(session: DbSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.label for u in session.scalars(select(User).where(User.id.in_(wanted)))}


# ---------------------------------------------------------------- quick log


@router.post("/interactions/log")
def interaction_log(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "create")],
) -> Response:
    """The quick-log forms (customer page, "log a call" box) post here and go back where they
    came from; a refused form is shown again on its own page with the reasons."""
    raw_id = str(data.get("customer_id", ""))
    customer = (
        customer_service.get(session=session, actor=actor, customer_id=int(raw_id))
        if raw_id.isdigit()
        else None
    )
    back = _safe_next(
        str(data.get("next", "")),
        f"/customers/{customer.id}#interactions" if customer else "/interactions",
    )
    try:
        if customer is None:
            raise FormInvalid({"customer_id": i18n.gettext(N_("Choose a customer."))})
        interaction_in = parse(InteractionCreate, _form_fields(data, actor.zone(settings.zone)))
        with refusals(session):
            service.log(session, actor=actor, source="manual", **interaction_in.model_dump())
    except FormInvalid as invalid:
        return render(
            request,
            "interactions/interaction_log.html",
            {
                **LABELS,
                "tab": "interactions",
                "customer": customer,
                **(link_choices(session, actor, customer) if customer else {}),
                "values": data,
                "next": back,
                "errors": _errors_for_form(invalid),
                "message": invalid.message,
            },
            status_code=422,
        )
    return redirect(request, back, flash=N_("Interaction with {name} logged."), name=customer.name)


# ---------------------------------------------------------------- record


def _values(interaction: Interaction, zone: ZoneInfo) -> dict[str, Any]:
    duration = interaction.duration_seconds
    return {
        "channel": interaction.channel,
        "direction": interaction.direction,
        "subject": interaction.subject,
        "notes": interaction.notes,
        "outcome": interaction.outcome,
        "contact_id": interaction.contact_id or "",
        "opportunity_id": interaction.opportunity_id or "",
        "order_id": interaction.order_id or "",
        "occurred_at": local_input(interaction.occurred_at, zone),
        "duration_minutes": "" if duration is None else f"{duration / 60:g}",
        "version": interaction.version,
    }


def _record(
    request: Request,
    session: DbSession,
    actor: User,
    interaction: Interaction,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    customer = session.get(Customer, interaction.customer_id)
    return render(
        request,
        "interactions/interaction_detail.html",
        {
            **LABELS,
            "tab": "interactions",
            "interaction": interaction,
            "customer": customer,
            "contact_name": _contact_name(session, interaction),
            "user_name": _user_names(session, {interaction.user_id}).get(
                interaction.user_id or 0, ""
            ),
            **(link_choices(session, actor, customer) if customer else {}),
            "values": values,
            "errors": _errors_for_form(invalid) if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


def _contact_name(session: DbSession, interaction: Interaction) -> str:
    from guanxi.customers.models import Contact

    if interaction.contact_id is None:
        return ""
    contact = session.get(Contact, interaction.contact_id)
    return contact.name if contact is not None else ""


@router.get("/interactions/{interaction_id:int}", response_class=HTMLResponse)
def interaction_record(
    interaction_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "read")],
) -> HTMLResponse:
    interaction = service.get(session=session, actor=actor, interaction_id=interaction_id)
    return _record(
        request, session, actor, interaction, _values(interaction, actor.zone(settings.zone))
    )


@router.post("/interactions/{interaction_id:int}/edit")
def interaction_update(
    interaction_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "update")],
) -> Response:
    interaction = service.get(session=session, actor=actor, interaction_id=interaction_id)
    values = dict(data)
    version = str(data.get("version", ""))
    try:
        interaction_in = parse(InteractionUpdate, _form_fields(data, actor.zone(settings.zone)))
        for name in CLEARABLE:
            if name in data and not str(data[name]).strip():
                setattr(interaction_in, name, "")
        for link in ("contact_id", "opportunity_id", "order_id"):
            if link in data and not str(data[link]).strip():
                setattr(interaction_in, link, None)  # "none" chosen: unlink
        if "duration_minutes" in data and not str(data["duration_minutes"]).strip():
            interaction_in.duration_seconds = None
        with refusals(session):
            service.apply_update(
                session=session,
                actor=actor,
                interaction=interaction,
                interaction_in=interaction_in,
                expected_version=int(version) if version.isdigit() else None,
            )
    except FormInvalid as invalid:
        interaction = service.get(session=session, actor=actor, interaction_id=interaction_id)
        return _record(request, session, actor, interaction, values, invalid)
    return redirect(request, f"/interactions/{interaction.id}", flash=N_("Interaction saved."))


@router.post("/interactions/{interaction_id:int}/delete")
def interaction_delete(
    interaction_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("interactions", "delete")],
) -> Response:
    interaction = service.get(session=session, actor=actor, interaction_id=interaction_id)
    customer_id = interaction.customer_id
    version = str(data.get("version", ""))
    service.delete(
        session=session,
        interaction=interaction,
        expected_version=int(version) if version.isdigit() else None,
    )
    return redirect(
        request, f"/customers/{customer_id}#interactions", flash=N_("Interaction deleted.")
    )
