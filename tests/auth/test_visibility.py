"""Record visibility: owner, shares, managers up the team tree, and global roles; 404 otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from guanxi.auth import service as auth_service
from guanxi.auth.schemas import RoleCreate, UserUpdate
from guanxi.auth.visibility import Owned, get_visible, is_visible, restrict, share
from guanxi.db import Base
from guanxi.errors import NotFound
from tests.conftest import People


class Note(Owned, Base):
    """A stand-in for any owned record (customers, opportunities...), used only by these tests."""

    __tablename__ = "test_notes"
    __resource__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(40))


@pytest.fixture
def notes_table(session: Session) -> Iterator[None]:
    # created inside the test's transaction, so it disappears with the rollback
    Note.__table__.create(session.connection())
    yield


@pytest.fixture
def company(session: Session, people: People, notes_table: None) -> dict[str, object]:
    """Head office > East sales > Shanghai; North sales beside East."""
    head = people.team("Head office")
    east = people.team("East", parent=head)
    shanghai = people.team("Shanghai", parent=east)
    north = people.team("North", parent=head)
    who = {
        "rep": people.user("sales", team=shanghai),
        "peer": people.user("sales", team=shanghai),
        "north_rep": people.user("sales", team=north),
        "east_manager": people.user("manager", team=east),
        "north_manager": people.user("manager", team=north),
        "head_manager": people.user("manager", team=head),
        "admin": people.user("admin"),
    }
    note = Note(title="Zhang Wei", owner_id=who["rep"].user.id, team_id=shanghai.id)
    session.add(note)
    session.flush()
    return {"note": note, **who}


def _sees(session: Session, person, note: Note) -> bool:  # type: ignore[no-untyped-def]
    listed = session.scalars(restrict(select(Note), Note, person.user)).all()
    return note in listed


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep", True),
        ("peer", False),
        ("north_rep", False),
        ("east_manager", True),
        ("head_manager", True),
        ("north_manager", False),
        ("admin", True),
    ],
)
def test_who_sees_a_record(session: Session, company: dict, who: str, expected: bool):
    note = company["note"]
    person = company[who]
    assert _sees(session, person, note) is expected
    assert is_visible(session, note, person.user) is expected
    if expected:
        assert get_visible(session, Note, note.id, person.user) is note
    else:
        with pytest.raises(NotFound):
            get_visible(session, Note, note.id, person.user)


def test_sharing_makes_a_record_visible(session: Session, company: dict):
    note, peer = company["note"], company["peer"]
    share(session, note, with_user=peer.user, actor=company["rep"].user)
    assert _sees(session, peer, note)
    assert not _sees(session, company["north_rep"], note)


def test_owner_moving_team_moves_manager_visibility(session: Session, company: dict):
    note = company["note"]
    rep = company["rep"]
    north = auth_service.get_team_by_name(session=session, name="North")
    note.team_id = None  # only the owner's team decides now
    auth_service.update_user(
        session=session,
        actor=company["admin"].user,
        user=rep.user,
        user_in=UserUpdate(team_id=north.id),
        expected_version=None,
    )
    session.flush()
    assert _sees(session, company["north_manager"], note)
    assert not _sees(session, company["east_manager"], note)


def test_disabled_user_sees_nothing(session: Session, company: dict):
    rep = company["rep"]
    auth_service.update_user(
        session=session,
        actor=company["admin"].user,
        user=rep.user,
        user_in=UserUpdate(is_active=False),
        expected_version=None,
    )
    assert not _sees(session, rep, company["note"])


def test_a_custom_global_role_sees_everything(session: Session, company: dict, people: People):
    auth_service.create_role(
        session=session,
        role_in=RoleCreate(
            name="auditor", label="Auditor", record_scope="all", permissions={"customers": ["read"]}
        ),
    )
    auditor = people.user("auditor")
    assert _sees(session, auditor, company["note"])


def test_the_resolved_clause_sees_exactly_what_the_subquery_clause_sees(session: Session, company):  # type: ignore[no-untyped-def]
    """Reports use the clause with ids looked up first; it must be the same rule."""
    from guanxi.auth.visibility import resolved_visibility_clause, visibility_clause

    east = company["east_manager"].user.team_id
    extra = [
        Note(title="unowned, East team", owner_id=None, team_id=east),
        Note(title="north rep's", owner_id=company["north_rep"].user.id, team_id=None),
        Note(title="nobody's", owner_id=None, team_id=None),
    ]
    session.add_all(extra)
    session.flush()
    share(session, extra[2], with_user=company["rep"].user, actor=company["admin"].user)
    for name in ("rep", "peer", "north_rep", "east_manager", "north_manager", "head_manager"):
        user = company[name].user
        by_subquery = visibility_clause(Note, user)
        by_ids = resolved_visibility_clause(session, Note, user)
        assert by_subquery is not None and by_ids is not None
        expected = set(session.scalars(select(Note.title).where(by_subquery)))
        assert set(session.scalars(select(Note.title).where(by_ids))) == expected, name
    assert resolved_visibility_clause(session, Note, company["admin"].user) is None
