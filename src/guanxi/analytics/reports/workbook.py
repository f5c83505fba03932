"""The report as an XLSX workbook: one sheet per section, headers in the reader's language,
numbers kept as numbers (money with two decimals, shares as percentages) so they can be summed
and charted, the first header row frozen, and columns wide enough to read.

Names typed by people (customers) are always text, never formulas (OWASP "CSV injection"), as in
the customer export.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from guanxi.analytics.reports.content import Report
from guanxi.analytics.reports.tables import TITLE, Cell, Column, Kind, Table, sections
from guanxi.analytics.reports.words import Words
from guanxi.customers.transfer.file_formats import FORMULA_STARTS

FORMATS: dict[str, str] = {
    "int": "#,##0",
    "money": "#,##0.00",
    "share": "0.0%",
    "number": "0.000",
}
BOLD = Font(bold=True)
MIN_WIDTH, MAX_WIDTH = 8, 60
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def workbook_bytes(report: Report, words: Words) -> bytes:
    """The whole report as an XLSX file."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    book.properties.title = words._(TITLE)
    book.properties.creator = "Guanxi"
    for section in sections(report):
        sheet = book.create_sheet(_sheet_name(words._(section.title)))
        prose: set[int] = set()  # rows of titles and notes, left out of the column widths
        for index, table in enumerate(section.tables):
            header_row = _write_table(sheet, table, words, prose, first=index == 0)
            if index == 0:
                sheet.freeze_panes = f"A{header_row + 1}"
        _fit_columns(sheet, prose)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(title: str) -> str:
    return _SHEET_NAME_FORBIDDEN.sub(" ", title).strip()[:31] or "Sheet"


def _write_table(
    sheet: Worksheet, table: Table, words: Words, prose: set[int], *, first: bool
) -> int:
    """Write ``table`` below what the sheet holds; returns the row of its header."""
    if not first:
        sheet.append([])
        prose.add(sheet.max_row)
    if table.title:
        sheet.append([words._(table.title)])
        sheet.cell(sheet.max_row, 1).font = BOLD
        prose.add(sheet.max_row)
    sheet.append([words.header(column) for column in table.columns])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = BOLD
    for values in table.rows:
        row = sheet.max_row + 1
        for position, (value, column) in enumerate(zip(values, table.columns, strict=True), 1):
            _put(sheet.cell(row, position), value, column, words)
    if not table.rows and table.note:
        sheet.append([words._(table.note, **table.note_values)])
        prose.add(sheet.max_row)
    return header_row


def _put(cell: Any, value: Any, column: Column, words: Words) -> None:
    kind: Kind = column.kind
    if isinstance(value, Cell):
        if value.kind == "label":
            value, kind = words._(value.value, **value.values), "text"
        else:
            value, kind = value.value, value.kind
    if value is None or value == "":
        return
    if kind == "label":
        value, kind = words._(str(value)), "text"
    if kind == "text" or not isinstance(value, int | float):
        text = str(value)
        cell.value = text
        cell.data_type = "s"
        if text.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
        return
    cell.value = value
    cell.number_format = FORMATS[kind]


def _width(value: Any) -> int:
    text = value if isinstance(value, str) else f"{value:,.2f}" if value is not None else ""
    # CJK characters take about two columns
    return sum(2 if ord(char) > 0x2E80 else 1 for char in str(text))


def _fit_columns(sheet: Worksheet, prose: set[int]) -> None:
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        if row[0].row in prose:
            continue
        for cell in row:
            if cell.value is None:
                continue
            widths[cell.column] = max(widths.get(cell.column, 0), _width(cell.value))
    for column, width in widths.items():
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
