"""Importing customers and contacts from files (客户导入): one ``ImportRun`` per file.

``start_run`` checks the file and its column mapping and records the run; ``execute_run`` reads the
file in batches (2,000 rows by default), each batch one transaction that also moves the run's
counters, so a crash leaves no half-written batch and running the same run again carries on after
the last committed batch. Rejected rows, with their file row number, column and reason, go to a
report that is kept per batch (rewritten if the batch is redone) and joined when the run ends.

The web UI runs ``execute_run`` in the job queue (``customers.jobs``) and polls the run; the CLI
runs it in the foreground with a progress bar.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from guanxi.audit import tracking
from guanxi.audit.chain import AuditActor
from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.permissions import ADMIN_ROLE
from guanxi.auth.visibility import ensure_may_hand_to
from guanxi.config import Settings
from guanxi.customers.models import ImportRun
from guanxi.customers.transfer import (
    column_mapping,
    import_contacts,
    import_customers,
    import_report,
)
from guanxi.customers.transfer.file_formats import SourceRow, count_rows, format_of, open_table
from guanxi.customers.transfer.import_batch import BatchResult, RunContext
from guanxi.customers.transfer.import_rows import ContactRules, CustomerRules, RowError
from guanxi.db import utcnow
from guanxi.errors import (
    N_,
    FieldError,
    GuanxiError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)

BATCH_ROWS = 2000
MAX_UPLOAD_BYTES = 1 << 30
_UPLOAD_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".vcf", ".vcard")
PENDING, RUNNING, FINISHED, FAILED = "pending", "running", "finished", "failed"
_COUNTERS = ("inserted", "updated", "unchanged", "rejected", "possible_duplicates")
_RESOURCE = {"customers": "customers", "contacts": "contacts"}


class UnitsOfWork(Protocol):
    """Where a run opens its transactions: a ``guanxi.db.Database``, or a test's stand-in."""

    def unit_of_work(self) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class _Spec:
    """What executing a run needs to know of it, read once (the row itself stays in the store)."""

    id: int
    entity: str
    path: Path
    file_format: str
    columns: dict[str, str]
    owner_id: int | None
    dry_run: bool
    processed_rows: int
    report_path: str
    finished: bool

    @classmethod
    def of(cls, run: ImportRun) -> _Spec:
        return cls(
            id=run.id,
            entity=run.entity,
            path=Path(run.stored_path),
            file_format=run.file_format,
            columns=dict(run.mapping["columns"]),
            owner_id=run.mapping.get("owner_id"),
            dry_run=run.dry_run,
            processed_rows=run.processed_rows,
            report_path=run.error_report_path,
            finished=run.status == FINISHED,
        )


@dataclass(frozen=True)
class Preview:
    """The first rows of a file as the mapping reads them, each with its problems."""

    columns: list[str]
    mapping: dict[str, str]
    rows: list[tuple[SourceRow, list[RowError]]]


# ---------------------------------------------------------------- starting


def start_run(
    *,
    session: Session,
    actor: User,
    path: Path,
    filename: str,
    entity: str = "customers",
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    owner: str | None = None,
    work_dir: Path | None = None,
) -> ImportRun:
    """Record an import of the file at ``path`` once its format, header and mapping check out.

    Without a mapping the columns are mapped automatically from their headers. ``owner`` (a
    username) owns the new records that have no owner column; by default the importer does.
    The report goes to ``work_dir`` (by default beside the file)."""
    if entity not in column_mapping.ENTITIES:
        raise InvalidInput(N_("Only customers and contacts can be imported."))
    if not actor.can(_RESOURCE[entity], "create"):
        raise PermissionDenied(
            N_("Your role may not {action} {resource}."), action="create", resource=entity
        )
    file_format = format_of(path, filename)
    columns = read_columns(path, file_format)
    custom = column_mapping.custom_labels(session, entity)
    chosen = (
        mapping if mapping is not None else column_mapping.auto_mapping(columns, entity, custom)
    )
    checked = column_mapping.check_mapping(chosen, columns, entity, custom)
    run = ImportRun(
        entity=entity,
        filename=filename[:255],
        stored_path=str(path.resolve()),
        file_format=file_format,
        dry_run=dry_run,
        mapping={"columns": checked, "owner_id": _owner_id(session, actor, owner)},
        created_by_id=actor.id,
        status=PENDING,
    )
    session.add(run)
    session.flush()
    directory = (work_dir or path.resolve().parent).resolve()
    run.error_report_path = str(directory / f"import-{run.id}-errors.jsonl")
    session.flush()
    return run


def imports_dir(settings: Settings) -> Path:
    """Where uploaded files and import reports are kept."""
    return settings.data_dir / "imports"


