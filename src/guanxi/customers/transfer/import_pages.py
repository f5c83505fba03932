"""Pages for importing and exporting customers and contacts.

Importing is four steps: upload a file; check the column mapping against a preview of the first
rows (the automatic or a saved mapping pre-selected); confirm, which queues the import as a job;
watch its progress (the page polls the run, or refreshes itself without JavaScript) and read the
result with its error report. Exporting streams the list page's current selection as a file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from guanxi import jobs
from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers import service as customer_service
from guanxi.customers.models import ImportRun
from guanxi.customers.search import filter_from_query
from guanxi.customers.transfer import (
    column_mapping,
    exporting,
    file_formats,
    file_writers,
    import_report,
    importing,
)
from guanxi.customers.transfer.import_api import download, zone_of
from guanxi.customers.transfer.jobs import run_import
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, NotFound
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, refusals
from guanxi.web.templating import activate_for, redirect, render

router = APIRouter(include_in_schema=False)

ENTITY_LABELS = {"customers": N_("Customers"), "contacts": N_("Contacts")}
FORMAT_LABELS = {
    "csv": N_("CSV (opens in Excel)"),
    "xlsx": N_("Excel workbook (XLSX)"),
    "vcf": N_("vCard 3.0 (phones and mail programs)"),
}
STATUS_LABELS = {
    importing.PENDING: N_("Waiting to start"),
    importing.RUNNING: N_("Importing"),
    importing.FINISHED: N_("Finished"),
    importing.FAILED: N_("Stopped"),
}
_UPLOAD_NAME = re.compile(r"^upload-[0-9a-f]{24}(\.[a-z]+)?$")


# ---------------------------------------------------------------- uploads between steps


def _uploads(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt="guanxi.import-upload")


def _upload_token(settings: Settings, user: User, stored: Path, filename: str) -> str:
    """Names an uploaded file for the next step, signed and bound to its uploader."""
    return _uploads(settings).dumps({"f": stored.name, "n": filename, "u": user.id})


def _upload(settings: Settings, user: User, token: str) -> tuple[Path, str]:
    try:
        data = _uploads(settings).loads(token)
    except BadSignature:
        data = {}
    stored = importing.imports_dir(settings) / str(data.get("f", ""))
    valid = _UPLOAD_NAME.match(stored.name) and data.get("u") == user.id and stored.is_file()
    if not valid:
        raise NotFound(N_("The uploaded file is gone; upload it again."))
    return stored, str(data.get("n") or stored.name)


# ---------------------------------------------------------------- step 1: upload


def _upload_page(
    request: Request,
    session: DbSession,
    actor: User,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "customers/import_upload.html",
        {
            "values": values or {"entity": "customers"},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "entities": ENTITY_LABELS,
            "mappings": {
                entity: column_mapping.list_mappings(session=session, entity=entity)
                for entity in ENTITY_LABELS
            },
            "runs": importing.list_runs(session=session, actor=actor),
            "status_labels": STATUS_LABELS,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/customers/import", response_class=HTMLResponse)
def upload_form(
    request: Request, session: DbSession, actor: Annotated[User, require("customers", "create")]
) -> HTMLResponse:
    return _upload_page(request, session, actor)


@router.post("/customers/import")
def upload(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("customers", "create")],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    entity = _entity(data.get("entity"))
    try:
        if file is None or not file.filename:
            raise FormInvalid(
                {"file": i18n.gettext(N_("This field is required."))},
                i18n.gettext(N_("Choose a CSV, XLSX or vCard file.")),
            )
        with refusals(session):
            stored = importing.save_upload(
                file.file, file.filename, importing.imports_dir(settings)
            )
            try:
                importing.read_columns(stored, file_formats.format_of(stored, file.filename))
            except BaseException:
                stored.unlink(missing_ok=True)
                raise
    except FormInvalid as invalid:
        return _upload_page(request, session, actor, dict(data), invalid)
    token = _upload_token(settings, actor, stored, file.filename)
    query = {"upload": token, "entity": entity, "mapping_id": data.get("mapping_id", "")}
    return redirect(request, "/customers/import/mapping?" + _query(query))


def _entity(value: object) -> str:
    return str(value) if value in ENTITY_LABELS else "customers"


def _query(params: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


# ---------------------------------------------------------------- step 2: mapping and preview


def _field_choices(session: DbSession, entity: str) -> list[tuple[str, str]]:
    choices = [(f.key, i18n.gettext(f.label)) for f in column_mapping.fields_for(entity)]
    custom = column_mapping.custom_labels(session, entity)
    choices += [(column_mapping.CUSTOM_PREFIX + key, label) for key, label in custom.items()]
    return choices


def _mapping_page(
    request: Request,
    session: DbSession,
    token: str,
    path: Path,
    filename: str,
    entity: str,
    mapping: dict[str, str] | None,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    shown = importing.preview(
        session=session, path=path, filename=filename, entity=entity, mapping=mapping
    )
    rows = []
    for source, problems in shown.rows:
        by_column: dict[str, list[str]] = {}
        for problem in problems:
            message = i18n.translate_template(problem.message, problem.params)
            by_column.setdefault(problem.field, []).append(message)
        cells = [(source.values.get(c, ""), by_column.get(c, [])) for c in shown.columns]
        rows.append(
            {
                "number": source.number,
                "cells": cells,
                "row_errors": by_column.get("", []),
                "refused": bool(problems),
            }
        )
    return render(
        request,
        "customers/import_mapping.html",
        {
            "token": token,
            "filename": filename,
            "entity": entity,
            "entity_label": ENTITY_LABELS[entity],
            "columns": shown.columns,
            "mapping": shown.mapping,
            "choices": _field_choices(session, entity),
            "rows": rows,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/customers/import/mapping", response_class=HTMLResponse)
def mapping_form(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("customers", "create")],
    upload: str,
    entity: str = "customers",
    mapping_id: int | None = None,
) -> HTMLResponse:
    path, filename = _upload(settings, actor, upload)
    entity = _entity(entity)
    mapping = None
    values: dict[str, Any] = {}
    if mapping_id is not None:
        saved = column_mapping.get_mapping(session=session, mapping_id=mapping_id)
        mapping = {str(k): str(v) for k, v in saved.columns.items()}
        values["mapping_name"] = saved.name
    return _mapping_page(request, session, upload, path, filename, entity, mapping, values)


def _posted_mapping(data: dict[str, Any], columns: list[str]) -> dict[str, str]:
    return {column: str(data.get(f"map.{index}", "")) for index, column in enumerate(columns)}


@router.post("/customers/import/mapping")
def start(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("customers", "create")],
) -> Response:
    """Check the mapping again (``action=preview``) or start the import with it."""
    token = str(data.get("upload", ""))
    path, filename = _upload(settings, actor, token)
    entity = _entity(data.get("entity"))
    columns = importing.read_columns(path, file_formats.format_of(path, filename))
    mapping = _posted_mapping(data, columns)
    if data.get("action") == "preview":
        return _mapping_page(request, session, token, path, filename, entity, mapping, data)
    try:
        with refusals(session):
            run = importing.start_run(
                session=session,
                actor=actor,
                path=path,
                filename=filename,
                entity=entity,
                mapping=mapping,
                dry_run=data.get("dry_run") == "on",
                owner=str(data.get("owner", "")).strip() or None,
                work_dir=importing.imports_dir(settings),
            )
            name = str(data.get("mapping_name", "")).strip()
            if data.get("save_mapping") == "on" and name:
                column_mapping.save_mapping(
                    session=session, actor=actor, name=name, entity=entity, columns=mapping
                )
    except FormInvalid as invalid:
        return _mapping_page(
            request, session, token, path, filename, entity, mapping, data, invalid
        )
    jobs.enqueue_after_commit(session, run_import, run_id=run.id, actor_id=actor.id)
    return redirect(request, f"/customers/import/{run.id}")


# ---------------------------------------------------------------- steps 3 and 4: progress, result


@router.get("/customers/import/{run_id:int}", response_class=HTMLResponse)
def run_page(
    run_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
) -> HTMLResponse:
    run = importing.get_run(session=session, actor=actor, run_id=run_id)
    template, params = importing.failure(run)
    return render(
        request,
        "customers/import_run.html",
        {
            "run": run,
            "done": run.status in (importing.FINISHED, importing.FAILED),
            "failure": i18n.translate_template(template, params) if template else "",
            "status_labels": STATUS_LABELS,
            "entity_label": ENTITY_LABELS.get(run.entity, run.entity),
            "has_report": _has_report(run),
        },
    )


@router.post("/customers/import/{run_id:int}/resume")
def resume(
    run_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "create")],
) -> Response:
    """Carry on with a stopped import from its last committed batch."""
    run = importing.get_run(session=session, actor=actor, run_id=run_id)
    if run.status == importing.FAILED:
        jobs.enqueue_after_commit(session, run_import, run_id=run.id, actor_id=actor.id)
    return redirect(request, f"/customers/import/{run.id}")


def _has_report(run: ImportRun) -> bool:
    return run.status == importing.FINISHED and bool(run.rejected or run.possible_duplicates)


@router.get("/customers/import/{run_id:int}/errors.csv")
def run_errors(
    run_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
) -> Response:
    """The error report in the reader's language."""
    run = importing.get_run(session=session, actor=actor, run_id=run_id)
    if not _has_report(run):
        raise NotFound(N_("This import has no error report."))
    _, locale = activate_for(request)
    catalog = i18n.translations(locale)

    def translate(template: str, params: dict[str, Any]) -> str:
        # bound to the reader's language: the stream is written after the request has ended
        text = str(catalog.gettext(template))
        return text.format(**params) if params else text

    header, rows = import_report.report_rows(run, translate)
    suffix = translate(N_("errors"), {})
    filename = f"{Path(run.filename).stem}-{suffix}.csv"
    return download(file_writers.csv_chunks(header, rows), "csv", filename)


# ---------------------------------------------------------------- export


@router.get("/customers/export", response_class=HTMLResponse)
def export(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "export")],
    format: str = "",
) -> Response:
    """``?format=csv|xlsx|vcf&<the list's filters>`` streams the file; without a format, a page
    to choose one for the same selection."""
    spec = filter_from_query(request.query_params)
    if not format:
        count = customer_service.count_customers(session=session, actor=actor, spec=spec)
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
        links = {
            fmt: "/customers/export?" + urlencode([("format", fmt), *params])
            for fmt in FORMAT_LABELS
        }
        return render(
            request,
            "customers/export.html",
            {"count": count, "formats": FORMAT_LABELS, "links": links},
        )
    shape = exporting.layout(session=session, file_format=format, zone=zone_of(request, actor))
    exporting.record(session=session, actor=actor, spec=spec, file_format=format)
    chunks = exporting.stream(request.app.state.sessions, actor.id, spec, shape)
    return download(chunks, format, shape.filename)
