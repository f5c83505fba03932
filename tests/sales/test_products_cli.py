"""``guanxi import products FILE [--dry-run]`` against a real, committed database: the summary,
the refused rows with their reasons and report file, and a rerun that changes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from guanxi.cli import app
from guanxi.cli_support import CliError
from guanxi.db import Database
from guanxi.sales.models import Product

ROWS = [
    ["货号", "名称", "类别", "售价", "成本"],
    ["C-1", "茶盘", "茶具", "99.00", "40"],
    ["C-2", "茶杯", "茶具", "-3", "1"],
    ["C-3", "茶壶", "茶具", "199.5", "80"],
]


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    values = {
        "GUANXI_DATABASE_URL": fresh_database_url,
        "GUANXI_DATA_DIR": str(tmp_path),
        "GUANXI_DEFAULT_LOCALE": "en",
        "COLUMNS": "200",
    }
    upgraded = CliRunner().invoke(app, ["db", "upgrade"], env=values)
    assert upgraded.exit_code == 0, upgraded.output
    return values


def _products(url: str) -> list[tuple[str, int]]:
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            return list(session.execute(select(Product.sku, Product.version).order_by(Product.sku)))
    finally:
        db.dispose()


def test_import_products_from_the_command_line(env: dict[str, str], tmp_path: Path):
    source = tmp_path / "产品.csv"
    source.write_bytes(_csv(ROWS).encode("gbk"))
    runner = CliRunner()
    dry = runner.invoke(app, ["import", "products", str(source), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing was changed." in dry.output
    assert _products(env["GUANXI_DATABASE_URL"]) == []

    real = runner.invoke(app, ["import", "products", str(source)], env=env)
    assert real.exit_code == 0, real.output
    assert "row 3, 售价: Must not be negative." in real.output
    counts = [line for line in real.output.splitlines() if "│" in line and "3" in line][-1]
    assert [c.strip() for c in counts.strip("│ ").split("│")] == ["3", "2", "0", "0", "1"]
    report = Path(real.output.split("Refused rows: ")[1].split()[0])
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Row,Column,Reason,货号,名称,类别,售价,成本"
    assert lines[1].startswith("3,售价,Must not be negative.,C-2,茶杯")
    assert _products(env["GUANXI_DATABASE_URL"]) == [("C-1", 1), ("C-3", 1)]

    again = runner.invoke(app, ["import", "products", str(source)], env=env)
    assert again.exit_code == 0
    assert _products(env["GUANXI_DATABASE_URL"]) == [("C-1", 1), ("C-3", 1)]


def test_an_unreadable_file_is_one_line_on_stderr(env: dict[str, str], tmp_path: Path):
    source = tmp_path / "cards.vcf"
    source.write_text("BEGIN:VCARD\nFN:x\nEND:VCARD\n", encoding="utf-8")
    failed = CliRunner().invoke(app, ["import", "products", str(source)], env=env)
    # `guanxi` (cli.main) prints a CliError as one line on stderr and exits with 1
    assert isinstance(failed.exception, CliError)
    assert str(failed.exception).startswith("Products are imported from CSV or XLSX files.")
    db = Database(env["GUANXI_DATABASE_URL"])
    try:
        with db.unit_of_work() as session:
            assert session.scalar(select(func.count()).select_from(Product)) == 0
    finally:
        db.dispose()


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
