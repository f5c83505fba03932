"""Follow-up pages: "my day" with overdue, today and upcoming, the follow-up list, record and
forms, completing and rescheduling inline, and the calendar URL on the account page. Every
write goes through ``interactions.followups.service`` (visibility, versions and checks live there).

Times are typed in the user's own time zone (``datetime-local``) and converted here, at the
boundary, to the aware UTC the service takes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users
from guanxi.customers import service as customer_service
from guanxi.db import as_utc, utcnow
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, NotFound
from guanxi.interactions.followups import calendar_feed
from guanxi.interactions.followups import service as followups
from guanxi.interactions.followups.schemas import (
    FollowUpComplete,
    FollowUpCreate,
    FollowUpReschedule,
    FollowUpUpdate,
)
from guanxi.interactions.labels import CHANNEL_LABELS, DIRECTION_LABELS, OUTCOME_LABELS
from guanxi.interactions.models import FollowUp
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, local_input, parse, refusals
from guanxi.web.pages import safe_next
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FORM_FIELDS = (
    "customer_id",
    "due_at",
    "assignee_id",
    "channel",
    "subject",
    "note",
    "recurrence",
    "recurrence_interval",
    "recurrence_until",
)
LABELS = {
    "channel_labels": CHANNEL_LABELS,
    "direction_labels": DIRECTION_LABELS,
    "outcome_labels": OUTCOME_LABELS,
    "recurrence_labels": followups.RECURRENCE_LABELS,
    "status_labels": followups.STATUS_LABELS,
}
WRONG_TIME = N_("Write the time as YYYY-MM-DD HH:MM.")


# ---------------------------------------------------------------- local time at the boundary


def _from_local(data: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The posted form with its local times as aware ISO times; raises FormInvalid for a
    time that cannot be read, naming the field."""
    cleaned = dict(data)
    errors: dict[str, str] = {}
    due = str(cleaned.get("due_at") or "").strip()
    if due:
        try:
            cleaned["due_at"] = as_utc(datetime.fromisoformat(due), zone).isoformat()
        except ValueError:
            errors["due_at"] = i18n.gettext(WRONG_TIME)
    until = str(cleaned.get("recurrence_until") or "").strip()
    if until:  # the last day counts whole, to its last second in the user's zone
        try:
            last_day = date.fromisoformat(until)
            end = datetime.combine(last_day + timedelta(days=1), time(), zone)
            cleaned["recurrence_until"] = (end - timedelta(seconds=1)).isoformat()
        except ValueError:
            errors["recurrence_until"] = i18n.gettext(N_("Write the date as YYYY-MM-DD."))
    if errors:
        raise FormInvalid(errors)
    return cleaned


# ---------------------------------------------------------------- my day


@router.get("/interactions/my-day", response_class=HTMLResponse)
def my_day_page(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "read")],
) -> HTMLResponse:
    zone = actor.zone(settings.zone)
    day = followups.my_day(session=session, user=actor, now=utcnow(), zone=zone)
    names = followups.customer_names(session, day.overdue + day.today + day.upcoming)
    return render(
        request,
        "interactions/my_day.html",
        {
            "tab": "my_day",
            "day": day,
            "customer_names": names,
            **LABELS,
        },
    )


# ---------------------------------------------------------------- list


