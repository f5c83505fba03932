"""Administration of routing: service stations (服务网点), queues with their agents' skills and
availability, and routing rules; and a page where an agent goes off or on duty.

Reading needs ``tickets:read``; changing stations, queues and rules needs ``tickets:manage``.
Forms go through the API's schemas and ``routing_admin``, so they are refused for the same
reasons, and a refused form keeps what was typed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import User
from guanxi.deps import DbSession, require
from guanxi.errors import N_
from guanxi.service_desk import routing_admin as service
from guanxi.service_desk.labels import KIND_LABELS
from guanxi.service_desk.models import RoutingRule, ServiceQueue, ServiceStation
from guanxi.service_desk.routing_schemas import (
    MemberIn,
    QueueCreate,
    QueueUpdate,
    RuleCreate,
    RuleUpdate,
    StationCreate,
    StationUpdate,
)
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

Reader = Annotated[User, require("tickets", "read")]
Manager = Annotated[User, require("tickets", "manage")]

STATION_FIELDS = ("name", "latitude", "longitude", "address", "city", "region", "phone")
# conditions typed as text: several values separated by commas (either width) or new lines
TEXT_CONDITIONS = ("category", "region", "language", "keywords", "product_id")
_SEPARATORS = re.compile(r"[,，;；\n]+")


def _version(data: dict[str, Any]) -> int | None:
    value = data.pop("version", "")
    return int(value) if str(value).isdigit() else None


def _none_if_empty(data: dict[str, Any], *fields: str) -> None:
    # a select left at "none" posts "", which means "none"
    for field in fields:
        if data.get(field, "") == "":
            data[field] = None


def _listed(value: Any) -> list[str]:
    """A repeated form field (checkboxes) as a list, however many were ticked."""
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    return [str(value)] if str(value or "").strip() else []


def _split(text: Any) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(str(text or "")) if part.strip()]


def _active_users(session: Session) -> list[User]:
    return list(
        session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.username))
    )


def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    values: dict[str, Any],
    invalid: FormInvalid | None,
) -> HTMLResponse:
    return render(
        request,
        template,
        {
            **context,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


# ---------------------------------------------------------------- stations


def _stations_page(
    request: Request,
    session: Session,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    queues = service.list_queues(session=session)
    return _page(
        request,
        "service_desk/stations.html",
        {
            "stations": service.list_stations(session=session),
            "queues": queues,
            "queue_names": {q.id: q.name for q in queues},
        },
        values or {},
        invalid,
    )


@router.get("/admin/service-stations", response_class=HTMLResponse)
def stations(request: Request, session: DbSession, _: Reader) -> HTMLResponse:
    return _stations_page(request, session)


@router.post("/admin/service-stations")
def station_create(
    request: Request, session: DbSession, data: FormData, actor: Manager
) -> Response:
    values = dict(data)
    _none_if_empty(data, "queue_id")
    try:
        station_in = parse(
            StationCreate, {k: data.get(k, "") for k in (*STATION_FIELDS, "queue_id")}
        )
        with refusals(session):
            station = service.create_station(session=session, actor=actor, station_in=station_in)
    except FormInvalid as invalid:
        return _stations_page(request, session, values, invalid)
    return redirect(
        request,
        "/admin/service-stations",
        flash=N_("Service station {name} saved."),
        name=station.name,
    )


def _station_form(
    request: Request,
    session: Session,
    station: ServiceStation,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    if values is None:
        values = {name: getattr(station, name) for name in STATION_FIELDS}
        values |= {
            "queue_id": station.queue_id,
            "is_active": station.is_active,
            "version": station.version,
        }
    return _page(
        request,
        "service_desk/stations_edit.html",
        {"station": station, "queues": service.list_queues(session=session)},
        values,
        invalid,
    )


@router.get("/admin/service-stations/{station_id:int}", response_class=HTMLResponse)
def station_edit(request: Request, session: DbSession, station_id: int, _: Reader) -> HTMLResponse:
    return _station_form(
        request, session, service.get_station(session=session, station_id=station_id)
    )


@router.post("/admin/service-stations/{station_id:int}")
def station_update(
    request: Request, session: DbSession, station_id: int, data: FormData, actor: Manager
) -> Response:
    station = service.get_station(session=session, station_id=station_id)
    values = dict(data) | {"is_active": data.get("is_active") == "on"}
    expected = _version(data)
    _none_if_empty(data, "queue_id")
    fields = {k: data.get(k, "") for k in STATION_FIELDS}
    fields |= {"queue_id": data.get("queue_id"), "is_active": data.get("is_active") == "on"}
    try:
        # every field is on the form: a blank name or coordinate is refused, not skipped
        full = parse(StationCreate, {k: v for k, v in fields.items() if k != "is_active"})
        station_in = StationUpdate(**full.model_dump(), is_active=fields["is_active"])
        with refusals(session):
            service.update_station(
                session=session,
                actor=actor,
                station=station,
                station_in=station_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _station_form(request, session, station, values, invalid)
    return redirect(request, f"/admin/service-stations/{station_id}", flash=N_("Changes saved."))


@router.post("/admin/service-stations/{station_id:int}/delete")
def station_delete(
    request: Request, session: DbSession, station_id: int, actor: Manager
) -> Response:
    station = service.get_station(session=session, station_id=station_id)
    name = station.name
    deleted = service.delete_station(
        session=session, actor=actor, station=station, expected_version=None
    )
    flash = (
        N_("Service station {name} deleted.")
        if deleted
        else N_("Tickets name service station {name}, so it was closed instead of deleted.")
    )
    return redirect(request, "/admin/service-stations", flash=flash, name=name)


# ---------------------------------------------------------------- queues


def _queues_page(
    request: Request,
    session: Session,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    queues = service.list_queues(session=session)
    return _page(
        request,
        "service_desk/queues.html",
        {
            "queues": queues,
            "members": service.members_of(session=session, queue_ids=[q.id for q in queues]),
            "users": _active_users(session),
        },
        values or {},
        invalid,
    )


@router.get("/admin/service-queues", response_class=HTMLResponse)
def queues(request: Request, session: DbSession, _: Reader) -> HTMLResponse:
    return _queues_page(request, session)


@router.post("/admin/service-queues")
def queue_create(request: Request, session: DbSession, data: FormData, actor: Manager) -> Response:
    values = dict(data)
    _none_if_empty(data, "manager_id")
    try:
        queue_in = parse(
            QueueCreate,
            {k: data.get(k, "") for k in ("name", "description")}
            | {"manager_id": data.get("manager_id")},
        )
        with refusals(session):
            queue = service.create_queue(session=session, actor=actor, queue_in=queue_in)
    except FormInvalid as invalid:
        return _queues_page(request, session, values, invalid)
    return redirect(
        request,
        f"/admin/service-queues/{queue.id}",
        flash=N_("Queue {name} saved."),
        name=queue.name,
    )


def _queue_form(
    request: Request,
    session: Session,
    queue: ServiceQueue,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    if values is None:
        values = {
            "name": queue.name,
            "description": queue.description,
            "manager_id": queue.manager_id,
            "is_active": queue.is_active,
            "version": queue.version,
        }
    return _page(
        request,
        "service_desk/queues_edit.html",
        {
            "queue": queue,
            "members": service.members_of(session=session, queue_ids=[queue.id])[queue.id],
            "users": _active_users(session),
        },
        values,
        invalid,
    )


@router.get("/admin/service-queues/{queue_id:int}", response_class=HTMLResponse)
def queue_edit(request: Request, session: DbSession, queue_id: int, _: Reader) -> HTMLResponse:
    return _queue_form(request, session, service.get_queue(session=session, queue_id=queue_id))


@router.post("/admin/service-queues/{queue_id:int}")
def queue_update(
    request: Request, session: DbSession, queue_id: int, data: FormData, actor: Manager
) -> Response:
    queue = service.get_queue(session=session, queue_id=queue_id)
    values = dict(data) | {"is_active": data.get("is_active") == "on"}
    expected = _version(data)
    _none_if_empty(data, "manager_id")
    try:
        full = parse(
            QueueCreate,
            {k: data.get(k, "") for k in ("name", "description")}
            | {"manager_id": data.get("manager_id")},
        )
        queue_in = QueueUpdate(
            name=full.name,
            description=full.description,
            manager_id=full.manager_id,
            is_active=data.get("is_active") == "on",
        )
        with refusals(session):
            service.update_queue(
                session=session,
                actor=actor,
                queue=queue,
                queue_in=queue_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _queue_form(request, session, queue, values, invalid)
    return redirect(request, f"/admin/service-queues/{queue_id}", flash=N_("Changes saved."))


@router.post("/admin/service-queues/{queue_id:int}/delete")
def queue_delete(request: Request, session: DbSession, queue_id: int, actor: Manager) -> Response:
    queue = service.get_queue(session=session, queue_id=queue_id)
    name = queue.name
    deleted = service.delete_queue(session=session, actor=actor, queue=queue, expected_version=None)
    flash = (
        N_("Queue {name} deleted.")
        if deleted
        else N_(
            "Tickets, rules or stations name queue {name}, so it was closed instead of deleted."
        )
    )
    return redirect(request, "/admin/service-queues", flash=flash, name=name)


@router.post("/admin/service-queues/{queue_id:int}/members")
def member_save(
    request: Request, session: DbSession, queue_id: int, data: FormData, actor: Manager
) -> Response:
    """Add an agent, or change an agent's skills (comma-separated) and availability."""
    queue = service.get_queue(session=session, queue_id=queue_id)
    try:
        member_in = parse(
            MemberIn,
            {
                "user_id": data.get("user_id", ""),
                "skills": _split(data.get("skills")),
                "available": data.get("available") == "on",
            },
        )
        with refusals(session):
            service.set_member(session=session, actor=actor, queue=queue, member_in=member_in)
    except FormInvalid as invalid:
        return _queue_form(request, session, queue, None, invalid)
    return redirect(request, f"/admin/service-queues/{queue_id}", flash=N_("Changes saved."))


