"""Administration pages for users and teams."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth import service as auth_service
from guanxi.auth.models import Team, User
from guanxi.auth.schemas import TeamCreate, TeamUpdate, UserCreate, UserUpdate
from guanxi.deps import DbSession, require
from guanxi.errors import N_
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def form_version(data: dict[str, Any]) -> int | None:
    """The record version a form was loaded with (its hidden ``version`` field)."""
    value = data.pop("version", "")
    return int(value) if str(value).isdigit() else None


def _empty_as_none(data: dict[str, Any], *fields: str) -> None:
    # a select left at "no team" / "top level" posts "", which means "none"
    for field in fields:
        if data.get(field, "") == "":
            data[field] = None


# ---------------------------------------------------------------- users


@router.get("/admin/users", response_class=HTMLResponse)
def users_list(
    request: Request,
    session: DbSession,
    _: Annotated[User, require("users", "read")],
    q: str = "",
    role: str = "",
    team_id: str = "",
    active: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    filters = {"q": q, "role": role, "team_id": team_id, "active": active}
    page = auth_service.list_users(
        session=session,
        q=q or None,
        role=role or None,
        team_id=int(team_id) if team_id.isdigit() else None,
        active={"yes": True, "no": False}.get(active),
        cursor=cursor,
    )
    next_url = None
    if page.next_cursor:
        next_url = "/admin/users?" + urlencode({**filters, "cursor": page.next_cursor})
    return render(
        request,
        "auth/users.html",
        {
            "users": page.items,
            "filters": filters,
            "roles": auth_service.list_roles(session=session),
            "teams": auth_service.list_teams(session=session),
            "next_url": next_url,
        },
    )


def _user_form(
    request: Request,
    session: DbSession,
    subject: User | None,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "auth/user_form.html",
        {
            "subject": subject,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "roles": auth_service.list_roles(session=session),
            "teams": auth_service.list_teams(session=session),
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/users/new", response_class=HTMLResponse)
def user_new(
    request: Request, session: DbSession, _: Annotated[User, require("users", "create")]
) -> HTMLResponse:
    return _user_form(request, session, None, {"role": "sales"})


@router.post("/admin/users")
def user_create(
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("users", "create")],
) -> Response:
    try:
        user_in = parse(UserCreate, data)
        with refusals(session):
            user = auth_service.create_user(session=session, user_in=user_in)
    except FormInvalid as invalid:
        return _user_form(request, session, None, data, invalid)
    return redirect(
        request, f"/admin/users/{user.id}", flash=N_("User {name} created."), name=user.username
    )


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_edit(
    user_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("users", "read")],
) -> HTMLResponse:
    subject = auth_service.get_user(session=session, user_id=user_id)
    values = {
        "display_name": subject.display_name,
        "email": subject.email,
        "role": subject.role.name,
        "team_id": subject.team_id,
        "is_active": subject.is_active,
        "version": subject.version,
    }
    return _user_form(request, session, subject, values)


@router.post("/admin/users/{user_id}")
def user_update(
    user_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("users", "update")],
) -> Response:
    subject = auth_service.get_user(session=session, user_id=user_id)
    values = dict(data)
    expected = form_version(data)
    # an unticked checkbox posts nothing: absence means "not active"
    data["is_active"] = data.get("is_active") == "on"
    _empty_as_none(data, "team_id")
    try:
        user_in = parse(UserUpdate, data)
        with refusals(session):
            auth_service.update_user(
                session=session,
                actor=actor,
                user=subject,
                user_in=user_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _user_form(request, session, subject, values, invalid)
    return redirect(request, f"/admin/users/{user_id}", flash=N_("Changes saved."))


# ---------------------------------------------------------------- teams


def _team_tree(teams: list[Team]) -> list[tuple[int, Team]]:
    """Teams in tree order with their depth, for an indented list."""
    children: dict[int | None, list[Team]] = {}
    for team in teams:
        children.setdefault(team.parent_id, []).append(team)
    ordered: list[tuple[int, Team]] = []

    def walk(parent: int | None, depth: int) -> None:
        for team in children.get(parent, []):
            ordered.append((depth, team))
            walk(team.id, depth + 1)

    walk(None, 0)
    return ordered


def _teams_page(
    request: Request,
    session: DbSession,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    teams = auth_service.list_teams(session=session)
    return render(
        request,
        "auth/teams.html",
        {
            "teams": teams,
            "tree": _team_tree(teams),
            "values": values or {},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/teams", response_class=HTMLResponse)
def teams_list(
    request: Request, session: DbSession, _: Annotated[User, require("teams", "read")]
) -> HTMLResponse:
    return _teams_page(request, session)


@router.post("/admin/teams")
def team_create(
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("teams", "create")],
) -> Response:
    values = dict(data)
    _empty_as_none(data, "parent_id")
    try:
        team_in = parse(TeamCreate, data)
        with refusals(session):
            team = auth_service.create_team(session=session, team_in=team_in)
    except FormInvalid as invalid:
        return _teams_page(request, session, values, invalid)
    return redirect(request, "/admin/teams", flash=N_("Team {name} created."), name=team.name)


def _team_form(
    request: Request,
    session: DbSession,
    team: Team,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    if values is None:
        values = {
            "name": team.name,
            "description": team.description,
            "parent_id": team.parent_id,
            "version": team.version,
        }
    return render(
        request,
        "auth/team_form.html",
        {
            "team": team,
            "teams": auth_service.list_teams(session=session),
            "members": auth_service.list_users(session=session, team_id=team.id, limit=500).items,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/teams/{team_id}", response_class=HTMLResponse)
def team_edit(
    team_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("teams", "read")],
) -> HTMLResponse:
    return _team_form(request, session, auth_service.get_team(session=session, team_id=team_id))


@router.post("/admin/teams/{team_id}")
def team_update(
    team_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("teams", "update")],
) -> Response:
    team = auth_service.get_team(session=session, team_id=team_id)
    values = dict(data)
    expected = form_version(data)
    _empty_as_none(data, "parent_id")
    try:
        team_in = parse(TeamUpdate, data)
        with refusals(session):
            auth_service.update_team(
                session=session, team=team, team_in=team_in, expected_version=expected
            )
    except FormInvalid as invalid:
        return _team_form(request, session, team, values, invalid)
    return redirect(request, f"/admin/teams/{team_id}", flash=N_("Changes saved."))


@router.post("/admin/teams/{team_id}/delete")
def team_delete(
    team_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("teams", "delete")],
) -> Response:
    team = auth_service.get_team(session=session, team_id=team_id)
    try:
        with refusals(session):
            auth_service.delete_team(session=session, team=team)
    except FormInvalid as invalid:
        return _team_form(request, session, team, invalid=invalid)
    return redirect(request, "/admin/teams", flash=N_("Team deleted."))
