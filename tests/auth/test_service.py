"""Users, teams and roles: the rules administrators rely on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from guanxi.auth import login
from guanxi.auth import service as auth_service
from guanxi.auth.models import Role, User, UserSession
from guanxi.auth.passwords import hash_password, verify_password
from guanxi.auth.permissions import BUILTIN_ROLE_NAMES, RESOURCES
from guanxi.auth.schemas import RoleCreate, RoleUpdate, TeamUpdate, UserCreate, UserUpdate
from guanxi.config import Settings
from guanxi.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from tests.conftest import PASSWORD, People


def test_builtin_roles_exist_after_upgrade(session: Session):
    names = set(session.scalars(select(Role.name)))
    assert set(BUILTIN_ROLE_NAMES) <= names
    admin = auth_service.get_role_by_name(session=session, name="admin")
    assert admin.record_scope == "all"
    assert admin.grants() == {
        (r, a)
        for r in RESOURCES
        for a in ("read", "create", "update", "delete", "export", "manage")
    }
    sales = auth_service.get_role_by_name(session=session, name="sales")
    assert sales.allows("customers", "read") and not sales.allows("users", "read")


def test_passwords_are_argon2_hashed():
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long enough password")
    assert not verify_password(hashed, "a wrong password here")
    assert not verify_password(None, "anything at all")


def test_usernames_are_case_insensitive_and_unique(session: Session, people: People):
    people.user("sales", username="Alice")
    assert auth_service.get_user_by_username(session=session, username="ALICE") is not None
    with pytest.raises(Conflict):
        people.user("sales", username="alice")


def test_short_password_is_refused():
    with pytest.raises(ValueError, match="at least 10"):
        UserCreate(username="bob", password="short", role="sales")


def test_unknown_role_is_refused(people: People):
    with pytest.raises(NotFound) as caught:
        people.user("wizard")
    assert caught.value.errors[0].field == "role"


def test_team_cannot_become_its_own_ancestor(session: Session, people: People):
    top = people.team("Top")
    middle = people.team("Middle", parent=top)
    bottom = people.team("Bottom", parent=middle)
    with pytest.raises(InvalidInput):
        auth_service.update_team(
            session=session,
            team=top,
            team_in=TeamUpdate(parent_id=bottom.id),
            expected_version=None,
        )


def test_team_with_members_cannot_be_deleted(session: Session, people: People):
    team = people.team()
    people.user("sales", team=team)
    with pytest.raises(Conflict, match="members"):
        auth_service.delete_team(session=session, team=team)


def test_stale_version_is_refused(session: Session, people: People):
    team = people.team()
    seen = team.version
    auth_service.update_team(
        session=session, team=team, team_in=TeamUpdate(description="a"), expected_version=seen
    )
    with pytest.raises(PreconditionFailed):
        auth_service.update_team(
            session=session, team=team, team_in=TeamUpdate(description="b"), expected_version=seen
        )
    assert team.description == "a"


def test_custom_role_permissions_are_data(session: Session):
    role = auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="key_accounts",
            label="Key accounts",
            record_scope="team",
            permissions={"customers": ["read", "update"]},
        ),
    )
    assert role.allows("customers", "update") and not role.allows("customers", "delete")
    auth_service.update_role(
        session=session,
        role=role,
        role_in=RoleUpdate(permissions={"customers": ["read"]}),
        expected_version=None,
    )
    assert not role.allows("customers", "update")


def test_role_with_unknown_resource_is_refused(session: Session):
    with pytest.raises(InvalidInput) as caught:
        auth_service.create_role(
            session=session,
            role_in=RoleCreate(name="odd", label="Odd", permissions={"spaceships": ["read"]}),
        )
    assert caught.value.errors[0].field == "permissions.spaceships"


def test_admin_role_cannot_lose_permissions(session: Session):
    admin = auth_service.get_role_by_name(session=session, name="admin")
    with pytest.raises(Conflict):
        auth_service.update_role(
            session=session, role=admin, role_in=RoleUpdate(permissions={}), expected_version=None
        )


def test_builtin_and_used_roles_cannot_be_deleted(session: Session, people: People):
    with pytest.raises(Conflict, match="built-in"):
        auth_service.delete_role(
            session=session, role=auth_service.get_role_by_name(session=session, name="sales")
        )
    role = auth_service.create_role(session=session, role_in=RoleCreate(name="temp", label="T"))
    person = people.user("sales")
    auth_service.update_user(
        session=session,
        actor=person.user,
        user=person.user,
        user_in=UserUpdate(role="temp"),
        expected_version=None,
    )
    with pytest.raises(Conflict, match="still given"):
        auth_service.delete_role(session=session, role=role)


def _only_admins(session: Session) -> list[User]:
    return list(session.scalars(select(User).join(Role).where(Role.name == "admin")))


def test_last_admin_cannot_be_demoted_or_disabled(session: Session, people: People):
    assert _only_admins(session) == []
    admin = people.user("admin")
    other = people.user("admin")
    auth_service.update_user(
        session=session,
        actor=admin.user,
        user=other.user,
        user_in=UserUpdate(is_active=False),
        expected_version=None,
    )
    with pytest.raises(Conflict, match="last active administrator"):
        auth_service.update_user(
            session=session,
            actor=other.user,
            user=admin.user,
            user_in=UserUpdate(role="sales"),
            expected_version=None,
        )


def test_nobody_disables_themselves(session: Session, people: People):
    people.user("admin")
    admin = people.user("admin")
    with pytest.raises(Conflict, match="your own"):
        auth_service.update_user(
            session=session,
            actor=admin.user,
            user=admin.user,
            user_in=UserUpdate(is_active=False),
            expected_version=None,
        )


def _sessions_of(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
        )
        or 0
    )


@pytest.mark.parametrize(
    "change",
    [UserUpdate(is_active=False), UserUpdate(role="service"), UserUpdate(password="x" * 12)],
    ids=["disabled", "role-changed", "password-changed"],
)
def test_security_changes_end_every_session(
    session: Session, people: People, settings: Settings, change: UserUpdate
):
    admin = people.user("admin")
    person = people.user("sales")
    for _ in range(2):
        login.start_session(
            session=session,
            settings=settings,
            user=person.user,
            ip_address="10.0.0.1",
            user_agent="test",
        )
    assert _sessions_of(session, person.user) == 2
    auth_service.update_user(
        session=session, actor=admin.user, user=person.user, user_in=change, expected_version=None
    )
    assert _sessions_of(session, person.user) == 0


def test_cosmetic_changes_keep_sessions(session: Session, people: People, settings: Settings):
    admin = people.user("admin")
    person = people.user("sales")
    login.start_session(
        session=session,
        settings=settings,
        user=person.user,
        ip_address="10.0.0.1",
        user_agent="test",
    )
    auth_service.update_user(
        session=session,
        actor=admin.user,
        user=person.user,
        user_in=UserUpdate(display_name="Li Na"),
        expected_version=None,
    )
    assert _sessions_of(session, person.user) == 1


def test_authenticate_accepts_the_right_password(
    session: Session, people: People, settings: Settings
):
    person = people.user("sales")
    user = login.authenticate(
        session=session,
        settings=settings,
        username=person.username.upper(),
        password=PASSWORD,
        ip_address="10.0.0.2",
    )
    assert user.id == person.user.id and user.last_login_at is not None
