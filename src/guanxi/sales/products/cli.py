"""``guanxi import products FILE``: the product catalogue from a CSV or XLSX file, with a
progress bar, a summary, the first refusals and a CSV report of every refused row.

Registered in the one ``guanxi import`` group (``customers/transfer/cli.py``). Without ``--as``
the command acts as an administrator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from guanxi.cli_support import CliError, acting_user, console, database, settings, unit_of_work
from guanxi.customers.transfer import column_mapping
from guanxi.customers.transfer.importing import imports_dir
from guanxi.errors import GuanxiError
from guanxi.sales.products import importing

_SHOWN = 10


def _one_line(error: GuanxiError) -> str:
    details = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    return f"{error.detail} ({details})" if details else error.detail


def import_products(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (UTF-8 or GBK) or XLSX file", exists=True, dir_okay=False, readable=True
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count every row, change nothing")
    ] = False,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help='JSON file {"file column": "field"}; default: recognise the usual headers',
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this user (default: an administrator)")
    ] = None,
) -> None:
    """Import products from CSV or XLSX, matched by external id, then SKU (reruns change nothing).

    Good rows are written; refused rows are listed and saved as a CSV report."""
    current = settings()
    db = database(current)
    try:
        with unit_of_work(db) as session:
            actor = acting_user(session, as_user)
            columns = TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
            with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
                task = progress.add_task(f"Importing {file.name}", total=None)
                outcome = importing.import_file(
                    session=session,
                    actor=actor,
                    path=file,
                    filename=file.name,
                    mapping=column_mapping.read_mapping_file(mapping) if mapping else None,
                    dry_run=dry_run,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
    except GuanxiError as error:
        raise CliError(_one_line(error)) from None
    finally:
        db.dispose()
    _summary(outcome, imports_dir(current))


def _summary(outcome: importing.Outcome, reports: Path) -> None:
    table = Table(title=f"Products from {outcome.filename}")
    for heading in ("rows", "new", "updated", "unchanged", "refused"):
        table.add_column(heading, justify="right")
    figures = (outcome.rows, outcome.created, outcome.updated, outcome.unchanged, outcome.refused)
    table.add_row(*(f"{value:,}" for value in figures))
    console.print(table)
    if outcome.dry_run:
        console.print("Dry run: nothing was changed.", markup=False)
    if not outcome.refusals:
        return
    refusals = sorted(outcome.refusals, key=lambda r: r.row)
    for refusal in refusals[:_SHOWN]:
        where = f"row {refusal.row}" + (f", {refusal.column}" if refusal.column else "")
        line = f"{where}: {refusal.english()}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if len(refusals) > _SHOWN:
        console.print("...", markup=False)
    target = reports / f"products-{outcome.run_id}-refused.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        for chunk in importing.report_csv(outcome):
            handle.write(chunk)
    console.print(f"Refused rows: {target}", markup=False, highlight=False, soft_wrap=True)
