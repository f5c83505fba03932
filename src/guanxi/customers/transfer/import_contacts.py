"""Upserting a batch of contact rows (联系人导入).

A row names its organisation by external id, or by its exact name among the organisations the
importer may see. The contact is matched by its own external id, else by e-mail, else by phone
within that organisation. A contact is visible exactly when its organisation is
(``customers.contacts``), so a match under an organisation the importer may not see is refused
without saying whose it is. As for customers, empty cells leave fields as they are and tags are
only added; importing a file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session

from guanxi.audit import personal
from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers import custom_fields, tags
from guanxi.customers.models import Contact, ContactTag, Customer, Tag
from guanxi.customers.transfer.import_batch import (
    CONFLICT,
    DUPLICATE_IN_FILE,
    GONE,
    NO_UPDATES,
    SAME_KEYS_IN_BATCH,
    BatchResult,
    Refusal,
    RunContext,
    allocate_ids,
    audit_batch,
    chunked,
    created_changes,
    insert_rows,
    one_of,
    sort_plans,
    update_versioned,
)
from guanxi.customers.transfer.import_rows import ContactRow, RowError
from guanxi.db import utcnow
from guanxi.errors import N_, InvalidInput

FIELDS = ("name", "title", "purchase_role", "phone", "email", "notes", "external_id")
_TABLE: Table = Contact.__table__  # type: ignore[assignment]
_UPDATED = ("organisation_id", *FIELDS, "custom_fields")
_DEFAULTS: dict[str, Any] = {
    "title": "",
    "purchase_role": "other",
    "phone": "",
    "email": "",
    "notes": "",
    "external_id": None,
}
NO_ORGANISATION = N_("No organisation you may see has this external id or name.")
SEVERAL_ORGANISATIONS = N_("Several organisations have this name; use their external id.")
NOT_AN_ORGANISATION = N_("Contacts belong to organisations, not to persons.")


@dataclass
class _Existing:
    id: int
    organisation_id: int
    values: dict[str, Any]
    version: int
    custom_fields: dict[str, Any]
    deleted: bool
    tag_ids: list[int] = field(default_factory=list)


@dataclass
class _Write:
    row: ContactRow
    values: dict[str, Any]
    tags: list[Tag]
    changes: dict[str, Any]
    existing: _Existing | None = None


def import_batch(session: Session, context: RunContext, rows: Sequence[ContactRow]) -> BatchResult:
    """Upsert valid contact rows; what was refused and why is in the result."""
    result = BatchResult()
    planner = _Planner(session, context, rows, result)
    inserts, updates = planner.plan(rows)
    result.inserted, result.updated = len(inserts), len(updates)
    if not context.dry_run:
        _insert(session, inserts, context)
        _update(session, updates)
        audit_batch(
            session,
            "contact",
            Contact.__audit_personal__,
            [("create", w.values["id"], w.changes) for w in inserts]
            + [("update", w.values["id"], w.changes) for w in updates],
        )
    return result


def _organisations(
    session: Session, actor: User, rows: Sequence[ContactRow]
) -> tuple[dict[str, tuple[int, str]], dict[str, list[tuple[int, str]]]]:
    """Visible, active customers by external id and by exact name: (id, kind)."""
    visible = restrict(
        select(Customer.id, Customer.kind, Customer.external_id, Customer.name).where(
            Customer.deleted_at.is_(None), Customer.merged_into_id.is_(None)
        ),
        Customer,
        actor,
    )
    externals = {r.organisation_external_id for r in rows if r.organisation_external_id}
    names = {
        r.organisation_name for r in rows if r.organisation_name and not r.organisation_external_id
    }
    by_external: dict[str, tuple[int, str]] = {}
    by_name: dict[str, list[tuple[int, str]]] = {}
    for chunk in chunked(externals):
        for cid, kind, external, _ in session.execute(
            visible.where(Customer.external_id.in_(chunk))
        ):
            by_external[str(external)] = (cid, kind)
    for chunk in chunked(names):
        for cid, kind, _, name in session.execute(visible.where(Customer.name.in_(chunk))):
            by_name.setdefault(name, []).append((cid, kind))
    return by_external, by_name


class _Planner:
    def __init__(
        self,
        session: Session,
        context: RunContext,
        rows: Sequence[ContactRow],
        result: BatchResult,
    ) -> None:
        self.session = session
        self.context = context
        self.result = result
        self.may_update = context.actor.can("contacts", "update")
        self.by_external, self.by_name = _organisations(session, context.actor, rows)
        self.visible_organisations: set[int] = set()
        self.existing = self._lookup(rows)
        self.tags_by_name = _tags_by_name(session, rows, context)
        self.required_custom = any(
            d.required for d in custom_fields.definitions(session, "contact")
        )
        tag_ids = {i for e in self.existing.values() for i in e.tag_ids}
        self.tags_by_id = (
            {t.id: t for t in session.scalars(select(Tag).where(Tag.id.in_(tag_ids)))}
            if tag_ids
            else {}
        )
        self.batch_keys: dict[tuple[Any, ...], int] = {}

    def _lookup(self, rows: Sequence[ContactRow]) -> dict[tuple[Any, ...], _Existing]:
        """Existing contacts by ("x", external id), ("e", org, e-mail) and ("p", org, phone)."""
        externals = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        emails = {r.values["email"] for r in rows if r.values.get("email")}
        phones = {r.values["phone"] for r in rows if r.values.get("phone")}
        columns = [_TABLE.c[name] for name in FIELDS]
        base = select(
            Contact.id,
            Contact.organisation_id,
            Contact.version,
            Contact.custom_fields,
            Contact.deleted_at,
            *columns,
        )
        found: dict[tuple[Any, ...], _Existing] = {}
        loaded: dict[int, _Existing] = {}
        conditions = [
            (Contact.external_id, externals),
            (Contact.email, emails),
            (Contact.phone, phones),
        ]
        for column, values in conditions:
            for chunk in chunked(values):
                for row in self.session.execute(
                    base.where(one_of(self.session, column, chunk))
                ).mappings():
                    contact = loaded.setdefault(row["id"], _existing(row))
                    for key in _keys_of(contact):
                        found.setdefault(key, contact)
        for chunk in chunked(loaded):
            for cid, tag_id in self.session.execute(
                select(ContactTag.contact_id, ContactTag.tag_id).where(
                    one_of(self.session, ContactTag.contact_id, chunk)
                )
            ):
                loaded[cid].tag_ids.append(tag_id)
        organisations = {c.organisation_id for c in loaded.values()}
        for chunk in chunked(organisations):
            stmt = restrict(
                select(Customer.id).where(one_of(self.session, Customer.id, chunk)),
                Customer,
                self.context.actor,
            )
            self.visible_organisations.update(self.session.scalars(stmt))
        return found

    def plan(self, rows: Sequence[ContactRow]) -> tuple[list[_Write], list[_Write]]:
        return sort_plans(rows, self._plan_row, self.result, lambda w: w.existing is None)

    def _column(self, target: str) -> str:
        return self.context.field_columns.get(target, target)

    def _organisation(self, row: ContactRow) -> int:
        if row.organisation_external_id:
            found = self.by_external.get(row.organisation_external_id)
            column = self._column("organisation_external_id")
        else:
            candidates = self.by_name.get(row.organisation_name or "", [])
            column = self._column("organisation")
            if len(candidates) > 1:
                raise Refusal(row, column, SEVERAL_ORGANISATIONS)
            found = candidates[0] if candidates else None
        if found is None:
            raise Refusal(row, column, NO_ORGANISATION)
        if found[1] != "organisation":
            raise Refusal(row, column, NOT_AN_ORGANISATION)
        return found[0]

    def _plan_row(self, row: ContactRow) -> _Write | None:
        organisation_id = self._organisation(row)
        keys = _row_keys(row, organisation_id)
        other = next((self.batch_keys[k] for k in keys if k in self.batch_keys), None)
        if other is not None:
            raise Refusal(row, "", SAME_KEYS_IN_BATCH, other=other)
        for key in keys:
            self.batch_keys.setdefault(key, row.number)
        existing = next((self.existing[k] for k in keys if k in self.existing), None)
        if existing is None:
            return self._new(row, organisation_id)
        if existing.deleted:
            raise Refusal(row, self._column("external_id"), GONE)
        if existing.organisation_id not in self.visible_organisations:
            raise Refusal(row, "", CONFLICT)
        if existing.id in self.context.seen:
            raise Refusal(row, "", DUPLICATE_IN_FILE)
        self.context.seen.add(existing.id)
        write = self._changed(row, existing, organisation_id)
        if write is not None and not self.may_update:
            raise Refusal(row, "", NO_UPDATES)
        return write

    def _custom(self, row: ContactRow, current: dict[str, Any]) -> dict[str, Any]:
        if not row.custom and not self.required_custom:
            return current
        try:
            return custom_fields.validate(self.session, "contact", row.custom, current=current)
        except InvalidInput as invalid:
            refused = Refusal(row, "", invalid.template)
            refused.errors = [
                RowError(
                    row.number,
                    self._column("cf." + e.field.removeprefix("custom_fields.")),
                    e.message,
                )
                for e in invalid.errors
            ]
            raise refused from invalid

    def _new(self, row: ContactRow, organisation_id: int) -> _Write:
        values = {**_DEFAULTS, **row.values, "organisation_id": organisation_id}
        values["custom_fields"] = self._custom(row, {})
        row_tags = tags.merged([], [self.tags_by_name[n] for n in row.tags])
        changes = created_changes(
            {
                **row.values,
                "organisation_id": organisation_id,
                "custom_fields": values["custom_fields"],
                "tags": [t.name for t in row_tags],
                "import_run": self.context.run_id,
            },
            frozenset(),
        )
        return _Write(row, values, row_tags, changes)

    def _changed(self, row: ContactRow, existing: _Existing, organisation_id: int) -> _Write | None:
        values = {**existing.values, "organisation_id": existing.organisation_id}
        changes: dict[str, Any] = {}
        for name, value in {**row.values, "organisation_id": organisation_id}.items():
            if value != values[name]:
                changes[name] = {"before": values[name], "after": value}
                values[name] = value
        values["custom_fields"] = self._custom(row, existing.custom_fields)
        if values["custom_fields"] != existing.custom_fields:
            changes["custom_fields"] = {
                "before": existing.custom_fields,
                "after": values["custom_fields"],
            }
        current = [self.tags_by_id[i] for i in existing.tag_ids if i in self.tags_by_id]
        final = tags.merged(current, [self.tags_by_name[n] for n in row.tags])
        before, after = sorted(t.name for t in current), sorted(t.name for t in final)
        if before != after:
            changes["tags"] = {"before": before, "after": after}
        if not changes:
            return None
        changes["import_run"] = {"after": self.context.run_id}
        values["id"], values["version"] = existing.id, existing.version
        return _Write(row, values, final, changes, existing)


def _existing(row: Any) -> _Existing:
    return _Existing(
        id=row["id"],
        organisation_id=row["organisation_id"],
        values={name: row[name] for name in FIELDS},
        version=row["version"],
        custom_fields=dict(row["custom_fields"] or {}),
        deleted=row["deleted_at"] is not None,
    )


def _keys_of(contact: _Existing) -> list[tuple[Any, ...]]:
    values = contact.values
    keys: list[tuple[Any, ...]] = []
    if values["external_id"]:
        keys.append(("x", values["external_id"]))
    if values["email"] and not contact.deleted:
        keys.append(("e", contact.organisation_id, values["email"]))
    if values["phone"] and not contact.deleted:
        keys.append(("p", contact.organisation_id, values["phone"]))
    return keys


def _row_keys(row: ContactRow, organisation_id: int) -> list[tuple[Any, ...]]:
    keys: list[tuple[Any, ...]] = []
    if row.values.get("external_id"):
        keys.append(("x", row.values["external_id"]))
    if row.values.get("email"):
        keys.append(("e", organisation_id, row.values["email"]))
    if row.values.get("phone"):
        keys.append(("p", organisation_id, row.values["phone"]))
    return keys


def _tags_by_name(
    session: Session, rows: Sequence[ContactRow], context: RunContext
) -> dict[str, Tag]:
    names = {name for row in rows for name in row.tags}
    if not names:
        return {}
    found = {t.name: t for t in session.scalars(select(Tag).where(Tag.name.in_(names)))}
    missing = sorted(names - set(found))
    if context.dry_run:
        found.update({name: Tag(name=name) for name in missing})
    elif missing:
        found.update({t.name: t for t in tags.resolve(session, missing)})
    return found


def _insert(session: Session, inserts: list[_Write], context: RunContext) -> None:
    if not inserts:
        return
    now = utcnow()
    for write in inserts:
        write.values.update(created_at=now, updated_at=now, version=1)
    ids = allocate_ids(session, _TABLE, len(inserts))
    for write, contact_id in zip(inserts, ids, strict=True):
        write.values["id"] = contact_id
        context.seen.add(contact_id)
    insert_rows(session, _TABLE, [w.values for w in inserts])
    links = [{"contact_id": w.values["id"], "tag_id": t.id} for w in inserts for t in w.tags]
    if links:
        insert_rows(session, ContactTag.__table__, links)  # type: ignore[arg-type]
    personal.create_keys(session, "contact", ids)


def _update(session: Session, updates: list[_Write]) -> None:
    if not updates:
        return
    update_versioned(
        session,
        _TABLE,
        _UPDATED,
        [w.values for w in updates],
        N_("A contact changed while the import ran; run the import again."),
    )
    links, removed = [], []
    for write in updates:
        assert write.existing is not None
        before, after = set(write.existing.tag_ids), {t.id for t in write.tags}
        links += [{"contact_id": write.existing.id, "tag_id": t} for t in after - before]
        removed += [{"c": write.existing.id, "t": t} for t in before - after]
    if links:
        insert_rows(session, ContactTag.__table__, links)  # type: ignore[arg-type]
    if removed:
        session.connection().execute(
            delete(ContactTag).where(
                ContactTag.contact_id == bindparam("c"), ContactTag.tag_id == bindparam("t")
            ),
            removed,
        )
