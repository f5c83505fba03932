"""API shapes for users, teams, roles, sessions and tokens."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guanxi.auth.models import Role, User
from guanxi.auth.passwords import MIN_PASSWORD_LENGTH
from guanxi.auth.permissions import ACTIONS, Action, RecordScope
from guanxi.errors import N_

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
ROLE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,59}$")

Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)]


def _username(value: str) -> str:
    value = value.strip().lower()
    if not USERNAME_PATTERN.match(value):
        raise ValueError(
            N_(
                "2-60 characters: letters, digits, dot, dash or underscore, "
                "starting with a letter or digit"
            )
        )
    return value


class TokenRequest(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_at: datetime | None = None


class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    parent_id: int | None = None


class TeamUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    parent_id: int | None = None


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    parent_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


Permissions = dict[str, list[Action]]


class RoleCreate(BaseModel):
    name: str = Field(description="Stable identifier, lower case, e.g. 'key_accounts'")
    label: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    record_scope: RecordScope = "own"
    permissions: Permissions = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not ROLE_NAME_PATTERN.match(value):
            raise ValueError(
                N_("lower-case letters, digits, dash or underscore, starting with a letter")
            )
        return value


class RoleUpdate(BaseModel):
    label: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    record_scope: RecordScope | None = None
    permissions: Permissions | None = None


class RoleRead(BaseModel):
    id: int
    name: str
    label: str
    description: str
    record_scope: str
    is_builtin: bool
    permissions: dict[str, list[str]]
    version: int


class UserCreate(BaseModel):
    username: str
    password: Password
    role: str = Field(description="Role name, e.g. 'sales'")
    team_id: int | None = None
    display_name: str = Field(default="", max_length=120)
    email: str = Field(default="", max_length=254)
    locale: str | None = None
    timezone: str | None = None

    @field_validator("username")
    @classmethod
    def _check_username(cls, value: str) -> str:
        return _username(value)


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    role: str | None = None
    team_id: int | None = None
    is_active: bool | None = None
    locale: str | None = None
    timezone: str | None = None
    password: Password | None = None


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    email: str
    role: str
    team_id: int | None
    team: str | None
    is_active: bool
    locale: str | None
    timezone: str | None
    last_login_at: datetime | None
    version: int
    created_at: datetime


class Me(UserRead):
    permissions: dict[str, list[str]]
    record_scope: str


class Preferences(BaseModel):
    locale: Literal["zh_CN", "en"] | None = None
    timezone: str | None = Field(default=None, max_length=64)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=200)
    new_password: Password


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    token_prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    token: str = Field(description="Shown once; store it now")


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        role=user.role.name,
        team_id=user.team_id,
        team=user.team.name if user.team else None,
        is_active=user.is_active,
        locale=user.locale,
        timezone=user.timezone,
        last_login_at=user.last_login_at,
        version=user.version,
        created_at=user.created_at,
    )


def role_read(role: Role) -> RoleRead:
    grants: dict[str, list[str]] = {}
    order: dict[str, int] = {action: index for index, action in enumerate(ACTIONS)}
    for resource, action in sorted(role.grants(), key=lambda g: (g[0], order.get(g[1], 99))):
        grants.setdefault(resource, []).append(action)
    return RoleRead(
        id=role.id,
        name=role.name,
        label=role.label,
        description=role.description,
        record_scope=role.record_scope,
        is_builtin=role.is_builtin,
        permissions=grants,
        version=role.version,
    )
