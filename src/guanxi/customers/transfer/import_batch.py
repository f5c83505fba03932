"""What the customer and contact importers share: a batch's outcome, the state a run carries from
batch to batch, bulk lookups, and audit entries written a batch at a time.

Bulk writes go through Core statements, which the automatic audit (``audit.tracking``) does not
see; so each batch appends one audit entry per changed record itself, in the same transaction,
with personal values sealed per data subject exactly as the automatic audit seals them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Table, and_, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from guanxi.audit import personal, tracking
from guanxi.audit.chain import PendingEntry, append
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users
from guanxi.bulk import insert_many
from guanxi.customers.transfer.import_rows import RowError
from guanxi.db import utcnow
from guanxi.errors import N_, Conflict

T = TypeVar("T")
Owner = tuple[int | None, int | None]  # (owner_id, team_id) a new record gets
IN_CHUNK = 5000  # values per IN (...) list: well under SQLite's and PostgreSQL's limits

# Reasons that do not say whose record a row ran into, so a refused row reveals nothing of a
# record its importer may not see.
CONFLICT = N_("This row matches a record you may not change.")
DUPLICATE_IN_FILE = N_("An earlier row of this file is the same record.")
SAME_KEYS_IN_BATCH = N_("Row {other} of this file has the same external id, e-mail or phone.")
GONE = N_("A deleted or merged record has this external id.")
NO_UPDATES = N_("Your role may not change existing records.")


@dataclass
class BatchResult:
    """What one batch did; notes are reported like errors but their rows were imported."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    possible_duplicates: int = 0
    problems: list[RowError] = field(default_factory=list)

    def reject(self, errors: Sequence[RowError]) -> None:
        self.rejected += 1
        self.problems.extend(errors)