@router.get("/interactions/follow-ups", response_class=HTMLResponse)
def follow_up_list(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
    status: str = "open",
    mine: str = "",
    customer_id: str = "",
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Filters live in the URL, so a filtered list is a link to share."""
    page = followups.list_follow_ups(
        session=session,
        actor=actor,
        assignee_id=actor.id if mine else None,
        customer_id=int(customer_id) if customer_id.isdigit() else None,
        status=status if status in followups.STATUS_LABELS else None,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    filters = {"status": status, "mine": mine, "customer_id": customer_id}
    kept = {k: v for k, v in filters.items() if v}
    items = list(page.items)
    next_url = None
    if page.next_cursor:
        next_url = "/interactions/follow-ups?" + urlencode({**kept, "cursor": page.next_cursor})
    return render(
        request,
        "interactions/follow_up_list.html",
        {
            "tab": "follow_ups",
            "follow_ups": items,
            "customer_names": followups.customer_names(session, items),
            "user_names": _user_names(session, {f.assignee_id for f in items}),
            "values": filters,
            "next_url": next_url,
            "first_url": ("/interactions/follow-ups?" + urlencode(kept)) if cursor else None,
            "now": utcnow(),
            **LABELS,
        },
    )


def _user_names(session: DbSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.label for u in session.scalars(select(User).where(User.id.in_(wanted)))}


# ---------------------------------------------------------------- new and edit


def _assignees(session: DbSession, actor: User, current: int | None) -> list[User]:
    users = reachable_users(session, actor)
    if current is not None and all(u.id != current for u in users):
        assignee = session.get(User, current)
        if assignee is not None:
            users.append(assignee)
    return users


def _form(
    request: Request,
    session: DbSession,
    actor: User,
    values: dict[str, Any],
    follow_up: FollowUp | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    customer_name = ""
    raw = str(values.get("customer_id") or "")
    if raw.isdigit():
        try:
            customer_name = customer_service.get(
                session=session, actor=actor, customer_id=int(raw)
            ).name
        except NotFound:  # reported by the save, next to the field
            customer_name = ""
    current = int(values["assignee_id"]) if str(values.get("assignee_id") or "").isdigit() else None
    return render(
        request,
        "interactions/follow_up_form.html",
        {
            "tab": "follow_ups",
            "follow_up": follow_up,
            "values": values,
            "customer_name": customer_name,
            "assignees": _assignees(session, actor, current),
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            **LABELS,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/interactions/follow-ups/new", response_class=HTMLResponse)
def follow_up_new(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "create")],
    customer_id: str = "",
    subject: str = "",
) -> HTMLResponse:
    tomorrow = datetime.combine(
        utcnow().astimezone(actor.zone(settings.zone)).date() + timedelta(days=1),
        time(9),
    )
    values = {
        "customer_id": customer_id,
        "subject": subject[:200],  # prefilled by links such as the portrait's next best action
        "due_at": tomorrow.strftime("%Y-%m-%dT%H:%M"),
        "assignee_id": actor.id,
        "channel": "phone",
        "recurrence": "none",
        "recurrence_interval": 1,
    }
    return _form(request, session, actor, values)


@router.post("/interactions/follow-ups/new")
def follow_up_create(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "create")],
) -> Response:
    try:
        follow_up_in = parse(FollowUpCreate, _from_local(data, actor.zone(settings.zone)))
        with refusals(session):
            follow_up = followups.create(session=session, actor=actor, follow_up_in=follow_up_in)
    except FormInvalid as invalid:
        return _form(request, session, actor, data, invalid=invalid)
    return redirect(request, _back(data, follow_up.id), flash=N_("The follow-up is planned."))


@router.get("/interactions/follow-ups/{follow_up_id:int}", response_class=HTMLResponse)
def follow_up_record(
    follow_up_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "read")],
) -> HTMLResponse:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    return _record(request, session, settings, actor, follow_up)


def _record(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: User,
    follow_up: FollowUp,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    names = followups.customer_names(session, [follow_up])
    people = _user_names(session, {follow_up.assignee_id, follow_up.created_by_id})
    return render(
        request,
        "interactions/follow_up_detail.html",
        {
            "tab": "follow_ups",
            "follow_up": follow_up,
            "customer_name": names.get(follow_up.customer_id, ""),
            "user_names": people,
            "previous": session.get(FollowUp, follow_up.previous_id)
            if follow_up.previous_id
            else None,
            "due_local": local_input(follow_up.due_at, actor.zone(settings.zone)),
            "overdue": follow_up.status == "open" and follow_up.due_at < utcnow(),
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            **LABELS,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/interactions/follow-ups/{follow_up_id:int}/edit", response_class=HTMLResponse)
def follow_up_edit(
    follow_up_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "update")],
) -> HTMLResponse:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    zone = actor.zone(settings.zone)
    values: dict[str, Any] = {name: getattr(follow_up, name) for name in FORM_FIELDS}
    values["due_at"] = local_input(follow_up.due_at, zone)
    until = follow_up.recurrence_until
    values["recurrence_until"] = until.astimezone(zone).date().isoformat() if until else ""
    values["version"] = follow_up.version
    return _form(request, session, actor, values, follow_up)


@router.post("/interactions/follow-ups/{follow_up_id:int}/edit")
def follow_up_update(
    follow_up_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "update")],
) -> Response:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    version = str(data.pop("version", ""))
    fields = {k: v for k, v in data.items() if k in FORM_FIELDS and k != "customer_id"}
    # a text field emptied on the form is emptied in the record
    cleared = {k: "" for k in ("subject", "note") if k in fields and fields[k] == ""}
    try:
        follow_up_in = parse(FollowUpUpdate, _from_local(fields, actor.zone(settings.zone)))
        for name, value in cleared.items():
            setattr(follow_up_in, name, value)
        if "recurrence_until" in fields and not fields["recurrence_until"]:
            follow_up_in.recurrence_until = None
        with refusals(session):
            followups.update(
                session=session,
                actor=actor,
                follow_up=follow_up,
                follow_up_in=follow_up_in,
                expected_version=int(version) if version.isdigit() else None,
            )
    except FormInvalid as invalid:
        data["customer_id"] = follow_up.customer_id
        return _form(request, session, actor, data, follow_up, invalid)
    return redirect(
        request, f"/interactions/follow-ups/{follow_up.id}", flash=N_("The follow-up is saved.")
    )


# ---------------------------------------------------------------- complete, reschedule, cancel


def _back(data: dict[str, Any], follow_up_id: int) -> str:
    target = str(data.get("next") or "")
    return safe_next(target) if target else f"/interactions/follow-ups/{follow_up_id}"


@router.post("/interactions/follow-ups/{follow_up_id:int}/complete")
def follow_up_complete(
    follow_up_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "update")],
) -> Response:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    fields = {k: v for k, v in data.items() if k in ("outcome", "notes", "channel", "direction")}
    try:
        if not actor.can("interactions", "create"):
            raise FormInvalid({}, i18n.gettext(N_("Your role may not log interactions.")))
        completion_in = parse(FollowUpComplete, fields)
        with refusals(session):
            done = followups.complete(
                session=session,
                actor=actor,
                follow_up=follow_up,
                completion_in=completion_in,
                zone=actor.zone(settings.zone),
            )
    except FormInvalid as invalid:
        follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
        return _record(request, session, settings, actor, follow_up, invalid)
    if done.next is not None:
        return redirect(
            request,
            _back(data, follow_up_id),
            flash=N_("The follow-up is done; the next one is due {due}."),
            due=i18n.fmt_datetime(done.next.due_at),
        )
    return redirect(request, _back(data, follow_up_id), flash=N_("The follow-up is done."))


@router.post("/interactions/follow-ups/{follow_up_id:int}/reschedule")
def follow_up_reschedule(
    follow_up_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "update")],
) -> Response:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    try:
        local = _from_local({"due_at": data.get("due_at", "")}, actor.zone(settings.zone))
        reschedule_in = parse(FollowUpReschedule, local)
        with refusals(session):
            followups.reschedule(session=session, follow_up=follow_up, due_at=reschedule_in.due_at)
    except FormInvalid as invalid:
        follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
        return _record(request, session, settings, actor, follow_up, invalid)
    return redirect(request, _back(data, follow_up_id), flash=N_("The follow-up is rescheduled."))


@router.post("/interactions/follow-ups/{follow_up_id:int}/cancel")
def follow_up_cancel(
    follow_up_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("interactions", "update")],
) -> Response:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    try:
        with refusals(session):
            followups.cancel(session=session, follow_up=follow_up)
    except FormInvalid as invalid:
        follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
        return _record(request, session, settings, actor, follow_up, invalid)
    return redirect(request, _back(data, follow_up_id), flash=N_("The follow-up is cancelled."))


@router.post("/interactions/follow-ups/{follow_up_id:int}/delete")
def follow_up_delete(
    follow_up_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("interactions", "delete")],
) -> Response:
    follow_up = followups.get(session=session, actor=actor, follow_up_id=follow_up_id)
    followups.delete(session=session, follow_up=follow_up)
    return redirect(request, "/interactions/follow-ups", flash=N_("The follow-up is deleted."))


# ---------------------------------------------------------------- calendar URL (account page)


@router.post("/account/calendar")
def account_calendar_create(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("interactions", "read")],
) -> Response:
    calendar_feed.ensure_url(session=session, settings=settings, user=actor)
    return redirect(request, "/account#calendar", flash=N_("Your calendar address is ready."))


@router.post("/account/calendar/revoke")
def account_calendar_revoke(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("interactions", "read")],
) -> Response:
    calendar_feed.revoke(session=session, user=actor)
    return redirect(request, "/account#calendar", flash=N_("The calendar address no longer works."))
