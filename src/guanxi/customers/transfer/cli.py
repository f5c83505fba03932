"""``guanxi import ...`` and ``guanxi export ...``: customers and contacts from and to files.

Without ``--as`` a command acts as an administrator; with it, it sees and changes only what that
user may (``cli_support.acting_user``), in imports' matching as in exports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from guanxi.audit import tracking
from guanxi.cli_support import CliError, acting_user, console, database, settings, unit_of_work
from guanxi.customers.models import ImportRun
from guanxi.customers.search import CustomerFilter
from guanxi.customers.transfer import (
    column_mapping,
    exporting,
    file_writers,
    import_report,
    importing,
)
from guanxi.errors import GuanxiError
from guanxi.sales.products import cli as products_cli
from guanxi.web import i18n

import_app = typer.Typer(
    help="Import customers or contacts (CSV, XLSX, vCard) or products (CSV, XLSX)",
    no_args_is_help=True,
)
export_app = typer.Typer(help="Export customers to CSV, XLSX or vCard", no_args_is_help=True)

FileArgument = Annotated[
    Path,
    typer.Argument(
        help="CSV (UTF-8 or GBK), XLSX or vCard file", exists=True, dir_okay=False, readable=True
    ),
]
MappingOption = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help='JSON file {"file column": "field"}; default: recognise the usual headers',
        exists=True,
        dir_okay=False,
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Check and count every row, change nothing")
]
AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this user (default: an administrator)")
]
OwnerOption = Annotated[
    str | None, typer.Option("--owner", help="Username owning new records without an owner column")
]
_SHOWN_PROBLEMS = 10


def one_line(error: GuanxiError) -> str:
    """A domain error as one line that names the fields at fault."""
    details = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    return f"{error.detail} ({details})" if details else error.detail


def _english(template: str, params: dict[str, Any]) -> str:
    return template.format(**params) if params else template


def _import(
    entity: str,
    file: Path,
    mapping: Path | None,
    dry_run: bool,
    as_user: str | None,
    owner: str | None,
) -> None:
    current = settings()
    db = database(current)
    try:
        with unit_of_work(db) as session:
            actor = acting_user(session, as_user)
            audit_actor = tracking.actor_of(session)
            run = importing.start_run(
                session=session,
                actor=actor,
                path=file,
                filename=file.name,
                entity=entity,
                mapping=column_mapping.read_mapping_file(mapping) if mapping else None,
                dry_run=dry_run,
                owner=owner,
                work_dir=importing.imports_dir(current),
            )
            run_id, actor_id = run.id, actor.id
        columns = TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
        with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(f"Importing {file.name}", total=None)

            def advance(state: ImportRun) -> None:
                progress.update(
                    task, completed=state.processed_rows, total=state.total_rows or None
                )

            result = importing.execute_run(
                db=db, run_id=run_id, actor_id=actor_id, audit_actor=audit_actor, progress=advance
            )
    except GuanxiError as error:
        raise CliError(one_line(error)) from None
    finally:
        db.dispose()
    _summary(result, importing.imports_dir(current))


def _summary(run: ImportRun, reports: Path) -> None:
    title = f"Import {run.id}" + (" (dry run: nothing was changed)" if run.dry_run else "")
    table = Table(title=title)
    for heading in ("rows", "new", "updated", "unchanged", "rejected", "possible duplicates"):
        table.add_column(heading, justify="right")
    table.add_row(
        *(
            f"{value:,}"
            for value in (
                run.processed_rows,
                run.inserted,
                run.updated,
                run.unchanged,
                run.rejected,
                run.possible_duplicates,
            )
        )
    )
    console.print(table)
    if run.status == importing.FAILED:
        template, params = importing.failure(run)
        raise CliError(f"import {run.id} stopped: {_english(template, params)}")
    if run.rejected or run.possible_duplicates:
        for line in _first_problems(run):
            console.print(line, markup=False, highlight=False)
        report = _write_report(run, reports)
        console.print(f"Error report: {report}", markup=False, highlight=False)


def _first_problems(run: ImportRun) -> list[str]:
    lines = []
    for number, line in enumerate(import_report.report_lines(run)):
        if number == _SHOWN_PROBLEMS:
            lines.append("...")
            break
        where = f"row {line['row']}" + (f", {line['field']}" if line["field"] else "")
        lines.append(f"{where}: {_english(line['message'], line['params'])}")
    return lines


def _write_report(run: ImportRun, directory: Path) -> Path:
    header, rows = import_report.report_rows(run, _english)
    target = directory / f"import-{run.id}-errors.csv"
    write_whole(target, file_writers.csv_chunks(header, rows))
    return target


def write_whole(target: Path, chunks: Any) -> None:
    """Write a file whole or not at all (a half-written export is worse than none)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial")
    with temporary.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    os.replace(temporary, target)


@import_app.command("customers")
def import_customers(
    file: FileArgument,
    mapping: MappingOption = None,
    dry_run: DryRunOption = False,
    as_user: AsOption = None,
    owner: OwnerOption = None,
) -> None:
    """Import customers; rows are matched by external id, e-mail or phone, so running the same
    file twice changes nothing."""
    _import("customers", file, mapping, dry_run, as_user, owner)


@import_app.command("contacts")
def import_contacts(
    file: FileArgument,
    mapping: MappingOption = None,
    dry_run: DryRunOption = False,
    as_user: AsOption = None,
    owner: OwnerOption = None,
) -> None:
    """Import contacts of organisations (named by their external id or exact name)."""
    _import("contacts", file, mapping, dry_run, as_user, owner)


# products live in the sales domain; one `guanxi import` group holds every import
import_app.command("products")(products_cli.import_products)


@export_app.command("customers")
def export_customers(
    file_format: Annotated[
        str, typer.Option("--format", help="csv, xlsx or vcf (vCard 3.0)", case_sensitive=False)
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write", dir_okay=False)],
    as_user: AsOption = None,
    q: Annotated[str, typer.Option("--q", help="Fragment of a name, phone or e-mail")] = "",
    city: Annotated[str, typer.Option("--city", help="Only this city")] = "",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only customers with this tag (repeatable)")
    ] = None,
) -> None:
    """Export the customers you may see (all, or a filtered list); the export is audited."""
    current = settings()
    db = database(current)
    spec = CustomerFilter(q=q, equals={"city": city} if city else {}, tags=tag or [])
    # headers and choice values in the installation's language, which imports read back
    i18n.activate(current.default_locale, current.zone)
    try:
        with unit_of_work(db) as session:
            actor = acting_user(session, as_user)
            shape = exporting.layout(
                session=session, file_format=file_format.lower(), zone=current.zone
            )
            count = exporting.record(
                session=session, actor=actor, spec=spec, file_format=shape.file_format
            )
            write_whole(
                output, exporting.chunks(session=session, actor=actor, spec=spec, shape=shape)
            )
    except GuanxiError as error:
        raise CliError(one_line(error)) from None
    finally:
        db.dispose()
    console.print(f"Exported {count:,} customers to {output}", markup=False, highlight=False)