class SeenIds:
    """Ids of the records a run has already written or matched, as a sparse bitmap: a million
    ids cost about 125 KB instead of the ~60 MB of a set, and a later row of the same file that
    lands on one of them is a duplicate, not a second update."""

    _SPAN = 1 << 16

    def __init__(self) -> None:
        self._pages: dict[int, bytearray] = {}

    def add(self, record_id: int) -> None:
        page = self._pages.setdefault(record_id // self._SPAN, bytearray(self._SPAN // 8))
        offset = record_id % self._SPAN
        page[offset >> 3] |= 1 << (offset & 7)

    def __contains__(self, record_id: int) -> bool:
        page = self._pages.get(record_id // self._SPAN)
        offset = record_id % self._SPAN
        return page is not None and bool(page[offset >> 3] & (1 << (offset & 7)))


@dataclass
class RunContext:
    """What every batch of one run needs."""

    run_id: int
    actor: User
    default_owner: Owner
    dry_run: bool
    # field -> the file column feeding it, to name it in a row's errors
    field_columns: dict[str, str] = field(default_factory=dict)
    seen: SeenIds = field(default_factory=SeenIds)
    # username -> (user id, team id) of an active user, or None: looked up once per run
    owners: dict[str, Owner | None] = field(default_factory=dict)
    # ids of the users the importer may hand records to, found on first need
    reachable: set[int] | None = None


def chunked(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` for a batch's lookups. On PostgreSQL written ``= ANY(array)``:
    one parameter instead of thousands, whose binding was most of a lookup's time there."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    in_list: ColumnElement[bool] = column.in_(values)
    return in_list


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """Ids for ``count`` new rows, known before they are inserted, so their phones, tags and
    audit entries can be written in bulk too (reading ids back in row order would cost a
    statement per row on SQLite).

    PostgreSQL hands them out from the table's sequence. SQLite gives a new row the highest id
    plus one; the caller already holds the database's single write lock (every import batch
    starts by moving its run's position), so no other writer can take the same ids before
    this transaction ends."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = f"{table.name}_id_seq"
        ids = session.execute(
            text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :n)"),
            {"sequence": sequence, "n": count},
        ).scalars()
        return sorted(int(i) for i in ids)
    highest = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(int(highest) + 1, int(highest) + 1 + count))


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows the fastest way each store offers (``guanxi.bulk``): multi-row INSERTs
    on SQLite, COPY on PostgreSQL."""
    insert_many(session.connection(), table, rows)


def audit_batch(
    session: Session,
    entity_type: str,
    personal_fields: frozenset[str],
    entries: Sequence[tuple[str, int, dict[str, Any]]],
) -> None:
    """Append ``(action, id, changes)`` entries to the audit chain in one call, personal values
    sealed with each subject's key (read, or created, for all of them in one query). Records
    without personal fields (orders) get no subject keys."""
    if not personal_fields:
        pending = [
            PendingEntry(action, entity_type, str(entity_id), changes)
            for action, entity_id, changes in entries
        ]
        append(session.connection(), tracking.actor_of(session), pending)
        return
    personal.load_keys(session, entity_type, (entity_id for _, entity_id, _ in entries))
    pending = [
        PendingEntry(
            action,
            entity_type,
            str(entity_id),
            tracking.seal_personal(session, entity_type, str(entity_id), changes, personal_fields),
        )
        for action, entity_id, changes in entries
    ]
    append(session.connection(), tracking.actor_of(session), pending)


def created_changes(values: dict[str, Any], redacted: frozenset[str]) -> dict[str, Any]:
    """A create entry's changes: the values that were set, as the automatic audit shows them."""
    # a tuple, not ``str | list | dict``: the union builds a type object on every call
    empty_kinds = (str, list, dict)
    return {
        key: {"after": tracking.REDACTED if key in redacted else value}
        for key, value in values.items()
        if value is not None and (value or not isinstance(value, empty_kinds))
    }


def resolve_owner(session: Session, context: RunContext, username: str) -> Owner | None:
    """An active user's (id, team id) by username, looked up once per run."""
    key = username.strip().lower()
    if key not in context.owners:
        user = auth_service.get_user_by_username(session=session, username=key)
        active = user is not None and user.is_active
        context.owners[key] = (user.id, user.team_id) if user is not None and active else None
    return context.owners[key]


def owner_in_reach(session: Session, context: RunContext, owner_id: int | None) -> bool:
    """Whether the importer may hand records to this user (the rule of ``reachable_users``)."""
    if context.reachable is None:
        if context.actor.role.record_scope == "all":
            return True
        context.reachable = {u.id for u in reachable_users(session, context.actor)}
    return owner_id in context.reachable


class Numbered(Protocol):
    number: int


class Refusal(Exception):
    """A row that cannot be imported, with the reasons per column: raised while planning, its
    errors go to the report and the batch goes on."""

    def __init__(self, row: Numbered, column: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.errors = [RowError(row.number, column, message, dict(params))]

    @classmethod
    def of(cls, row: Numbered, problems: list[tuple[str, str]]) -> Refusal:
        refused = cls(row, *problems[0])
        refused.errors = [RowError(row.number, column, message) for column, message in problems]
        return refused


W = TypeVar("W")
R = TypeVar("R")


def sort_plans(
    rows: Sequence[R],
    plan_row: Callable[[R], W | None],
    result: BatchResult,
    is_new: Callable[[W], bool],
) -> tuple[list[W], list[W]]:
    """Plan each row: refused rows are reported, unchanged ones counted, the rest split into
    (inserts, updates)."""
    inserts: list[W] = []
    updates: list[W] = []
    for row in rows:
        try:
            write = plan_row(row)
        except Refusal as refused:
            result.reject(refused.errors)
            continue
        if write is None:
            result.unchanged += 1
        elif is_new(write):
            inserts.append(write)
        else:
            updates.append(write)
    return inserts, updates


def update_versioned(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: list[dict[str, Any]],
    conflict: str,
) -> None:
    """Write ``columns`` of many rows in one executemany that also checks each row's version
    (and bumps it), refusing the batch with ``conflict`` if any row changed since it was read."""
    if not rows:
        return
    connection = session.connection()
    stmt = (
        update(table)
        .where(and_(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version")))
        .values(
            {
                **{name: bindparam("b_" + name, type_=table.c[name].type) for name in columns},
                "version": table.c.version + 1,
                "updated_at": utcnow(),
            }
        )
    )
    params = [{"b_" + name: row[name] for name in (*columns, "id", "version")} for row in rows]
    result = connection.execute(stmt, params)
    if connection.dialect.supports_sane_multi_rowcount and result.rowcount != len(rows):
        raise Conflict(conflict)
