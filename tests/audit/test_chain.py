"""The audit log records every change in the same transaction and detects tampering."""

from __future__ import annotations

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from guanxi.audit import chain, tracking
from guanxi.audit import service as audit_service
from guanxi.audit.models import AuditEntry
from guanxi.auth import service as auth_service
from guanxi.auth.schemas import TeamUpdate, UserUpdate
from tests.conftest import People


def _entries(session: Session, entity_type: str, entity_id: object) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
    )


def test_create_update_delete_are_audited_with_before_and_after(session: Session, people: People):
    team = people.team("North")
    auth_service.update_team(
        session=session, team=team, team_in=TeamUpdate(name="North-East"), expected_version=None
    )
    auth_service.delete_team(session=session, team=team)

    create, change, removal = _entries(session, "team", team.id)
    assert create.action == "create" and create.changes["name"] == {"after": "North"}
    assert change.action == "update"
    assert change.changes == {"name": {"before": "North", "after": "North-East"}}
    assert removal.action == "delete" and removal.changes["name"] == {"before": "North-East"}
    assert {e.actor_username for e in (create, change, removal)} == {"test"}


def test_password_changes_are_logged_without_the_hash(session: Session, people: People):
    admin = people.user("admin")
    person = people.user("sales")
    auth_service.update_user(
        session=session,
        actor=admin.user,
        user=person.user,
        user_in=UserUpdate(password="another long password"),
        expected_version=None,
    )
    change = _entries(session, "user", person.user.id)[-1]
    assert change.changes["password_hash"] == {"before": "[redacted]", "after": "[redacted]"}
    assert "argon2" not in str([e.changes for e in _entries(session, "user", person.user.id)])


def test_audit_row_is_rolled_back_with_the_change(session: Session, people: People):
    savepoint = session.begin_nested()
    team = people.team("Temporary")
    team_id = team.id
    savepoint.rollback()
    assert _entries(session, "team", team_id) == []
    assert audit_service.verify(session=session).intact


def test_intact_chain_verifies(session: Session, people: People):
    people.team()
    people.user("sales")
    report = audit_service.verify(session=session)
    assert report.intact and report.checked > 0


def _last_two(session: Session) -> tuple[AuditEntry, AuditEntry]:
    people = People(session)
    people.team()
    people.team()
    rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(2)))
    return rows[1], rows[0]


def test_edited_row_is_reported(session: Session):
    first, _second = _last_two(session)
    session.execute(
        update(AuditEntry).where(AuditEntry.id == first.id).values(actor_username="mallory")
    )
    report = audit_service.verify(session=session)
    assert report.problem is not None
    assert report.problem.entry_id == first.id
    assert "edited" in report.problem.reason


def test_deleted_row_is_reported(session: Session):
    first, _second = _last_two(session)
    session.execute(delete(AuditEntry).where(AuditEntry.id == first.id))
    report = audit_service.verify(session=session)
    assert report.problem is not None and report.problem.entry_id == first.id
    assert "missing" in report.problem.reason


def test_reordered_rows_are_reported(session: Session):
    first, second = _last_two(session)
    # swap the two rows' contents while keeping ids and hashes in place, as a clumsy forger would
    swap = "UPDATE audit_log SET id = :new WHERE id = :old"
    parking = 10**9
    session.execute(text(swap), {"new": parking, "old": first.id})
    session.execute(text(swap), {"new": first.id, "old": second.id})
    session.execute(text(swap), {"new": second.id, "old": parking})
    report = audit_service.verify(session=session)
    assert report.problem is not None and report.problem.entry_id == first.id


def test_truncated_tail_is_reported(session: Session):
    _first, second = _last_two(session)
    session.execute(delete(AuditEntry).where(AuditEntry.id == second.id))
    report = audit_service.verify(session=session)
    assert report.problem is not None and report.problem.entry_id == second.id
    assert "end" in report.problem.reason


def test_explicit_events_join_the_chain(session: Session):
    tracking.record(session, "export", "customer", "all", {"rows": 12})
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert (entry.action, entry.entity_type, entry.changes) == ("export", "customer", {"rows": 12})
    assert chain.verify(session.connection()).intact


def test_audit_log_cannot_be_updated_silently_even_by_raw_sql(session: Session):
    _first, second = _last_two(session)
    session.execute(
        text("UPDATE audit_log SET changes = :c WHERE id = :id"),
        {"c": '{"name": {"after": "forged"}}', "id": second.id},
    )
    assert not audit_service.verify(session=session).intact
