"""Upserting a batch of customer rows.

Each row is matched to an existing customer by external id, else e-mail, else phone (normalised,
so "138 0013 8000" meets "+8613800138000"). A match the importer may not see is refused without
saying whose it is; a match whose values already agree is "unchanged", so importing one file twice
changes nothing; anything else is updated. Empty cells leave a field as it is, and phones, e-mails
and tags are added to a customer's, never removed. New customers with the name and city of one
the importer can see are imported and reported as possible duplicates.

Written for speed (DESIGN.md: an import is measured against a raw insert): one lookup per key per
batch (``customer_lookup``), bulk Core statements with ids allocated per batch
(``customer_writes``), search fields computed in Python, no ORM object per row, and one audit
append per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from guanxi import crypto
from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.auth.visibility import OUT_OF_REACH
from guanxi.customers import custom_fields, normalize, tags
from guanxi.customers.models import Customer, Tag
from guanxi.customers.schemas import CustomerFields
from guanxi.customers.transfer.customer_lookup import (
    IMPORTED,
    Existing,
    Matches,
    lookup,
    same_name_and_city,
)
from guanxi.customers.transfer.customer_writes import PlannedWrite, insert_new, update_changed
from guanxi.customers.transfer.import_batch import (
    CONFLICT,
    DUPLICATE_IN_FILE,
    GONE,
    NO_UPDATES,
    SAME_KEYS_IN_BATCH,
    BatchResult,
    Refusal,
    RunContext,
    audit_batch,
    created_changes,
    owner_in_reach,
    resolve_owner,
    sort_plans,
)
from guanxi.customers.transfer.import_rows import CustomerRow, RowError
from guanxi.errors import N_, InvalidInput

_TABLE: Table = Customer.__table__  # type: ignore[assignment]
_REDACTED = Customer.__audit_redacted__
_MAX_PHONES = CustomerFields.model_fields["phones"].metadata[0].max_length
_MAX_EMAILS = CustomerFields.model_fields["emails"].metadata[0].max_length
POSSIBLE_DUPLICATE = N_("Imported; possibly the same as customer {id} (same name and city).")


def _column_defaults() -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for name in IMPORTED:
        default = _TABLE.c[name].default
        scalar = default is not None and default.is_scalar
        defaults[name] = getattr(default, "arg", None) if scalar else None
    return defaults


_DEFAULTS = _column_defaults()


def import_batch(session: Session, context: RunContext, rows: Sequence[CustomerRow]) -> BatchResult:
    """Upsert valid rows; what was refused and why is in the result. Writes nothing on a dry run."""
    result = BatchResult()
    rows = _without_repeated_keys(rows, result)
    matches = lookup(session, context.actor, rows)
    planner = _Planner(session, context, matches, _tags_by_name(session, rows, context), result)
    inserts, updates = planner.plan(rows)
    _flag_possible_duplicates(session, context.actor, inserts, result)
    result.inserted, result.updated = len(inserts), len(updates)
    if not context.dry_run:
        insert_new(session, inserts, context)
        update_changed(session, updates)
        audit_batch(
            session,
            "customer",
            Customer.__audit_personal__,
            [("create", w.values["id"], w.changes) for w in inserts]
            + [("update", w.values["id"], w.changes) for w in updates],
        )
    return result


def _keys(row: CustomerRow) -> list[tuple[str, str]]:
    external = row.values.get("external_id")
    return (
        ([("x", external)] if external else [])
        + [("e", e) for e in row.emails]
        + [("p", p) for p in row.phones]
    )


def _without_repeated_keys(rows: Sequence[CustomerRow], result: BatchResult) -> list[CustomerRow]:
    """Refuse a row whose external id, e-mail or phone an earlier row of the batch has: two
    rows for one customer would make a second import of the file change it again."""
    first_row: dict[tuple[str, str], int] = {}
    kept = []
    for row in rows:
        keys = _keys(row)
        other = next((first_row[k] for k in keys if k in first_row), None)
        if other is not None:
            result.reject([RowError(row.number, "", SAME_KEYS_IN_BATCH, {"other": other})])
            continue
        for key in keys:
            first_row.setdefault(key, row.number)
        kept.append(row)
    return kept


def _tags_by_name(
    session: Session, rows: Sequence[CustomerRow], context: RunContext
) -> dict[str, Tag]:
    """The batch's tags; missing ones are created as free tags (audited like any tag), or on a
    dry run stand in unsaved."""
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


# ---------------------------------------------------------------- planning


class _Planner:
    """Decides per row: insert, update, unchanged or refused, and computes what to store."""

    def __init__(
        self,
        session: Session,
        context: RunContext,
        matches: Matches,
        tags_by_name: dict[str, Tag],
        result: BatchResult,
    ) -> None:
        self.session = session
        self.context = context
        self.matches = matches
        self.tags_by_name = tags_by_name
        self.result = result
        self.may_update = context.actor.can("customers", "update")
        self.cipher = crypto.cipher()
        self.required_custom = any(
            d.required for d in custom_fields.definitions(session, "customer")
        )
        tag_ids = {i for e in matches.existing.values() for i in e.tag_ids}
        self.tags_by_id = (
            {t.id: t for t in session.scalars(select(Tag).where(Tag.id.in_(tag_ids)))}
            if tag_ids
            else {}
        )

    def plan(self, rows: Sequence[CustomerRow]) -> tuple[list[PlannedWrite], list[PlannedWrite]]:
        return sort_plans(rows, self._plan_row, self.result, lambda w: w.existing is None)

    def _plan_row(self, row: CustomerRow) -> PlannedWrite | None:
        owner = self._owner(row)
        customer_id = self._match(row)
        if customer_id is None:
            return self._new(row, owner or self.context.default_owner)
        existing = self.matches.existing[customer_id]
        if not existing.active:
            raise Refusal(row, self._column("external_id"), GONE)
        if customer_id not in self.matches.visible:
            raise Refusal(row, "", CONFLICT)
        if customer_id in self.context.seen:
            raise Refusal(row, "", DUPLICATE_IN_FILE)
        self.context.seen.add(customer_id)
        write = self._changed(row, existing, owner)
        if write is not None and not self.may_update:
            raise Refusal(row, "", NO_UPDATES)
        return write

    def _column(self, target: str) -> str:
        return self.context.field_columns.get(target, target)

    def _owner(self, row: CustomerRow) -> tuple[int | None, int | None] | None:
        if not row.owner:
            return None
        owner = resolve_owner(self.session, self.context, row.owner)
        if owner is None:
            raise Refusal(row, self._column("owner"), N_("Unknown or disabled user."))
        if not owner_in_reach(self.session, self.context, owner[0]):
            raise Refusal(row, self._column("owner"), OUT_OF_REACH)
        return owner

    def _match(self, row: CustomerRow) -> int | None:
        external = row.values.get("external_id")
        if external and external in self.matches.by_external:
            return self.matches.by_external[external]
        found = next(
            (self.matches.by_email[e] for e in row.emails if e in self.matches.by_email), None
        )
        if found is None:
            found = next(
                (self.matches.by_phone[p] for p in row.phones if p in self.matches.by_phone), None
            )
        if found is not None and external:
            # the same phone under another external id is another customer (a shared office
            # line, say): imported beside it rather than merged into it
            other = self.matches.existing[found].values["external_id"]
            if other and other != external:
                return None
        return found

    def _custom(self, row: CustomerRow, current: dict[str, Any]) -> dict[str, Any]:
        if not row.custom and not self.required_custom:
            return current
        try:
            return custom_fields.validate(self.session, "customer", row.custom, current=current)
        except InvalidInput as invalid:
            raise Refusal.of(
                row,
                [
                    (self._column("cf." + e.field.removeprefix("custom_fields.")), e.message)
                    for e in invalid.errors
                ],
            ) from invalid

    def _new(self, row: CustomerRow, owner: tuple[int | None, int | None]) -> PlannedWrite:
        values = {**_DEFAULTS, **row.values}
        values["owner_id"], values["team_id"] = owner
        values["custom_fields"] = self._custom(row, {})
        values["id_number_encrypted"], values["id_number_index"] = self._id_number(row)
        row_tags = tags.merged([], [self.tags_by_name[name] for name in row.tags])
        # what the file set (defaults are implied by "create"), as the automatic audit shows it
        changes = created_changes(
            {
                **row.values,
                "owner_id": values["owner_id"],
                "custom_fields": values["custom_fields"],
                "id_number_encrypted": values["id_number_encrypted"],
                "phones": row.phones,
                "emails": row.emails,
                "tags": [t.name for t in row_tags],
                "import_run": self.context.run_id,
            },
            _REDACTED,
        )
        _derive(values, row.phones, row.emails)
        return PlannedWrite(row, values, row.phones, row.emails, row_tags, changes)

    def _id_number(self, row: CustomerRow) -> tuple[str | None, str | None]:
        if not row.id_number:
            return None, None
        return self.cipher.encrypt(row.id_number), self.cipher.blind_index(row.id_number)

    def _changed(
        self, row: CustomerRow, existing: Existing, owner: tuple[int | None, int | None] | None
    ) -> PlannedWrite | None:
        values = {**existing.values}
        changes: dict[str, Any] = {}
        for name, value in row.values.items():
            if value != existing.values[name]:
                changes[name] = {"before": existing.values[name], "after": value}
                values[name] = value
        current_phones = [p for p, _ in existing.phones]
        current_emails = [e for e, _ in existing.emails]
        phones = _added(row, self._column("phones"), current_phones, row.phones, _MAX_PHONES)
        emails = _added(row, self._column("emails"), current_emails, row.emails, _MAX_EMAILS)
        if phones:
            changes["phones"] = {"before": current_phones, "after": current_phones + phones}
        if emails:
            changes["emails"] = {"before": current_emails, "after": current_emails + emails}
        final_tags = self._merged_tags(row, existing, changes)
        values["custom_fields"] = self._custom(row, existing.custom_fields)
        if values["custom_fields"] != existing.custom_fields:
            changes["custom_fields"] = {
                "before": existing.custom_fields,
                "after": values["custom_fields"],
            }
        values["owner_id"], values["team_id"] = existing.owner_id, existing.team_id
        if owner is not None and owner != (existing.owner_id, existing.team_id):
            changes["owner_id"] = {"before": existing.owner_id, "after": owner[0]}
            values["owner_id"], values["team_id"] = owner
        values["id_number_encrypted"], values["id_number_index"] = self._changed_id_number(
            row, existing, changes
        )
        if not changes:
            return None
        changes["import_run"] = {"after": self.context.run_id}
        values["id"], values["version"] = existing.id, existing.version
        _derive(values, current_phones + phones, current_emails + emails)
        return PlannedWrite(row, values, phones, emails, final_tags, changes, existing)

    def _merged_tags(
        self, row: CustomerRow, existing: Existing, changes: dict[str, Any]
    ) -> list[Tag]:
        current = [self.tags_by_id[i] for i in existing.tag_ids if i in self.tags_by_id]
        final = tags.merged(current, [self.tags_by_name[name] for name in row.tags])
        before, after = sorted(t.name for t in current), sorted(t.name for t in final)
        if before != after:
            changes["tags"] = {"before": before, "after": after}
        return final

    def _changed_id_number(
        self, row: CustomerRow, existing: Existing, changes: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        stored = existing.id_number_encrypted, existing.id_number_index
        if not row.id_number:
            return stored
        index = self.cipher.blind_index(row.id_number)
        if index == existing.id_number_index:
            return stored
        changes["id_number_encrypted"] = {
            "before": tracking.REDACTED if existing.id_number_index else None,
            "after": tracking.REDACTED,
        }
        return self.cipher.encrypt(row.id_number), index


def _added(
    row: CustomerRow, column: str, current: list[str], given: list[str], most: int
) -> list[str]:
    """The values of ``given`` a customer does not have yet, within the schema's limit."""
    added = [value for value in given if value not in current]
    if len(current) + len(added) > most:
        raise Refusal(row, column, N_("At most {count} values are allowed."), count=most)
    return added


def _derive(values: dict[str, Any], phones: list[str], emails: list[str]) -> None:
    """The search fields, as ``service.refresh_search_fields`` computes them."""
    values["name_key"] = normalize.name_key(values["name"])
    values["search_text"] = normalize.search_text(values["name"], values["company"], phones, emails)
    values["search_grams"] = normalize.grams(values["name"], values["company"])


def _flag_possible_duplicates(
    session: Session, actor: User, inserts: list[PlannedWrite], result: BatchResult
) -> None:
    """New customers with the name and city of one the importer may see (only those: the note
    names the customer)."""
    names_by_city: dict[str, set[str]] = {}
    for write in inserts:
        names_by_city.setdefault(write.values["city"], set()).add(write.values["name_key"])
    found = same_name_and_city(session, actor, names_by_city)
    for write in inserts:
        other = found.get((write.values["city"], write.values["name_key"]))
        if other is not None:
            result.possible_duplicates += 1
            result.problems.append(
                RowError(write.row.number, "", POSSIBLE_DUPLICATE, {"id": other})
            )
