"""JSON API for imports (upload, poll, error report) and customer exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from guanxi import jobs
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers.models import ImportRun
from guanxi.customers.search import filter_from_query
from guanxi.customers.transfer import (
    column_mapping,
    exporting,
    file_writers,
    import_report,
    importing,
)
from guanxi.customers.transfer.jobs import run_import
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, FieldError, InvalidInput

router = APIRouter(prefix="/api/v1")


class ImportRunRead(BaseModel):
    """An import and how far it got; poll until ``status`` is ``finished`` or ``failed``."""

    id: int
    entity: str
    filename: str
    file_format: str
    status: str
    dry_run: bool
    mapping: dict[str, str]
    total_rows: int
    processed_rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    possible_duplicates: int
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors_url: str | None


def run_read(run: ImportRun) -> ImportRunRead:
    template, params = importing.failure(run)
    has_report = run.status == importing.FINISHED and (run.rejected or run.possible_duplicates)
    return ImportRunRead(
        id=run.id,
        entity=run.entity,
        filename=run.filename,
        file_format=run.file_format,
        status=run.status,
        dry_run=run.dry_run,
        mapping=run.mapping.get("columns", {}),
        total_rows=run.total_rows,
        processed_rows=run.processed_rows,
        inserted=run.inserted,
        updated=run.updated,
        unchanged=run.unchanged,
        rejected=run.rejected,
        possible_duplicates=run.possible_duplicates,
        message=template.format(**params) if params else template,
        created_at=run.created_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        errors_url=f"/api/v1/imports/{run.id}/errors" if has_report else None,
    )


def _mapping(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInput(
            N_("The mapping must be a JSON object like {example}."),
            errors=[FieldError("mapping", N_("This value is not valid."))],
            example=column_mapping.MAPPING_EXAMPLE,
        )
    return {str(k): str(v or "") for k, v in value.items()}


@router.post("/imports", tags=["imports"], status_code=status.HTTP_202_ACCEPTED)
def create_import(
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK), XLSX or vCard")],
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("customers", "create")],
    entity: Annotated[Literal["customers", "contacts"], Form()] = "customers",
    mapping: Annotated[
        str | None, Form(description='JSON {"file column": "field"}; default: by headers')
    ] = None,
    mapping_id: Annotated[int | None, Form(description="A saved mapping")] = None,
    dry_run: Annotated[bool, Form(description="Check and count, write nothing")] = False,
    owner: Annotated[str | None, Form(description="Username owning new records")] = None,
) -> ImportRunRead:
    """Upload a file to import; it runs in the background. Poll ``GET /imports/{id}``."""
    columns = _mapping(mapping)
    if columns is None and mapping_id is not None:
        saved = column_mapping.get_mapping(session=session, mapping_id=mapping_id)
        columns = {str(k): str(v) for k, v in saved.columns.items()}
    directory = importing.imports_dir(settings)
    stored = importing.save_upload(file.file, file.filename or "upload", directory)
    try:
        run = importing.start_run(
            session=session,
            actor=actor,
            path=stored,
            filename=file.filename or stored.name,
            entity=entity,
            mapping=columns,
            dry_run=dry_run,
            owner=owner,
            work_dir=directory,
        )
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    jobs.enqueue_after_commit(session, run_import, run_id=run.id, actor_id=actor.id)
    return run_read(run)


@router.get("/imports/{run_id}", tags=["imports"])
def read_import(
    run_id: int, session: DbSession, actor: Annotated[User, require("customers", "read")]
) -> ImportRunRead:
    return run_read(importing.get_run(session=session, actor=actor, run_id=run_id))


def _english(template: str, params: dict[str, Any]) -> str:
    return template.format(**params) if params else template


@router.get(
    "/imports/{run_id}/errors",
    tags=["imports"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def import_errors(
    run_id: int, session: DbSession, actor: Annotated[User, require("customers", "read")]
) -> StreamingResponse:
    """Every refused row (row, field, reason, then the file's own columns) as CSV."""
    run = importing.get_run(session=session, actor=actor, run_id=run_id)
    if run.status != importing.FINISHED:
        raise InvalidInput(N_("The error report is ready when the import has finished."))
    header, rows = import_report.report_rows(run, _english)
    return download(
        file_writers.csv_chunks(header, rows),
        "csv",
        f"{Path(run.filename).stem}-errors.csv",
    )


def zone_of(request: Request, actor: User) -> ZoneInfo:
    settings: Settings = request.app.state.settings
    return actor.zone(settings.zone)


def download(chunks: Iterator[bytes], file_format: str, filename: str) -> StreamingResponse:
    """A streamed file download; the name is sent in RFC 6266 form, so Chinese names survive."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return StreamingResponse(
        chunks,
        media_type=file_writers.MEDIA_TYPES[file_format],
        headers={"Content-Disposition": disposition},
    )


@router.get(
    "/customers/export",
    tags=["customers"],
    response_class=StreamingResponse,
    responses={200: {"content": {t: {} for t in file_writers.MEDIA_TYPES.values()}}},
)
def export_customers(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "export")],
    format: Literal["csv", "xlsx", "vcf"] = "csv",
) -> StreamingResponse:
    """Download the customers a list shows (same filters as ``GET /customers``, plus
    ``ids=1,2,3``), as CSV, XLSX or vCard 3.0. Audited."""
    spec = filter_from_query(request.query_params)
    shape = exporting.layout(session=session, file_format=format, zone=zone_of(request, actor))
    exporting.record(session=session, actor=actor, spec=spec, file_format=format)
    chunks = exporting.stream(request.app.state.sessions, actor.id, spec, shape)
    return download(chunks, format, shape.filename)