@router.post("/admin/service-queues/{queue_id:int}/members/{user_id:int}/remove")
def member_remove(
    request: Request, session: DbSession, queue_id: int, user_id: int, actor: Manager
) -> Response:
    queue = service.get_queue(session=session, queue_id=queue_id)
    service.remove_member(session=session, actor=actor, queue=queue, user_id=user_id)
    return redirect(request, f"/admin/service-queues/{queue_id}", flash=N_("Agent removed."))


# ---------------------------------------------------------------- my availability


def _availability_page(
    request: Request, session: Session, actor: User, invalid: FormInvalid | None = None
) -> HTMLResponse:
    return render(
        request,
        "service_desk/queues_availability.html",
        {
            "memberships": service.memberships_of(session=session, user=actor),
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/service/availability", response_class=HTMLResponse)
def availability(request: Request, session: DbSession, actor: Reader) -> HTMLResponse:
    return _availability_page(request, session, actor)


@router.post("/service/availability")
def availability_save(
    request: Request, session: DbSession, data: FormData, actor: Reader
) -> Response:
    """An agent takes new tickets again, or stops taking them, in one queue or all of theirs."""
    queue_id = str(data.get("queue_id", ""))
    available = data.get("available") == "on"
    try:
        with refusals(session):
            service.set_own_availability(
                session=session,
                actor=actor,
                available=available,
                queue_id=int(queue_id) if queue_id.isdigit() else None,
            )
    except FormInvalid as invalid:
        return _availability_page(request, session, actor, invalid)
    flash = N_("You take new tickets.") if available else N_("You take no new tickets for now.")
    return redirect(request, "/service/availability", flash=flash)


# ---------------------------------------------------------------- routing rules


def _rule_values(rule: RoutingRule) -> dict[str, Any]:
    conditions = rule.conditions or {}
    values: dict[str, Any] = {
        "name": rule.name,
        "queue_id": rule.queue_id,
        "skill": rule.skill,
        "position": rule.position,
        "is_active": rule.is_active,
        "version": rule.version,
        "kind": list(conditions.get("kind", [])),
        "tier": list(conditions.get("tier", [])),
    }
    for key in TEXT_CONDITIONS:
        values[key] = ", ".join(str(v) for v in conditions.get(key, []))
    return values


def _rule_data(data: dict[str, Any]) -> dict[str, Any]:
    conditions: dict[str, Any] = {
        "kind": _listed(data.get("kind")),
        "tier": _listed(data.get("tier")),
    }
    for key in TEXT_CONDITIONS:
        conditions[key] = _split(data.get(key))
    return {
        "name": data.get("name", ""),
        "queue_id": data.get("queue_id", ""),
        "skill": data.get("skill", ""),
        "position": data.get("position", ""),
        "is_active": data.get("is_active") == "on",
        "conditions": {k: v for k, v in conditions.items() if v},
    }


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data) | {
        "is_active": data.get("is_active") == "on",
        "kind": _listed(data.get("kind")),
        "tier": _listed(data.get("tier")),
    }


def _choices(session: Session) -> dict[str, Any]:
    queues = service.list_queues(session=session)
    return {
        "queues": queues,
        "queue_names": {q.id: q.name for q in queues},
        "kinds": KIND_LABELS,
        "tiers": TIERS,
    }


def _rules_page(
    request: Request,
    session: Session,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "service_desk/routing_rules.html",
        {"rules": service.list_rules(session=session), **_choices(session)},
        values or {"is_active": True, "kind": [], "tier": []},
        invalid,
    )


@router.get("/admin/routing-rules", response_class=HTMLResponse)
def rules(request: Request, session: DbSession, _: Reader) -> HTMLResponse:
    return _rules_page(request, session)


@router.post("/admin/routing-rules")
def rule_create(request: Request, session: DbSession, data: FormData, actor: Manager) -> Response:
    try:
        rule_in = parse(RuleCreate, _rule_data(data))
        with refusals(session):
            rule = service.create_rule(session=session, actor=actor, rule_in=rule_in)
    except FormInvalid as invalid:
        return _rules_page(request, session, _form_values(data), invalid)
    return redirect(
        request, "/admin/routing-rules", flash=N_("Routing rule {name} saved."), name=rule.name
    )


def _rule_form(
    request: Request,
    session: Session,
    rule: RoutingRule,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "service_desk/routing_rule_edit.html",
        {"rule": rule, **_choices(session)},
        values if values is not None else _rule_values(rule),
        invalid,
    )


@router.get("/admin/routing-rules/{rule_id:int}", response_class=HTMLResponse)
def rule_edit(request: Request, session: DbSession, rule_id: int, _: Reader) -> HTMLResponse:
    return _rule_form(request, session, service.get_rule(session=session, rule_id=rule_id))


@router.post("/admin/routing-rules/{rule_id:int}")
def rule_update(
    request: Request, session: DbSession, rule_id: int, data: FormData, actor: Manager
) -> Response:
    rule = service.get_rule(session=session, rule_id=rule_id)
    expected = _version(data)
    try:
        full = parse(RuleCreate, _rule_data(data))
        rule_in = RuleUpdate(**full.model_dump())
        with refusals(session):
            service.update_rule(
                session=session, actor=actor, rule=rule, rule_in=rule_in, expected_version=expected
            )
    except FormInvalid as invalid:
        return _rule_form(request, session, rule, _form_values(data), invalid)
    return redirect(request, f"/admin/routing-rules/{rule_id}", flash=N_("Changes saved."))


@router.post("/admin/routing-rules/{rule_id:int}/delete")
def rule_delete(request: Request, session: DbSession, rule_id: int, actor: Manager) -> Response:
    rule = service.get_rule(session=session, rule_id=rule_id)
    name = rule.name
    service.delete_rule(session=session, actor=actor, rule=rule, expected_version=None)
    return redirect(
        request, "/admin/routing-rules", flash=N_("Routing rule {name} deleted."), name=name
    )
