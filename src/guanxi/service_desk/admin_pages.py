"""Administration of service levels: SLA policies, the working week with its holidays and
make-up working days (Chinese public holidays can be pasted a line each), and the SLA report.

Reading needs ``tickets:read`` (the report ``reports:read``); changing needs ``tickets:manage``.
The forms go through the same schemas and services as the API, so they are refused for the same
reasons, and a refused form keeps what was typed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_, GuanxiError
from guanxi.service_desk import sla_admin, sla_report
from guanxi.service_desk.business_calendar import CalendarError
from guanxi.service_desk.labels import KIND_LABELS, PRIORITY_LABELS
from guanxi.service_desk.models import SlaPolicy
from guanxi.service_desk.satisfaction import parse_period
from guanxi.service_desk.sla_schemas import CalendarUpdate, SlaPolicyCreate, SlaPolicyUpdate
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, refusals, service_error
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Reader = Annotated[User, require("tickets", "read")]
Manager = Annotated[User, require("tickets", "manage")]
WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
POLICY_FIELDS = (
    "name",
    "position",
    "kind",
    "priority",
    "tier",
    "first_response_minutes",
    "resolution_minutes",
    "warn_before_minutes",
)


def _version(data: dict[str, Any]) -> int | None:
    value = data.pop("version", "")
    return int(value) if str(value).isdigit() else None


def _choices() -> dict[str, Any]:
    return {"kinds": KIND_LABELS, "priorities": PRIORITY_LABELS, "tiers": TIERS}


# ---------------------------------------------------------------- policies


def _policies_page(
    request: Request,
    session: DbSession,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "service_desk/sla_policies.html",
        {
            "policies": sla_admin.list_policies(session),
            "values": values or {"warn_before_minutes": 60, "position": 0},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            **_choices(),
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/sla", response_class=HTMLResponse)
def policies(request: Request, session: DbSession, _: Reader) -> HTMLResponse:
    return _policies_page(request, session)


@router.post("/admin/sla/policies")
def policy_create(request: Request, session: DbSession, data: FormData, actor: Manager) -> Response:
    values = dict(data)
    try:
        policy_in = parse(SlaPolicyCreate, _policy_data(data))
        with refusals(session):
            policy = sla_admin.create_policy(session, actor=actor, policy_in=policy_in)
    except FormInvalid as invalid:
        return _policies_page(request, session, values, invalid)
    return redirect(request, "/admin/sla", flash=N_("SLA policy {name} saved."), name=policy.name)


def _policy_data(data: dict[str, Any]) -> dict[str, Any]:
    # an unticked checkbox posts nothing: absence means "not active"
    return {name: data.get(name, "") for name in POLICY_FIELDS} | {
        "is_active": data.get("is_active") == "on"
    }


def _policy_form(
    request: Request,
    policy: SlaPolicy,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "service_desk/sla_policy_form.html",
        {
            "policy": policy,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            **_choices(),
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/sla/policies/{policy_id:int}", response_class=HTMLResponse)
def policy_edit(request: Request, session: DbSession, policy_id: int, _: Reader) -> HTMLResponse:
    policy = sla_admin.get_policy(session, policy_id)
    values = {name: getattr(policy, name) for name in POLICY_FIELDS}
    values |= {"is_active": policy.is_active, "version": policy.version}
    return _policy_form(request, policy, values)


@router.post("/admin/sla/policies/{policy_id:int}")
def policy_update(
    request: Request, session: DbSession, policy_id: int, data: FormData, actor: Manager
) -> Response:
    policy = sla_admin.get_policy(session, policy_id)
    values = dict(data) | {"is_active": data.get("is_active") == "on"}
    expected = _version(data)
    try:
        # the form shows every field: a blank kind, priority or tier means "any"
        full = parse(SlaPolicyCreate, _policy_data(data))
        policy_in = SlaPolicyUpdate(**full.model_dump(exclude={"calendar_id"}))
        with refusals(session):
            sla_admin.update_policy(
                session, actor=actor, policy=policy, policy_in=policy_in, expected_version=expected
            )
    except FormInvalid as invalid:
        return _policy_form(request, policy, values, invalid)
    return redirect(request, "/admin/sla", flash=N_("SLA policy {name} saved."), name=policy.name)


@router.post("/admin/sla/policies/{policy_id:int}/delete")
def policy_delete(
    request: Request, session: DbSession, policy_id: int, data: FormData, actor: Manager
) -> Response:
    policy = sla_admin.get_policy(session, policy_id)
    name = policy.name
    sla_admin.delete_policy(session, actor=actor, policy=policy, expected_version=_version(data))
    return redirect(request, "/admin/sla", flash=N_("SLA policy {name} deleted."), name=name)


# ---------------------------------------------------------------- the calendar


def _calendar_page(
    request: Request,
    session: DbSession,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
    pasted: str = "",
) -> HTMLResponse:
    calendar = sla_admin.get_calendar(session)
    if values is None:
        values = {
            f"week_{day}": ", ".join(
                f"{start}-{end}" for start, end in calendar.week.get(str(day), [])
            )
            for day in range(7)
        } | {"timezone": calendar.timezone, "version": calendar.version}
    return render(
        request,
        "service_desk/calendar.html",
        {
            "calendar": calendar,
            "days": sla_admin.calendar_days(session, calendar),
            "weekdays": WEEKDAYS,
            "values": values,
            "pasted": pasted,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/sla/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, session: DbSession, _: Reader) -> HTMLResponse:
    return _calendar_page(request, session)


@router.post("/admin/sla/calendar")
def calendar_update(
    request: Request, session: DbSession, data: FormData, actor: Manager
) -> Response:
    values = dict(data)
    expected = _version(data)
    week: dict[str, list[tuple[str, str]]] = {}
    errors: dict[str, str] = {}
    for day in range(7):
        try:
            spans = sla_admin.parse_hours_text(str(data.get(f"week_{day}", "")))
        except CalendarError:
            errors[f"week_{day}"] = i18n.gettext(sla_admin.BAD_HOURS)
            continue
        week[str(day)] = [(start, end) for start, end in spans]
    try:
        if errors:
            raise FormInvalid(
                errors, i18n.gettext(N_("The calendar has fields that are missing or wrong."))
            )
        calendar_in = CalendarUpdate(
            timezone=str(data.get("timezone", "")).strip() or None, week=week
        )
        calendar = sla_admin.get_calendar(session)
        with refusals(session):
            sla_admin.update_calendar(
                session,
                actor=actor,
                calendar=calendar,
                calendar_in=calendar_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        invalid.errors = {_week_field(name): text for name, text in invalid.errors.items()}
        return _calendar_page(request, session, values, invalid)
    return redirect(request, "/admin/sla/calendar", flash=N_("Working week saved."))


def _week_field(name: str) -> str:
    # the service names a weekday's hours "week.3" (seen here as "3"); the form calls it week_3
    return f"week_{name}" if name.isdigit() else name


@router.post("/admin/sla/calendar/days")
def calendar_days_add(
    request: Request, session: DbSession, data: FormData, actor: Manager
) -> Response:
    pasted = str(data.get("lines", ""))
    calendar = sla_admin.get_calendar(session)
    try:
        try:
            days = sla_admin.parse_day_lines(pasted)
        except GuanxiError as error:
            raise _lines_error(error) from error
        if not days:
            raise FormInvalid(
                {"lines": i18n.gettext(N_("This field is required."))},
                i18n.gettext(N_("Paste at least one day.")),
            )
        with refusals(session):
            sla_admin.set_days(session, actor=actor, calendar=calendar, days=days)
    except FormInvalid as invalid:
        return _calendar_page(request, session, None, invalid, pasted)
    return redirect(
        request, "/admin/sla/calendar", flash=N_("{count} days saved."), count=len(days)
    )


def _lines_error(error: GuanxiError) -> FormInvalid:
    """Every bad pasted line named in one message under the text box."""
    invalid = service_error(error)
    lines = ", ".join(e.field for e in error.errors)
    hint = i18n.gettext(error.errors[0].message) if error.errors else ""
    return FormInvalid({"lines": f"{lines}: {hint}"}, invalid.message)


@router.post("/admin/sla/calendar/days/{day}/delete")
def calendar_day_delete(
    request: Request, session: DbSession, day: date, actor: Manager
) -> Response:
    calendar = sla_admin.get_calendar(session)
    sla_admin.remove_day(session, actor=actor, calendar=calendar, day=day)
    return redirect(request, "/admin/sla/calendar", flash=N_("{day} removed."), day=day.isoformat())


# ---------------------------------------------------------------- the report


@router.get("/service/sla", response_class=HTMLResponse)
def report_page(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("reports", "read")],
    period: str = "90d",
) -> HTMLResponse:
    """Shares of SLA targets met, by team, queue, priority, kind and tier."""
    error = None
    try:
        found = sla_report.report(session, actor=actor, period=parse_period(period))
    except GuanxiError as refused:
        error = service_error(refused).errors.get("period") or refused.detail
        found = sla_report.report(session, actor=actor, period=parse_period("90d"))
    return render(
        request,
        "service_desk/sla_report.html",
        {
            "report": found,
            "period": period,
            "error": error,
            "dimensions": {
                "team": N_("Team"),
                "queue": N_("Queue"),
                "priority": N_("Priority"),
                "kind": N_("Kind"),
                "tier": N_("Value tier"),
            },
            "code_labels": {"priority": PRIORITY_LABELS, "kind": KIND_LABELS, "tier": TIERS},
        },
        status_code=422 if error else 200,
    )
