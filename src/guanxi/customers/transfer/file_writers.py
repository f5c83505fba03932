"""Writing customer files: CSV with a BOM (so Excel opens Chinese text correctly), XLSX through
openpyxl's write-only mode, and vCard 3.0 (the version phones and mail clients read most widely),
each as a stream of chunks. Text that a spreadsheet would run as a formula is made inert (OWASP
"CSV injection")."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

import openpyxl
import vobject
from openpyxl.cell import WriteOnlyCell

from guanxi.customers.transfer.file_formats import FORMULA_STARTS, neutralise

FORMATS = ("csv", "xlsx", "vcf")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "vcf": "text/vcard; charset=utf-8",
}
_CHUNK = 1 << 20


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    """A CSV file as UTF-8 with a BOM (Excel's cue for UTF-8), in chunks of about 64 KB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
        if buffer.tell() > 65536:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_cell(sheet: Any, value: str) -> Any:
    # Cells are always text, never formulas: openpyxl would store "=..." as a formula. Text
    # that looks like one is also marked with Excel's own quote prefix (the apostrophe Excel
    # shows in the formula bar), so editing the cell later does not turn it into one either.
    cell = WriteOnlyCell(sheet, value=None)
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def write_xlsx(
    columns: Sequence[str], rows: Iterable[Sequence[str]], target: IO[bytes], title: str
) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append([_xlsx_cell(sheet, c) for c in columns])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    workbook.save(target)


def xlsx_chunks(
    columns: Sequence[str], rows: Iterable[Sequence[str]], title: str
) -> Iterator[bytes]:
    """An XLSX file in chunks. A workbook is a zip whose directory is written last, so it is
    built in a temporary file (on disk past a few MB) and then streamed."""
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        write_xlsx(columns, rows, spool, title)
        spool.seek(0)
        while chunk := spool.read(_CHUNK):
            yield chunk


@dataclass(frozen=True)
class Card:
    """What a vCard says about one customer."""

    name: str
    is_organisation: bool = False
    phones: Sequence[tuple[str, str]] = ()  # (number, label)
    emails: Sequence[str] = ()
    company: str = ""
    title: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    birthday: date | None = None
    note: str = ""
    categories: Sequence[str] = ()
    uid: str = ""


_PHONE_TYPES = {"mobile": "CELL", "work": "WORK", "home": "HOME", "fax": "FAX"}


def _split_name(name: str) -> tuple[str, str]:
    """(family, given) for the N property: a Chinese name's first character is the family name
    (compound family names are rare enough to accept the miss); a Western name's last word."""
    name = name.strip()
    if re.fullmatch(r"[\u3400-\u9fff]{2,4}", name):
        return name[0], name[1:]
    given, _, family = name.rpartition(" ")
    return (family, given) if given else (name, "")


def vcard_text(card: Card) -> str:
    """One vCard 3.0 as text (CRLF line ends, long lines folded)."""
    item = vobject.vCard()
    item.add("version").value = "3.0"
    item.add("fn").value = card.name
    family, given = ("", "") if card.is_organisation else _split_name(card.name)
    item.add("n").value = vobject.vcard.Name(family=family, given=given)
    if card.company or card.is_organisation:
        item.add("org").value = [card.company or card.name]
    for number, label in card.phones:
        tel = item.add("tel")
        tel.value = number
        tel.type_param = _PHONE_TYPES.get(label, "VOICE")
    for address in card.emails:
        email = item.add("email")
        email.value = address
        email.type_param = "INTERNET"
    if card.title:
        item.add("title").value = card.title
    if any((card.street, card.city, card.region, card.postal_code)):
        item.add("adr").value = vobject.vcard.Address(
            street=card.street, city=card.city, region=card.region, code=card.postal_code
        )
    if card.birthday:
        item.add("bday").value = card.birthday.isoformat()
    if card.note:
        item.add("note").value = card.note
    if card.categories:
        item.add("categories").value = list(card.categories)
    if card.uid:
        item.add("uid").value = card.uid
    text: str = item.serialize()
    return text


def vcard_chunks(cards: Iterable[Card]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for card in cards:
        text = vcard_text(card)
        buffer.append(text)
        size += len(text)
        if size > 65536:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    yield "".join(buffer).encode("utf-8")
