"""Use cases for users, teams and roles. Services flush but never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking as audit
from guanxi.auth.models import Role, RolePermission, Team, User, UserSession
from guanxi.auth.passwords import hash_password
from guanxi.auth.permissions import (
    ADMIN_ROLE,
    BUILTIN_ROLES,
    RESOURCES,
)
from guanxi.auth.schemas import (
    RoleCreate,
    RoleUpdate,
    TeamCreate,
    TeamUpdate,
    UserCreate,
    UserUpdate,
)
from guanxi.concurrency import ensure_version
from guanxi.config import SUPPORTED_LOCALES
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound
from guanxi.pagination import Page, paginate

# ---------------------------------------------------------------- teams


def list_teams(*, session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def get_team(*, session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(N_("Team {id} was not found."), id=team_id)
    return team


def get_team_by_name(*, session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(N_("There is no team named {name}."), name=name)
    return team


def create_team(*, session: Session, team_in: TeamCreate) -> Team:
    _ensure_unique_team_name(session, team_in.name)
    if team_in.parent_id is not None:
        get_team(session=session, team_id=team_in.parent_id)
    team = Team(name=team_in.name, description=team_in.description, parent_id=team_in.parent_id)
    session.add(team)
    session.flush()
    return team


def update_team(
    *, session: Session, team: Team, team_in: TeamUpdate, expected_version: int | None
) -> Team:
    ensure_version(team.version, expected_version)
    changes = team_in.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] != team.name:
        _ensure_unique_team_name(session, changes["name"])
    if "parent_id" in changes and changes["parent_id"] is not None:
        _ensure_not_own_ancestor(session, team, changes["parent_id"])
    for field, value in changes.items():
        setattr(team, field, value)
    session.flush()
    return team


def delete_team(*, session: Session, team: Team, expected_version: int | None = None) -> None:
    ensure_version(team.version, expected_version)
    if session.scalar(select(func.count()).select_from(User).where(User.team_id == team.id)):
        raise Conflict(N_("Team {name} still has members; move them first."), name=team.name)
    if session.scalar(select(func.count()).select_from(Team).where(Team.parent_id == team.id)):
        raise Conflict(N_("Team {name} still has teams below it; move them first."), name=team.name)
    session.delete(team)
    session.flush()


def _ensure_unique_team_name(session: Session, name: str) -> None:
    if session.scalar(select(Team.id).where(Team.name == name)) is not None:
        raise Conflict(
            N_("A team named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=name,
        )


def _ensure_not_own_ancestor(session: Session, team: Team, parent_id: int) -> None:
    parent: Team | None = get_team(session=session, team_id=parent_id)
    while parent is not None:
        if parent.id == team.id:
            raise InvalidInput(
                N_("A team cannot sit below itself."),
                errors=[FieldError("parent_id", N_("This would put the team below itself."))],
            )
        parent = parent.parent


# ---------------------------------------------------------------- roles


def list_roles(*, session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.is_builtin.desc(), Role.name)))


def get_role(*, session: Session, role_id: int) -> Role:
    role = session.get(Role, role_id)
    if role is None:
        raise NotFound(N_("Role {id} was not found."), id=role_id)
    return role


def get_role_by_name(*, session: Session, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFound(
            N_("There is no role named {name}."),
            errors=[FieldError("role", N_("Unknown role."))],
            name=name,
        )
    return role


def create_role(*, session: Session, role_in: RoleCreate) -> Role:
    if session.scalar(select(Role.id).where(Role.name == role_in.name)) is not None:
        raise Conflict(
            N_("A role named {name} already exists."),
            errors=[FieldError("name", N_("This name is taken."))],
            name=role_in.name,
        )
    role = Role(
        name=role_in.name,
        label=role_in.label,
        description=role_in.description,
        record_scope=role_in.record_scope,
    )
    session.add(role)
    _set_permissions(session, role, _validated_grants(role_in.permissions))
    return role


def update_role(
    *, session: Session, role: Role, role_in: RoleUpdate, expected_version: int | None
) -> Role:
    ensure_version(role.version, expected_version)
    changes = role_in.model_dump(exclude_unset=True)
    if role.name == ADMIN_ROLE and ({"record_scope", "permissions"} & changes.keys()):
        raise Conflict(N_("The admin role always has every permission and sees every record."))
    grants = changes.pop("permissions", None)
    for field, value in changes.items():
        setattr(role, field, value)
    if grants is not None:
        _set_permissions(session, role, _validated_grants(grants))
        # a permission change alone must still bump the version, so other editors see it
        role.updated_at = utcnow()
    session.flush()
    return role


def delete_role(*, session: Session, role: Role, expected_version: int | None = None) -> None:
    ensure_version(role.version, expected_version)
    if role.is_builtin:
        raise Conflict(N_("The built-in role {name} cannot be deleted."), name=role.name)
    if session.scalar(select(func.count()).select_from(User).where(User.role_id == role.id)):
        raise Conflict(
            N_("Role {name} is still given to users; change their role first."), name=role.name
        )
    session.delete(role)
    session.flush()


def _validated_grants(permissions: Mapping[str, Sequence[str]]) -> set[tuple[str, str]]:
    errors = [
        FieldError(f"permissions.{resource}", N_("Unknown resource."))
        for resource in permissions
        if resource not in RESOURCES
    ]
    if errors:
        raise InvalidInput(N_("The role names resources Guanxi does not have."), errors=errors)
    return {(resource, action) for resource, actions in permissions.items() for action in actions}


def _set_permissions(session: Session, role: Role, grants: set[tuple[str, str]]) -> None:
    before = role.grants() if role.id is not None else set()
    role.permissions = [RolePermission(resource=r, action=a) for r, a in sorted(grants)]
    session.flush()
    if before != grants:
        audit.record(
            session,
            "role.permissions",
            "role",
            role.id,
            {
                "permissions": {
                    "before": sorted(f"{r}:{a}" for r, a in before),
                    "after": sorted(f"{r}:{a}" for r, a in grants),
                }
            },
        )


def sync_builtin_roles(*, session: Session) -> list[Role]:
    """Create any built-in role the database lacks, and keep the admin role complete."""
    created = []
    for builtin in BUILTIN_ROLES:
        role = session.scalar(select(Role).where(Role.name == builtin.name))
        if role is None:
            role = Role(
                name=builtin.name,
                label=builtin.label,
                description=builtin.description,
                record_scope=builtin.record_scope,
                is_builtin=True,
            )
            session.add(role)
            _set_permissions(session, role, {(r, a) for r, a in builtin.permissions()})
            created.append(role)
        elif builtin.name == ADMIN_ROLE and role.grants() != builtin.permissions():
            _set_permissions(session, role, {(r, a) for r, a in builtin.permissions()})
    session.flush()
    return created


# ---------------------------------------------------------------- users


def list_users(
    *,
    session: Session,
    q: str | None = None,
    role: str | None = None,
    team_id: int | None = None,
    active: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[User]:
    stmt = select(User)
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                User.username.like(pattern),
                func.lower(User.display_name).like(pattern),
                func.lower(User.email).like(pattern),
            )
        )
    if role:
        stmt = stmt.join(Role, User.role_id == Role.id).where(Role.name == role)
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    return paginate(session, stmt, User.id, limit=limit, cursor=cursor)


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User {id} was not found."), id=user_id)
    return user


def get_user_by_username(*, session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def create_user(*, session: Session, user_in: UserCreate) -> User:
    if get_user_by_username(session=session, username=user_in.username) is not None:
        raise Conflict(
            N_("The username {name} is taken."),
            errors=[FieldError("username", N_("This name is taken."))],
            name=user_in.username,
        )
    _check_preferences(user_in.locale, user_in.timezone)
    role = get_role_by_name(session=session, name=user_in.role)
    if user_in.team_id is not None:
        get_team(session=session, team_id=user_in.team_id)
    user = User(
        username=user_in.username,
        display_name=user_in.display_name,
        email=user_in.email.strip().lower(),
        password_hash=hash_password(user_in.password),
        role=role,
        team_id=user_in.team_id,
        locale=user_in.locale,
        timezone=user_in.timezone,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    *,
    session: Session,
    actor: User,
    user: User,
    user_in: UserUpdate,
    expected_version: int | None,
) -> User:
    """Change a user; disabling them, changing their role or password ends their sessions."""
    ensure_version(user.version, expected_version)
    changes = user_in.model_dump(exclude_unset=True)
    _check_preferences(changes.get("locale"), changes.get("timezone"))
    ends_sessions = False
    if "role" in changes:
        role = get_role_by_name(session=session, name=changes.pop("role"))
        if role.id != user.role_id:
            _ensure_admin_remains(session, user, losing="role")
            user.role = role
            ends_sessions = True
    if "team_id" in changes and changes["team_id"] is not None:
        get_team(session=session, team_id=changes["team_id"])
    if changes.get("is_active") is False and user.is_active:
        if user.id == actor.id:
            raise Conflict(N_("You cannot disable your own account."))
        _ensure_admin_remains(session, user, losing="is_active")
        ends_sessions = True
    password = changes.pop("password", None)
    if password is not None:
        user.password_hash = hash_password(password)
        ends_sessions = True
    if "email" in changes and changes["email"] is not None:
        changes["email"] = changes["email"].strip().lower()
    for field, value in changes.items():
        setattr(user, field, value)
    session.flush()
    if ends_sessions:
        end_all_sessions(session=session, user=user)
    return user


def end_all_sessions(*, session: Session, user: User) -> int:
    result = session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _ensure_admin_remains(session: Session, user: User, *, losing: str) -> None:
    if user.role.name != ADMIN_ROLE or not user.is_active:
        return
    active_admins = session.scalar(
        select(func.count())
        .select_from(User)
        .join(Role, User.role_id == Role.id)
        .where(Role.name == ADMIN_ROLE, User.is_active.is_(True))
    )
    if (active_admins or 0) <= 1:
        raise Conflict(
            N_("This is the last active administrator; make someone else an administrator first."),
            errors=[FieldError(losing, N_("The last administrator must stay."))],
        )


def _check_preferences(locale: str | None, timezone: str | None) -> None:
    errors = []
    if locale is not None and locale not in SUPPORTED_LOCALES:
        errors.append(FieldError("locale", N_("Choose one of the offered languages.")))
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(FieldError("timezone", N_("Unknown time zone.")))
    if errors:
        raise InvalidInput(N_("Some preferences are not valid."), errors=errors)
