"""JSON API for sign-in, tokens, users, teams and roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.permissions import ACTIONS, RECORD_SCOPES, RESOURCES
from guanxi.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    Me,
    RoleCreate,
    RoleRead,
    RoleUpdate,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserRead,
    UserUpdate,
    role_read,
    user_read,
)
from guanxi.concurrency import etag
from guanxi.deps import (
    CurrentUser,
    DbSession,
    IfMatch,
    SettingsDep,
    client_address,
    public,
    require,
)
from guanxi.pagination import PageOut

router = APIRouter(prefix="/api/v1")
Limit = Annotated[int, Query(ge=1, le=500)]


# ---------------------------------------------------------------- sign-in and tokens


@router.post("/auth/token", tags=["auth"], dependencies=[public])
def issue_token(
    body: TokenRequest, request: Request, session: DbSession, settings: SettingsDep
) -> TokenResponse:
    """Exchange a username and password for a bearer token (for scripts and integrations)."""
    user = login.authenticate(
        session=session,
        settings=settings,
        username=body.username,
        password=body.password,
        ip_address=client_address(request),
    )
    issued = login.create_token(
        session=session,
        user=user,
        name=f"sign-in from {client_address(request) or 'unknown address'}",
        expires_in_days=settings.api_token_days,
    )
    return TokenResponse(access_token=issued.token, expires_at=issued.record.expires_at)


@router.get("/auth/me", tags=["auth"])
def who_am_i(user: CurrentUser) -> Me:
    read = user_read(user)
    return Me(
        **read.model_dump(),
        permissions=role_read(user.role).permissions,
        record_scope=user.role.record_scope,
    )


@router.get("/auth/tokens", tags=["auth"])
def my_tokens(user: CurrentUser, session: DbSession) -> list[ApiTokenRead]:
    return [ApiTokenRead.model_validate(t) for t in login.list_tokens(session=session, user=user)]


@router.post("/auth/tokens", tags=["auth"], status_code=status.HTTP_201_CREATED)
def create_my_token(body: ApiTokenCreate, user: CurrentUser, session: DbSession) -> ApiTokenCreated:
    issued = login.create_token(
        session=session, user=user, name=body.name, expires_in_days=body.expires_in_days
    )
    return ApiTokenCreated(
        **ApiTokenRead.model_validate(issued.record).model_dump(), token=issued.token
    )


@router.delete("/auth/tokens/{token_id}", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_token(token_id: int, user: CurrentUser, session: DbSession) -> None:
    login.revoke_token(session=session, user=user, token_id=token_id)


# ---------------------------------------------------------------- users


@router.get("/users", tags=["users"])
def list_users(
    session: DbSession,
    _: Annotated[User, require("users", "read")],
    q: str | None = None,
    role: str | None = None,
    team_id: int | None = None,
    active: bool | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> PageOut[UserRead]:
    page = auth_service.list_users(
        session=session, q=q, role=role, team_id=team_id, active=active, limit=limit, cursor=cursor
    )
    return PageOut(items=[user_read(u) for u in page.items], next_cursor=page.next_cursor)


@router.post("/users", tags=["users"], status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate,
    response: Response,
    session: DbSession,
    _: Annotated[User, require("users", "create")],
) -> UserRead:
    user = auth_service.create_user(session=session, user_in=body)
    response.headers["ETag"] = etag(user.version)
    return user_read(user)


@router.get("/users/{user_id}", tags=["users"])
def read_user(
    user_id: int,
    response: Response,
    session: DbSession,
    _: Annotated[User, require("users", "read")],
) -> UserRead:
    user = auth_service.get_user(session=session, user_id=user_id)
    response.headers["ETag"] = etag(user.version)
    return user_read(user)


@router.patch("/users/{user_id}", tags=["users"])
def update_user(
    user_id: int,
    body: UserUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    actor: Annotated[User, require("users", "update")],
) -> UserRead:
    user = auth_service.get_user(session=session, user_id=user_id)
    user = auth_service.update_user(
        session=session, actor=actor, user=user, user_in=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(user.version)
    return user_read(user)


# ---------------------------------------------------------------- teams


@router.get("/teams", tags=["teams"])
def list_teams(session: DbSession, _: Annotated[User, require("teams", "read")]) -> list[TeamRead]:
    return [TeamRead.model_validate(t) for t in auth_service.list_teams(session=session)]


@router.post("/teams", tags=["teams"], status_code=status.HTTP_201_CREATED)
def create_team(
    body: TeamCreate,
    response: Response,
    session: DbSession,
    _: Annotated[User, require("teams", "create")],
) -> TeamRead:
    team = auth_service.create_team(session=session, team_in=body)
    response.headers["ETag"] = etag(team.version)
    return TeamRead.model_validate(team)


@router.get("/teams/{team_id}", tags=["teams"])
def read_team(
    team_id: int,
    response: Response,
    session: DbSession,
    _: Annotated[User, require("teams", "read")],
) -> TeamRead:
    team = auth_service.get_team(session=session, team_id=team_id)
    response.headers["ETag"] = etag(team.version)
    return TeamRead.model_validate(team)


@router.patch("/teams/{team_id}", tags=["teams"])
def update_team(
    team_id: int,
    body: TeamUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("teams", "update")],
) -> TeamRead:
    team = auth_service.get_team(session=session, team_id=team_id)
    team = auth_service.update_team(
        session=session, team=team, team_in=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(team.version)
    return TeamRead.model_validate(team)


@router.delete("/teams/{team_id}", tags=["teams"], status_code=status.HTTP_204_NO_CONTENT)
def delete_team(
    team_id: int,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("teams", "delete")],
) -> None:
    team = auth_service.get_team(session=session, team_id=team_id)
    auth_service.delete_team(session=session, team=team, expected_version=expected_version)


# ---------------------------------------------------------------- roles


@router.get("/permissions", tags=["roles"])
def permission_vocabulary(_: Annotated[User, require("roles", "read")]) -> dict[str, object]:
    """The resources, actions and record scopes a role can be built from."""
    return {"resources": RESOURCES, "actions": list(ACTIONS), "record_scopes": list(RECORD_SCOPES)}


@router.get("/roles", tags=["roles"])
def list_roles(session: DbSession, _: Annotated[User, require("roles", "read")]) -> list[RoleRead]:
    return [role_read(r) for r in auth_service.list_roles(session=session)]


@router.post("/roles", tags=["roles"], status_code=status.HTTP_201_CREATED)
def create_role(
    body: RoleCreate,
    response: Response,
    session: DbSession,
    _: Annotated[User, require("roles", "create")],
) -> RoleRead:
    role = auth_service.create_role(session=session, role_in=body)
    response.headers["ETag"] = etag(role.version)
    return role_read(role)


@router.get("/roles/{role_id}", tags=["roles"])
def read_role(
    role_id: int,
    response: Response,
    session: DbSession,
    _: Annotated[User, require("roles", "read")],
) -> RoleRead:
    role = auth_service.get_role(session=session, role_id=role_id)
    response.headers["ETag"] = etag(role.version)
    return role_read(role)


@router.patch("/roles/{role_id}", tags=["roles"])
def update_role(
    role_id: int,
    body: RoleUpdate,
    response: Response,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("roles", "update")],
) -> RoleRead:
    role = auth_service.get_role(session=session, role_id=role_id)
    role = auth_service.update_role(
        session=session, role=role, role_in=body, expected_version=expected_version
    )
    response.headers["ETag"] = etag(role.version)
    return role_read(role)


@router.delete("/roles/{role_id}", tags=["roles"], status_code=status.HTTP_204_NO_CONTENT)
def delete_role(
    role_id: int,
    session: DbSession,
    expected_version: IfMatch,
    _: Annotated[User, require("roles", "delete")],
) -> None:
    role = auth_service.get_role(session=session, role_id=role_id)
    auth_service.delete_role(session=session, role=role, expected_version=expected_version)
