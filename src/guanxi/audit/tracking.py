"""Automatic audit of every create, update and delete of an ``Audited`` row.

One session listener sees every flush, so no service can forget to audit a change: the rows are
written through the same connection, inside the same transaction as the change itself.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history

from guanxi.audit import personal as personal_log
from guanxi.audit.chain import SYSTEM_ACTOR, AuditActor, PendingEntry, append

ACTOR_KEY = "audit_actor"
_PENDING_KEY = "audit_pending"
_UNTRACKED = frozenset({"created_at", "updated_at", "version"})
REDACTED = "[redacted]"


class Audited:
    """Mixin for tables whose every change lands in the audit log.

    ``__audit_entity__`` names the entity in the log; fields in ``__audit_redacted__`` are logged
    as changed without their values (password hashes, token hashes, encrypted identifiers);
    fields in ``__audit_ignored__`` are not logged at all; collections named in
    ``__audit_collections__`` (tags, phones) are logged as before/after lists.
    """

    __audit_entity__: ClassVar[str]
    __audit_redacted__: ClassVar[frozenset[str]] = frozenset()
    # bookkeeping columns whose changes another audit event already tells (last_login_at)
    __audit_ignored__: ClassVar[frozenset[str]] = frozenset()
    # collections logged as lists of one attribute of their members, e.g. {"tags": "name"}
    __audit_collections__: ClassVar[dict[str, str]] = {}
    # fields (and collections) holding personal data: logged sealed with the subject's key, so
    # that erasing the subject makes them unreadable (see audit/personal.py)
    __audit_personal__: ClassVar[frozenset[str]] = frozenset()


def set_actor(session: Session, actor: AuditActor) -> None:
    session.info[ACTOR_KEY] = actor


def actor_of(session: Session) -> AuditActor:
    actor = session.info.get(ACTOR_KEY)
    return actor if isinstance(actor, AuditActor) else SYSTEM_ACTOR


def record(
    session: Session,
    action: str,
    entity_type: str,
    entity_id: object,
    changes: dict[str, Any] | None = None,
) -> None:
    """Audit something that is not a row change (a login, an export, a permission edit)."""
    append(
        session.connection(),
        actor_of(session),
        [PendingEntry(action, entity_type, str(entity_id), changes or {})],
    )


@event.listens_for(Session, "before_flush")
def _collect_changes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    # Old values and deleted rows are read before the flush, while the database still has them.
    entries: list[PendingEntry] = []
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(
            obj, include_collections=bool(obj.__audit_collections__)
        ):
            changes = _changed(obj)
            # no entry when only ignored bookkeeping changed
            if changes:
                entries.append(_entry(session, obj, "update", changes))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            entries.append(_entry(session, obj, "delete", _values(obj, "before")))
    session.info[_PENDING_KEY] = entries


@event.listens_for(Session, "after_flush")
def _write_changes(session: Session, _flush: UOWTransaction) -> None:
    # New rows have their ids only after the flush.
    entries = [
        _entry(session, obj, "create", _values(obj, "after"))
        for obj in session.new
        if isinstance(obj, Audited)
    ]
    entries.extend(session.info.pop(_PENDING_KEY, []))
    if entries:
        append(session.connection(), actor_of(session), entries)


@event.listens_for(Mapper, "mapper_configured")
def _keep_old_values(mapper: Mapper[Any], cls: type) -> None:
    # Without active history, assigning to an attribute that was never loaded forgets the old
    # value, and the audit log would show "before: null".
    if issubclass(cls, Audited):
        for attr in mapper.column_attrs:
            event.listen(getattr(cls, attr.key), "set", _ignore_set, active_history=True)


def _ignore_set(_target: object, value: Any, _old: Any, _initiator: object) -> Any:
    return value


def _entry(session: Session, obj: Audited, action: str, changes: dict[str, Any]) -> PendingEntry:
    # the primary key from the row itself: right after an INSERT the identity key is not set yet
    key = inspect(type(obj)).primary_key_from_instance(obj)
    entity_id = ",".join(str(part) for part in key)
    if obj.__audit_personal__:
        changes = seal_personal(
            session, obj.__audit_entity__, entity_id, changes, obj.__audit_personal__
        )
    return PendingEntry(action, obj.__audit_entity__, entity_id, changes)


def seal_personal(
    session: Session,
    entity_type: str,
    entity_id: str,
    changes: dict[str, Any],
    personal: frozenset[str],
) -> dict[str, Any]:
    """``changes`` with the values of personal fields sealed with the subject's key.

    Bulk writers (imports) that append audit entries themselves call this too."""
    sealed: dict[str, Any] = {}
    seal = None
    for field, change in changes.items():
        if field in personal and isinstance(change, dict):
            if seal is None:
                seal = personal_log.sealer(session, entity_type, entity_id)
            sealed[field] = {
                side: seal(value) for side, value in change.items() if value is not None
            }
        else:
            sealed[field] = change
    return sealed


def _columns(obj: Audited) -> list[str]:
    skipped = _UNTRACKED | obj.__audit_ignored__
    return [attr.key for attr in inspect(type(obj)).column_attrs if attr.key not in skipped]


def _shown(obj: Audited, key: str, value: Any) -> Any:
    return REDACTED if key in obj.__audit_redacted__ and value is not None else value


def _values(obj: Audited, side: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in _columns(obj):
        value = getattr(obj, key)
        if value is not None:
            values[key] = {side: _shown(obj, key, value)}
    for key, member_field in obj.__audit_collections__.items():
        members = [getattr(m, member_field) for m in getattr(obj, key)]
        if members:
            values[key] = {side: members}
    return values


def _changed(obj: Audited) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in _columns(obj):
        history = get_history(obj, key)
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        changes[key] = {"before": _shown(obj, key, before), "after": _shown(obj, key, after)}
    for key, member_field in obj.__audit_collections__.items():
        history = get_history(obj, key)
        if not history.has_changes():
            continue
        before = [getattr(m, member_field) for m in (*history.unchanged, *history.deleted)]
        after = [getattr(m, member_field) for m in (*history.unchanged, *history.added)]
        if sorted(map(str, before)) != sorted(map(str, after)):
            changes[key] = {"before": before, "after": after}
    return changes
