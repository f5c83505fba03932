"""Pages for importing products: upload a CSV or XLSX file; check the column mapping against a
preview of the first rows; confirm (or try a dry run first); read the result, with the refused
rows downloadable as CSV. The import runs within the request, which suits catalogues of up to
``importing.MAX_ROWS`` rows; the page says so and a larger file is refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from guanxi.auth.models import User
from guanxi.config import Settings
from guanxi.customers.transfer.import_api import download
from guanxi.customers.transfer.importing import imports_dir
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, GuanxiError, NotFound
from guanxi.sales.products import importing
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, service_error
from guanxi.web.templating import render

router = APIRouter(include_in_schema=False)

_UPLOAD_NAME = re.compile(r"^products-[0-9a-f]{24}(\.[a-z]+)?$")
_RUN_ID = re.compile(r"^[0-9a-f]{16}$")
Importer = Annotated[User, require("products", "create")]


def _signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt="guanxi.product-import")


def _upload_token(settings: Settings, user: User, stored: Path, filename: str) -> str:
    """Names an uploaded file for the next step, signed and bound to its uploader."""
    return _signer(settings).dumps({"f": stored.name, "n": filename, "u": user.id})


def _upload(settings: Settings, user: User, token: str) -> tuple[Path, str]:
    try:
        data = _signer(settings).loads(token)
    except BadSignature:
        data = {}
    stored = imports_dir(settings) / str(data.get("f", ""))
    if not (_UPLOAD_NAME.match(stored.name) and data.get("u") == user.id and stored.is_file()):
        raise NotFound(N_("The uploaded file is gone; upload it again."))
    return stored, str(data.get("n") or stored.name)


def _report_path(settings: Settings, run_id: str) -> Path:
    return imports_dir(settings) / f"products-report-{run_id}.csv"


def _field_choices() -> list[tuple[str, str]]:
    return [(f.key, i18n.gettext(f.label)) for f in importing.FIELDS]


# ---------------------------------------------------------------- step 1: upload


def _upload_page(request: Request, message: str | None = None, status: int = 200) -> HTMLResponse:
    return render(
        request,
        "sales/product_import.html",
        {"message": message, "max_rows": importing.MAX_ROWS, "fields": _field_choices()},
        status_code=status,
    )


@router.get("/sales/products/import", response_class=HTMLResponse)
def upload_form(request: Request, actor: Importer) -> HTMLResponse:
    return _upload_page(request)


@router.post("/sales/products/import", response_class=HTMLResponse)
def upload(
    request: Request,
    settings: SettingsDep,
    actor: Importer,
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    if file is None or not file.filename:
        return _upload_page(request, i18n.gettext(N_("Choose a CSV or XLSX file.")), 422)
    try:
        stored = importing.store_upload(file.file, file.filename, imports_dir(settings))
    except GuanxiError as refused:
        return _upload_page(request, service_error(refused).message, refused.status)
    try:
        # the whole file is read once here, so that one too large is refused before the preview
        importing.read_rows(stored, importing.file_format(stored, file.filename))
        preview = importing.preview(stored, file.filename)
    except GuanxiError as refused:
        stored.unlink(missing_ok=True)
        return _upload_page(request, service_error(refused).message, refused.status)
    token = _upload_token(settings, actor, stored, file.filename)
    return _preview_page(request, token, file.filename, preview)


# ---------------------------------------------------------------- step 2: preview and confirm


def _preview_page(
    request: Request,
    token: str,
    filename: str,
    preview: importing.Preview,
    invalid: FormInvalid | None = None,
    dry_run: bool = False,
) -> HTMLResponse:
    rows = []
    for row, problems in preview.rows:
        by_column: dict[str, list[str]] = {}
        for problem in problems:
            by_column.setdefault(problem.column, []).append(problem.reason())
        rows.append(
            {
                "number": row.number,
                "cells": [(row.values.get(c, ""), by_column.get(c, [])) for c in preview.columns],
                "refused": bool(problems),
            }
        )
    return render(
        request,
        "sales/product_import_preview.html",
        {
            "token": token,
            "filename": filename,
            "columns": preview.columns,
            "mapping": preview.mapping,
            "rows": rows,
            "choices": _field_choices(),
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "dry_run": dry_run,
            "max_rows": importing.MAX_ROWS,
        },
        status_code=422 if invalid else 200,
    )


def _posted_mapping(data: dict[str, Any], columns: list[str]) -> dict[str, str]:
    return {column: str(data.get(f"map.{i}", "")) for i, column in enumerate(columns)}


@router.post("/sales/products/import/confirm", response_class=HTMLResponse)
def confirm(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Importer,
) -> HTMLResponse:
    token = str(data.get("upload", ""))
    stored, filename = _upload(settings, actor, token)
    dry_run = bool(data.get("dry_run"))
    columns, _rows = importing.read_rows(stored, importing.file_format(stored, filename))
    mapping = _posted_mapping(data, columns)
    try:
        outcome = importing.import_file(
            session=session,
            actor=actor,
            path=stored,
            filename=filename,
            mapping=mapping,
            dry_run=dry_run,
        )
    except GuanxiError as refused:
        session.rollback()
        if refused.status == 422:
            preview = importing.preview(stored, filename, mapping=mapping)
            invalid = service_error(refused)
            return _preview_page(request, token, filename, preview, invalid, dry_run)
        raise
    report_token = None
    if outcome.refusals:
        target = _report_path(settings, outcome.run_id)
        with target.open("wb") as handle:
            for chunk in importing.report_csv(outcome):
                handle.write(chunk)
        report_token = _signer(settings).dumps({"r": outcome.run_id, "u": actor.id})
    if not dry_run:
        stored.unlink(missing_ok=True)
    return render(
        request,
        "sales/product_import_result.html",
        {
            "outcome": outcome,
            "refusals": sorted(outcome.refusals, key=lambda r: r.row)[:200],
            "report_token": report_token,
            "token": token if dry_run else None,
            "mapping": mapping,
            "columns": columns,
        },
    )


@router.get("/sales/products/import/report/{token}")
def refused_rows(token: str, settings: SettingsDep, actor: Importer) -> Response:
    """The refused rows of an import as CSV (row, column, reason, then the row as it was)."""
    try:
        data = _signer(settings).loads(token)
    except BadSignature:
        data = {}
    run_id = str(data.get("r", ""))
    path = _report_path(settings, run_id) if _RUN_ID.match(run_id) else None
    if path is None or data.get("u") != actor.id or not path.is_file():
        raise NotFound(N_("The report is gone; import the file again to see it."))
    return download(iter([path.read_bytes()]), "csv", f"products-refused-{run_id}.csv")
