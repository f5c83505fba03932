"""Pages for signing in and out, one's own account, and administering users, teams and roles."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.permissions import ACTIONS, RECORD_SCOPES, RESOURCES
from guanxi.auth.schemas import (
    ApiTokenCreate,
    PasswordChange,
    Preferences,
    RoleCreate,
    RoleUpdate,
    TeamCreate,
    TeamUpdate,
    UserCreate,
    UserUpdate,
    role_read,
)
from guanxi.deps import (
    SESSION_COOKIE,
    CurrentUser,
    DbSession,
    PrincipalDep,
    SettingsDep,
    anonymous_csrf,
    client_address,
    public,
    require,
    session_serializer,
)
from guanxi.errors import N_, GuanxiError
from guanxi.web import i18n
from guanxi.web.forms import FormInvalid, parse, posted, service_error
from guanxi.web.pages import safe_next
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, require("users", "read")]


def _version(data: dict[str, Any]) -> int | None:
    value = data.pop("version", "")
    return int(value) if str(value).isdigit() else None


# ---------------------------------------------------------------- sign in / out


@router.get("/login", response_class=HTMLResponse, dependencies=[public])
def login_form(request: Request, principal: PrincipalDep, next: str = "/") -> Response:
    if principal is not None:
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next), "username": ""})


@router.post("/login", dependencies=[public])
async def login_submit(request: Request, session: DbSession, settings: SettingsDep) -> Response:
    await anonymous_csrf(request)
    data = await posted(request)
    username = str(data.get("username", ""))
    target = safe_next(str(data.get("next", "/")))
    try:
        user = login.authenticate(
            session=session,
            settings=settings,
            username=username,
            password=str(data.get("password", "")),
            ip_address=client_address(request),
        )
    except (login.LoginFailed, login.LoginThrottled) as exc:
        # keep the recorded attempt (throttling and audit) although sign-in failed
        session.commit()
        return render(
            request,
            "auth/login.html",
            {"next": target, "username": username, "error": _error_text(exc)},
            status_code=exc.status,
        )
    started = login.start_session(
        session=session,
        settings=settings,
        user=user,
        ip_address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = redirect(request, target)
    response.set_cookie(
        SESSION_COOKIE,
        session_serializer(settings).dumps(started.token),
        max_age=settings.session_max_age_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
    )
    if user.locale:
        response.set_cookie("guanxi_locale", user.locale, max_age=365 * 24 * 3600, samesite="lax")
    return response


def _error_text(exc: GuanxiError) -> str:
    return i18n.translate_template(exc.template, dict(exc.params))


@router.post("/logout")
def logout(
    request: Request, session: DbSession, principal: PrincipalDep, user: CurrentUser
) -> Response:
    if principal is not None and principal.web_session is not None:
        login.end_session_record(session=session, record=principal.web_session)
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


# ---------------------------------------------------------------- my account


def _account_page(request: Request, session: DbSession, user: User, **context: Any) -> HTMLResponse:
    tokens = login.list_tokens(session=session, user=user)
    return render(
        request,
        "auth/account.html",
        {"tokens": tokens, "errors": {}, **context},
        status_code=422 if context.get("errors") else 200,
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, session: DbSession, user: CurrentUser) -> HTMLResponse:
    return _account_page(request, session, user)


@router.post("/account/preferences")
async def account_preferences(request: Request, session: DbSession, user: CurrentUser) -> Response:
    try:
        prefs = parse(Preferences, await posted(request))
        auth_service.update_user(
            session=session,
            actor=user,
            user=user,
            user_in=UserUpdate(**prefs.model_dump(exclude_unset=True)),
            expected_version=None,
        )
    except FormInvalid as exc:
        return _account_page(request, session, user, errors=exc.errors)
    except GuanxiError as exc:
        invalid = service_error(exc)
        return _account_page(request, session, user, errors=invalid.errors, message=invalid.message)
    response = redirect(request, "/account", flash=N_("Your preferences are saved."))
    if user.locale:
        response.set_cookie("guanxi_locale", user.locale, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.post("/account/password")
async def account_password(
    request: Request, session: DbSession, settings: SettingsDep, user: CurrentUser
) -> Response:
    try:
        change = parse(PasswordChange, await posted(request))
        if not login.password_matches(user, change.current_password):
            raise FormInvalid(
                {"current_password": i18n.gettext(N_("The current password is not right."))}
            )
        auth_service.update_user(
            session=session,
            actor=user,
            user=user,
            user_in=UserUpdate(password=change.new_password),
            expected_version=None,
        )
    except FormInvalid as exc:
        return _account_page(request, session, user, errors=exc.errors)
    # changing the password ended every session, this one too: sign in again with the new one
    response = redirect(request, "/login", flash=N_("Password changed. Sign in with the new one."))
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/account/tokens")
async def account_create_token(request: Request, session: DbSession, user: CurrentUser) -> Response:
    try:
        token_in = parse(ApiTokenCreate, await posted(request))
    except FormInvalid as exc:
        return _account_page(request, session, user, errors=exc.errors)
    issued = login.create_token(
        session=session, user=user, name=token_in.name, expires_in_days=token_in.expires_in_days
    )
    return _account_page(request, session, user, new_token=issued.token)


@router.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(
    token_id: int, request: Request, session: DbSession, user: CurrentUser
) -> Response:
    login.revoke_token(session=session, user=user, token_id=token_id)
    return redirect(request, "/account", flash=N_("The token is revoked."))


# ---------------------------------------------------------------- users


@router.get("/admin/users", response_class=HTMLResponse)
def users_list(
    request: Request,
    session: DbSession,
    actor: Admin,
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
    next_url = (
        "/admin/users?" + urlencode({**filters, "cursor": page.next_cursor})
        if page.next_cursor
        else None
    )
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
    *,
    subject: User | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "auth/user_form.html",
        {
            "subject": subject,
            "values": values,
            "errors": errors or {},
            "message": message,
            "roles": auth_service.list_roles(session=session),
            "teams": auth_service.list_teams(session=session),
        },
        status_code=422 if errors or message else 200,
    )


@router.get("/admin/users/new", response_class=HTMLResponse)
def user_new(
    request: Request, session: DbSession, _: Annotated[User, require("users", "create")]
) -> HTMLResponse:
    return _user_form(request, session, subject=None, values={"role": "sales"})


@router.post("/admin/users")
async def user_create(
    request: Request, session: DbSession, _: Annotated[User, require("users", "create")]
) -> Response:
    data = await posted(request)
    try:
        user_in = parse(UserCreate, data)
        user = auth_service.create_user(session=session, user_in=user_in)
    except FormInvalid as exc:
        return _user_form(request, session, subject=None, values=data, errors=exc.errors)
    except GuanxiError as exc:
        invalid = service_error(exc)
        return _user_form(
            request,
            session,
            subject=None,
            values=data,
            errors=invalid.errors,
            message=invalid.message,
        )
    return redirect(
        request, f"/admin/users/{user.id}", flash=N_("User {name} created."), name=user.username
    )


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_edit(user_id: int, request: Request, session: DbSession, _: Admin) -> HTMLResponse:
    subject = auth_service.get_user(session=session, user_id=user_id)
    values = {
        "display_name": subject.display_name,
        "email": subject.email,
        "role": subject.role.name,
        "team_id": subject.team_id,
        "is_active": subject.is_active,
        "locale": subject.locale,
        "timezone": subject.timezone,
        "version": subject.version,
    }
    return _user_form(request, session, subject=subject, values=values)


@router.post("/admin/users/{user_id}")
async def user_update(
    user_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("users", "update")],
) -> Response:
    subject = auth_service.get_user(session=session, user_id=user_id)
    data = await posted(request)
    values = dict(data)
    expected = _version(data)
    # an unticked checkbox sends nothing: absence means "not active"
    data["is_active"] = data.get("is_active") == "on"
    data.setdefault("team_id", None)
    if data.get("team_id") == "":
        data["team_id"] = None
    try:
        user_in = parse(UserUpdate, data)
        auth_service.update_user(
            session=session, actor=actor, user=subject, user_in=user_in, expected_version=expected
        )
    except FormInvalid as exc:
        return _user_form(request, session, subject=subject, values=values, errors=exc.errors)
    except GuanxiError as exc:
        session.rollback()
        invalid = service_error(exc)
        return _user_form(
            request,
            session,
            subject=subject,
            values=values,
            errors=invalid.errors,
            message=invalid.message,
        )
    return redirect(request, f"/admin/users/{user_id}", flash=N_("Changes saved."))


# ---------------------------------------------------------------- teams


@router.get("/admin/teams", response_class=HTMLResponse)
def teams_list(
    request: Request, session: DbSession, _: Annotated[User, require("teams", "read")]
) -> HTMLResponse:
    return _teams_page(request, session)


def _teams_page(
    request: Request,
    session: DbSession,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> HTMLResponse:
    teams = auth_service.list_teams(session=session)
    return render(
        request,
        "auth/teams.html",
        {
            "teams": teams,
            "tree": _team_tree(teams),
            "values": values or {},
            "errors": errors or {},
            "message": message,
        },
        status_code=422 if errors or message else 200,
    )


def _team_tree(teams: list[Any]) -> list[tuple[int, Any]]:
    """Teams in tree order with their depth, for an indented list."""
    children: dict[int | None, list[Any]] = {}
    for team in teams:
        children.setdefault(team.parent_id, []).append(team)
    ordered: list[tuple[int, Any]] = []

    def walk(parent: int | None, depth: int) -> None:
        for team in children.get(parent, []):
            ordered.append((depth, team))
            walk(team.id, depth + 1)

    walk(None, 0)
    return ordered


@router.post("/admin/teams")
async def team_create(
    request: Request, session: DbSession, _: Annotated[User, require("teams", "create")]
) -> Response:
    data = await posted(request)
    try:
        auth_service.create_team(session=session, team_in=parse(TeamCreate, data))
    except FormInvalid as exc:
        return _teams_page(request, session, values=data, errors=exc.errors)
    except GuanxiError as exc:
        invalid = service_error(exc)
        return _teams_page(
            request, session, values=data, errors=invalid.errors, message=invalid.message
        )
    return redirect(request, "/admin/teams", flash=N_("Team {name} created."), name=data["name"])


@router.get("/admin/teams/{team_id}", response_class=HTMLResponse)
def team_edit(
    team_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("teams", "read")],
) -> HTMLResponse:
    team = auth_service.get_team(session=session, team_id=team_id)
    return _team_form(
        request,
        session,
        team,
        values={
            "name": team.name,
            "description": team.description,
            "parent_id": team.parent_id,
            "version": team.version,
        },
    )


def _team_form(
    request: Request,
    session: DbSession,
    team: Any,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> HTMLResponse:
    members = auth_service.list_users(session=session, team_id=team.id, limit=500).items
    return render(
        request,
        "auth/team_form.html",
        {
            "team": team,
            "teams": auth_service.list_teams(session=session),
            "members": members,
            "values": values,
            "errors": errors or {},
            "message": message,
        },
        status_code=422 if errors or message else 200,
    )


@router.post("/admin/teams/{team_id}")
async def team_update(
    team_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("teams", "update")],
) -> Response:
    team = auth_service.get_team(session=session, team_id=team_id)
    data = await posted(request)
    values = dict(data)
    expected = _version(data)
    data.setdefault("parent_id", None)
    if data.get("parent_id") == "":
        data["parent_id"] = None
    try:
        auth_service.update_team(
            session=session, team=team, team_in=parse(TeamUpdate, data), expected_version=expected
        )
    except FormInvalid as exc:
        return _team_form(request, session, team, values=values, errors=exc.errors)
    except GuanxiError as exc:
        session.rollback()
        invalid = service_error(exc)
        return _team_form(
            request, session, team, values=values, errors=invalid.errors, message=invalid.message
        )
    return redirect(request, f"/admin/teams/{team_id}", flash=N_("Changes saved."))


@router.post("/admin/teams/{team_id}/delete")
async def team_delete(
    team_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("teams", "delete")],
) -> Response:
    team = auth_service.get_team(session=session, team_id=team_id)
    try:
        auth_service.delete_team(session=session, team=team)
    except GuanxiError as exc:
        session.rollback()
        invalid = service_error(exc)
        return _team_form(
            request,
            session,
            team,
            values={
                "name": team.name,
                "description": team.description,
                "parent_id": team.parent_id,
                "version": team.version,
            },
            message=invalid.message,
        )
    return redirect(request, "/admin/teams", flash=N_("Team deleted."))


# ---------------------------------------------------------------- roles


@router.get("/admin/roles", response_class=HTMLResponse)
def roles_list(
    request: Request, session: DbSession, _: Annotated[User, require("roles", "read")]
) -> HTMLResponse:
    roles = [role_read(r) for r in auth_service.list_roles(session=session)]
    return render(request, "auth/roles.html", {"roles": roles})


def _role_form(
    request: Request,
    *,
    role: Any,
    values: dict[str, Any],
    grants: set[str],
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "auth/role_form.html",
        {
            "role": role,
            "values": values,
            "grants": grants,
            "resources": RESOURCES,
            "actions": ACTIONS,
            "scopes": RECORD_SCOPES,
            "errors": errors or {},
            "message": message,
        },
        status_code=422 if errors or message else 200,
    )


def _grants_from_form(data: dict[str, Any]) -> tuple[dict[str, list[str]], set[str]]:
    raw = data.pop("grant", [])
    checked = {raw} if isinstance(raw, str) else set(raw)
    permissions: dict[str, list[str]] = {}
    for item in sorted(checked):
        resource, _, action = item.partition(":")
        permissions.setdefault(resource, []).append(action)
    return permissions, checked


@router.get("/admin/roles/new", response_class=HTMLResponse)
def role_new(request: Request, _: Annotated[User, require("roles", "create")]) -> HTMLResponse:
    return _role_form(request, role=None, values={"record_scope": "own"}, grants=set())


@router.post("/admin/roles")
async def role_create(
    request: Request, session: DbSession, _: Annotated[User, require("roles", "create")]
) -> Response:
    data = await posted(request)
    permissions, checked = _grants_from_form(data)
    try:
        role_in = parse(RoleCreate, {**data, "permissions": permissions})
        role = auth_service.create_role(session=session, role_in=role_in)
    except FormInvalid as exc:
        return _role_form(request, role=None, values=data, grants=checked, errors=exc.errors)
    except GuanxiError as exc:
        invalid = service_error(exc)
        return _role_form(
            request,
            role=None,
            values=data,
            grants=checked,
            errors=invalid.errors,
            message=invalid.message,
        )
    return redirect(
        request, f"/admin/roles/{role.id}", flash=N_("Role {name} created."), name=role.name
    )


@router.get("/admin/roles/{role_id}", response_class=HTMLResponse)
def role_edit(
    role_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("roles", "read")],
) -> HTMLResponse:
    role = auth_service.get_role(session=session, role_id=role_id)
    grants = {f"{r}:{a}" for r, a in role.grants()}
    values = {
        "label": role.label,
        "description": role.description,
        "record_scope": role.record_scope,
        "version": role.version,
    }
    return _role_form(request, role=role, values=values, grants=grants)


@router.post("/admin/roles/{role_id}")
async def role_update(
    role_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("roles", "update")],
) -> Response:
    role = auth_service.get_role(session=session, role_id=role_id)
    data = await posted(request)
    permissions, checked = _grants_from_form(data)
    values = dict(data)
    expected = _version(data)
    try:
        role_in = parse(RoleUpdate, {**data, "permissions": permissions})
        auth_service.update_role(
            session=session, role=role, role_in=role_in, expected_version=expected
        )
    except FormInvalid as exc:
        return _role_form(request, role=role, values=values, grants=checked, errors=exc.errors)
    except GuanxiError as exc:
        session.rollback()
        invalid = service_error(exc)
        return _role_form(
            request,
            role=role,
            values=values,
            grants=checked,
            errors=invalid.errors,
            message=invalid.message,
        )
    return redirect(request, f"/admin/roles/{role_id}", flash=N_("Changes saved."))


@router.post("/admin/roles/{role_id}/delete")
async def role_delete(
    role_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("roles", "delete")],
) -> Response:
    role = auth_service.get_role(session=session, role_id=role_id)
    try:
        auth_service.delete_role(session=session, role=role)
    except GuanxiError as exc:
        session.rollback()
        invalid = service_error(exc)
        grants = {f"{r}:{a}" for r, a in role.grants()}
        return _role_form(
            request,
            role=role,
            values={
                "label": role.label,
                "description": role.description,
                "record_scope": role.record_scope,
                "version": role.version,
            },
            grants=grants,
            message=invalid.message,
        )
    return redirect(request, "/admin/roles", flash=N_("Role deleted."))
