"""``guanxi import ...`` and ``guanxi export ...``: customers and contacts from and to files."""

from __future__ import annotations

import typer

import_app = typer.Typer(
    help="Import customers or contacts from CSV, XLSX or vCard", no_args_is_help=True
)
export_app = typer.Typer(
    help="Export customers or contacts to CSV, XLSX or vCard", no_args_is_help=True
)