def save_upload(source: BinaryIO, filename: str, directory: Path) -> Path:
    """Store an uploaded file under a name of our own (never the uploader's path)."""
    suffix = Path(filename).suffix.lower()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"upload-{secrets.token_hex(12)}"
    target = target.with_suffix(suffix) if suffix in _UPLOAD_SUFFIXES else target
    size = 0
    with target.open("wb") as stored:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                break
            stored.write(chunk)
    if size == 0 or size > MAX_UPLOAD_BYTES:
        target.unlink()
        raise InvalidInput(
            N_("Choose a file of up to {limit} MB.") if size else N_("The file is empty."),
            errors=[FieldError("file", N_("This value is not valid."))],
            limit=MAX_UPLOAD_BYTES >> 20,
        )
    return target


def read_columns(path: Path, file_format: str) -> list[str]:
    with open_table(path, file_format) as table:
        return table.columns


def _owner_id(session: Session, actor: User, username: str | None) -> int | None:
    if not username:
        return None
    user = auth_service.get_user_by_username(session=session, username=username)
    if user is None or not user.is_active:
        raise InvalidInput(
            N_("There is no active user named {name}."),
            errors=[FieldError("owner", N_("Unknown or disabled user."))],
            name=username,
        )
    ensure_may_hand_to(session, actor, user)
    return user.id


def preview(
    *,
    session: Session,
    path: Path,
    filename: str,
    entity: str,
    mapping: dict[str, str] | None = None,
    limit: int = 10,
) -> Preview:
    """The first ``limit`` rows with the problems each would be refused for (automatic mapping
    unless one is given)."""
    file_format = format_of(path, filename)
    with open_table(path, file_format) as table:
        custom = column_mapping.custom_labels(session, entity)
        chosen = mapping or column_mapping.auto_mapping(table.columns, entity, custom)
        chosen = {c: chosen.get(c, "") for c in table.columns}
        rules = _rules(entity, chosen)
        rows = []
        for row in islice(table.rows, limit):
            checked = _check(rules, row)
            rows.append((row, checked if isinstance(checked, list) else []))
        return Preview(table.columns, chosen, rows)


# ---------------------------------------------------------------- reading runs


def get_run(*, session: Session, actor: User, run_id: int) -> ImportRun:
    """A run its creator may see, and anyone whose role sees all records."""
    run = session.get(ImportRun, run_id)
    if run is None or not _may_see(actor, run):
        raise NotFound(N_("Import {id} was not found."), id=run_id)
    return run


def _may_see(actor: User, run: ImportRun) -> bool:
    return run.created_by_id == actor.id or (actor.is_active and actor.role.record_scope == "all")


def list_runs(*, session: Session, actor: User, limit: int = 20) -> list[ImportRun]:
    stmt = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if actor.role.record_scope != "all":
        stmt = stmt.where(ImportRun.created_by_id == actor.id)
    return list(session.scalars(stmt))


def failure(run: ImportRun) -> tuple[str, dict[str, Any]]:
    """Why a run failed, as a message template and its values (translated where shown)."""
    if not run.message:
        return "", {}
    data = json.loads(run.message)
    return str(data["t"]), dict(data.get("p") or {})


# ---------------------------------------------------------------- executing


def execute_run(
    *,
    db: UnitsOfWork,
    run_id: int,
    actor_id: int | None,
    audit_actor: AuditActor | None = None,
    progress: Callable[[ImportRun], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportRun:
    """Import the run's file, or the rest of it if an earlier attempt stopped part-way.

    ``actor_id`` is who the import acts as (None: an administrator, for the command line);
    their visibility applies to matching. Returns the run as it ended (detached)."""
    spec = _begin(db, run_id)
    if spec.finished:
        return _end(db, run_id, FINISHED, None)
    try:
        _run_batches(db, spec, actor_id, audit_actor, progress, batch_rows)
    except _Taken:
        return _current(db, run_id)  # another worker has the run; it reports the outcome
    except GuanxiError as error:
        # the file cannot be read further (a broken CSV line, an XML bomb): retrying will not
        # help, so the run ends failed with the reason
        return _end(db, run_id, FAILED, error)
    except BaseException as error:
        _end(db, run_id, FAILED, error)
        raise
    return _end(db, run_id, FINISHED, None)


def _begin(db: UnitsOfWork, run_id: int) -> _Spec:
    with db.unit_of_work() as session:
        run = session.get(ImportRun, run_id)
        if run is None:
            raise NotFound(N_("Import {id} was not found."), id=run_id)
        if run.status == FINISHED:
            return _Spec.of(run)
        if run.total_rows == 0:
            run.total_rows = count_rows(Path(run.stored_path), run.file_format) or 0
        run.status, run.message = RUNNING, ""
        run.started_at = run.started_at or utcnow()
        session.flush()
        return _Spec.of(run)


def _current(db: UnitsOfWork, run_id: int) -> ImportRun:
    with db.unit_of_work() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        return run


def _end(db: UnitsOfWork, run_id: int, status: str, error: BaseException | None) -> ImportRun:
    with db.unit_of_work() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        if error is None and run.status != FINISHED:
            run.total_rows = run.processed_rows  # the estimate made at the start, made exact
            import_report.join(Path(run.error_report_path))
            run.finished_at = utcnow()
        run.status = status
        if isinstance(error, GuanxiError):
            run.message = json.dumps({"t": error.template, "p": error.params}, default=str)
        elif error is not None:
            run.message = json.dumps(
                {"t": N_("The import stopped: {reason}"), "p": {"reason": str(error)[:300]}}
            )
        session.flush()
        return run


def _acting(session: Session, actor_id: int | None) -> User:
    if actor_id is not None:
        return auth_service.get_user(session=session, user_id=actor_id)
    admin_role = auth_service.get_role_by_name(session=session, name=ADMIN_ROLE)
    # never added to the session: it only carries the administrator's role through visibility
    return User(username="system", role=admin_role, is_active=True)


def _run_batches(
    db: UnitsOfWork,
    spec: _Spec,
    actor_id: int | None,
    audit_actor: AuditActor | None,
    progress: Callable[[ImportRun], None] | None,
    batch_rows: int,
) -> None:
    rules = _rules(spec.entity, spec.columns)
    context: RunContext | None = None
    with open_table(spec.path, spec.file_format) as table:
        rows = islice(table.rows, spec.processed_rows, None)
        start = spec.processed_rows
        while batch := list(islice(rows, batch_rows)):
            with db.unit_of_work() as session:
                actor = _acting(session, actor_id)
                tracking.set_actor(session, audit_actor or _audit_actor(actor))
                _claim(session, spec.id, start, start + len(batch))
                if context is None:
                    # the run is ours now: forget the report of batches that never committed
                    import_report.drop_parts_from(spec.report_path, start)
                    context = _context(session, spec, actor, rules)
                context.actor = actor
                result = _import(session, spec.entity, context, rules, batch)
                import_report.write_part(
                    spec.report_path, list(spec.columns), start, batch, result.problems
                )
                current = _count(session, spec.id, result)
            start += len(batch)
            if progress is not None:
                progress(current)


def _audit_actor(actor: User) -> AuditActor:
    return (
        AuditActor(actor.id, actor.username) if actor.id is not None else AuditActor(None, "system")
    )


def _context(
    session: Session, spec: _Spec, actor: User, rules: CustomerRules | ContactRules
) -> RunContext:
    owner = (
        auth_service.get_user(session=session, user_id=spec.owner_id) if spec.owner_id else actor
    )
    return RunContext(
        run_id=spec.id,
        actor=actor,
        default_owner=(owner.id, owner.team_id),
        dry_run=spec.dry_run,
        field_columns={target: cols[0] for target, cols in rules.columns.items()},
    )


class _Taken(Exception):
    """Another worker is importing this run (it moved the run's position first)."""


def _claim(session: Session, run_id: int, start: int, end: int) -> None:
    """Take the batch: move the run's position from ``start`` to ``end`` first thing in the
    transaction, so a second worker on the same run (a retry while the first still runs) waits
    on the row lock and then finds the position moved."""
    moved = session.connection().execute(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.processed_rows == start)
        .values(processed_rows=end)
    )
    if moved.rowcount != 1:
        raise _Taken()


def _count(session: Session, run_id: int, result: BatchResult) -> ImportRun:
    table = ImportRun.__table__.c
    session.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id)
        .values({name: table[name] + getattr(result, name) for name in _COUNTERS})
    )
    run = session.get(ImportRun, run_id, populate_existing=True)
    assert run is not None
    return run


def _rules(entity: str, columns: dict[str, str]) -> CustomerRules | ContactRules:
    return CustomerRules(columns) if entity == "customers" else ContactRules(columns)


def _check(rules: CustomerRules | ContactRules, row: SourceRow) -> Any:
    if row.problem is not None:
        return [RowError(row.number, "", row.problem)]
    return rules.check(row)


def _import(
    session: Session,
    entity: str,
    context: RunContext,
    rules: CustomerRules | ContactRules,
    batch: Sequence[SourceRow],
) -> BatchResult:
    valid: list[Any] = []
    invalid: list[list[RowError]] = []
    for row in batch:
        checked = _check(rules, row)
        (invalid if isinstance(checked, list) else valid).append(checked)
    if entity == "customers":
        result = import_customers.import_batch(session, context, valid)
    else:
        result = import_contacts.import_batch(session, context, valid)
    for errors in invalid:
        result.reject(errors)
    return result
