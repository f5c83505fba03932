"""Reading the files people move customers in: CSV, XLSX and vCard (writing them:
``file_writers``).

Each turns into a header and a stream of rows (``SourceRow``): CSV in UTF-8 (with or without the
BOM Excel writes) or GBK/GB18030 (what Chinese Excel writes), XLSX through openpyxl in read-only
mode, vCard 3.0 and 4.0 through vobject, one card at a time. Nothing holds a whole file in memory,
so a million-row file costs the same memory as a ten-row one. Cells that an export made inert
against formula injection (``neutralise``) read back as they were.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import openpyxl
import vobject
from openpyxl.utils.exceptions import InvalidFileException

from guanxi.errors import N_, InvalidInput

ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK and GB2312
_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "\t")
# A worksheet part of a million rows is a few hundred MB; a shared-strings part is loaded whole
# into memory by openpyxl, so it gets a tighter limit (zip bombs inflate to many GB).
MAX_XLSX_PART_BYTES = 2 << 30
MAX_SHARED_STRINGS_BYTES = 256 << 20
_PROLOG_BYTES = 64 << 10
_ROOT_ELEMENT = re.compile(r"<[A-Za-z_]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = re.compile(r"'*[=+\-@\t\r]")  # a formula, or one already made inert
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")

# vCard properties become these columns, which the automatic mapping knows
VCARD_COLUMNS = (
    "FN",
    "TEL",
    "EMAIL",
    "ORG",
    "TITLE",
    "ADR",
    "ADR-LOCALITY",
    "ADR-REGION",
    "ADR-POSTAL-CODE",
    "BDAY",
    "GENDER",
    "NOTE",
    "CATEGORIES",
    "UID",
)
_VCARD_BEGIN = "BEGIN:VCARD"
_VCARD_END = "END:VCARD"


@dataclass(frozen=True)
class SourceRow:
    """One row of a file: its number as people see it (the spreadsheet row, or the card number in
    a vCard file), the cell text by column, and why it could not be read, if it could not."""

    number: int
    values: dict[str, str]
    problem: str | None = None


@dataclass
class Table:
    """A readable file: its column names and its rows, read lazily."""

    columns: list[str]
    rows: Iterator[SourceRow] = field(repr=False)


# ---------------------------------------------------------------- reading


def detect_format(filename: str, head: bytes) -> str:
    """The format of a file from its first bytes, else from its name's extension."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text[: len(_VCARD_BEGIN)].upper() == _VCARD_BEGIN.encode():
        return "vcf"
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix in ("vcf", "vcard"):
        return "vcf"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("csv", "txt", "tsv", ""):
        return "csv"
    raise InvalidInput(N_("Files of this kind cannot be imported; use CSV, XLSX or vCard."))


def format_of(path: Path, filename: str | None = None) -> str:
    with path.open("rb") as handle:
        head = handle.read(512)
    return detect_format(filename or path.name, head)


@contextmanager
def open_table(path: Path, file_format: str) -> Iterator[Table]:
    """The file at ``path`` as a table; the file stays open until the block ends."""
    if file_format == "csv":
        with _csv_table(path) as table:
            yield table
    elif file_format == "xlsx":
        with _xlsx_table(path) as table:
            yield table
    elif file_format == "vcf":
        with _vcard_table(path) as table:
            yield table
    else:
        raise InvalidInput(N_("Files of this kind cannot be imported; use CSV, XLSX or vCard."))


def count_rows(path: Path, file_format: str) -> int | None:
    """How many data rows a file has, for progress; None when only reading it would tell."""
    if file_format == "vcf":
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip().upper() == _VCARD_BEGIN.encode())
    if file_format == "csv":
        # only the csv module's C reader: turning every row into values (as the import does)
        # would cost a tenth of the import again; rows of spaces only count here, not there,
        # and the finished run records the exact count
        try:
            with path.open(encoding=detect_encoding(path), newline="") as handle:
                reader = csv.reader(handle, delimiter=_delimiter(handle.readline()))
                return sum(1 for cells in reader if any(cells))
        except csv.Error:
            return None  # the import itself names the row it cannot read
    return None  # XLSX: counting means parsing the whole sheet; openpyxl's dimension may lie


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as UTF-8, else GB18030 (GBK)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise InvalidInput(N_("The file is neither UTF-8 nor GBK text; save it as CSV UTF-8."))


def unique_columns(header: Sequence[str]) -> list[str]:
    """Header cells as column names: blanks named by position, repeats numbered."""
    columns: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(header, start=1):
        name = cell.strip().lstrip("\ufeff") or f"column {index}"
        candidate, copy = name, 2
        while candidate in seen:
            candidate, copy = f"{name} ({copy})", copy + 1
        seen.add(candidate)
        columns.append(candidate)
    return columns


def _delimiter(first_line: str) -> str:
    return max(_DELIMITERS, key=first_line.count)


@contextmanager
def _csv_table(path: Path) -> Iterator[Table]:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        first_line = handle.readline()
        handle.seek(0)
        reader = csv.reader(handle, delimiter=_delimiter(first_line))
        try:
            header = next(reader, [])
        except csv.Error as exc:
            raise InvalidInput(
                N_("The CSV file cannot be read: {reason}"), reason=str(exc)
            ) from exc
        if not any(cell.strip() for cell in header):
            raise InvalidInput(N_("The file has no header row."))
        columns = unique_columns(header)
        yield Table(columns, _csv_rows(reader, columns))


def _csv_rows(reader: Any, columns: list[str]) -> Iterator[SourceRow]:
    number = 1  # the header is row 1, as a spreadsheet shows it
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InvalidInput(
                N_("The CSV file cannot be read after row {row}: {reason}"),
                row=number,
                reason=str(exc),
            ) from exc
        number += 1
        if any(cell.strip() for cell in cells):
            values = {c: restore(v.strip()) for c, v in zip(columns, cells, strict=False)}
            yield SourceRow(number, values)


def check_xlsx_safe(path: Path) -> None:
    """Refuse workbooks that could exhaust memory or reach outside: XML parts that declare a
    DTD (entity expansion, "billion laughs", external entities) and parts that inflate to
    gigabytes. Excel never writes a DTD, so a workbook with one was crafted."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(N_("The file is not a readable XLSX workbook.")) from exc
    with archive:
        for info in archive.infolist():
            limit = (
                MAX_SHARED_STRINGS_BYTES
                if info.filename.lower().endswith("sharedstrings.xml")
                else MAX_XLSX_PART_BYTES
            )
            if info.file_size > limit:
                raise InvalidInput(N_("The workbook is too large to import."))
            if info.filename.lower().endswith((".xml", ".rels")):
                with archive.open(info) as part:
                    _check_prolog(part.read(_PROLOG_BYTES))


def _check_prolog(head: bytes) -> None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore")
    root = _ROOT_ELEMENT.search(text)
    prolog = text[: root.start()] if root else text
    if "<!DOCTYPE" in prolog.upper() or "<!ENTITY" in prolog.upper() or root is None:
        raise InvalidInput(
            N_("The workbook contains XML entity declarations, which are refused for safety.")
        )


@contextmanager
def _xlsx_table(path: Path) -> Iterator[Table]:
    check_xlsx_safe(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(N_("The file is not a readable XLSX workbook.")) from exc
    try:
        sheet = workbook.active or workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or not any(cell_text(c) for c in header):
            raise InvalidInput(N_("The file has no header row."))
        columns = unique_columns([cell_text(c) for c in header])
        yield Table(columns, _xlsx_rows(rows, columns))
    finally:
        workbook.close()


def _xlsx_rows(rows: Iterator[tuple[Any, ...]], columns: list[str]) -> Iterator[SourceRow]:
    # read-only sheets yield every row from the first, empty ones included, so counting gives
    # the row numbers Excel shows
    for number, cells in enumerate(rows, start=2):
        values = {c: restore(cell_text(v)) for c, v in zip(columns, cells, strict=False)}
        if any(values.values()):
            yield SourceRow(number, values)


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text someone typed: numbers without a trailing ``.0`` (phone
    numbers are often stored as numbers), dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


@contextmanager
def _vcard_table(path: Path) -> Iterator[Table]:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        yield Table(list(VCARD_COLUMNS), _vcard_rows(handle))


def _card_texts(handle: IO[str]) -> Iterator[str]:
    """Each BEGIN:VCARD ... END:VCARD block as text, so one broken card is one rejected row."""
    lines: list[str] = []
    inside = False
    for line in handle:
        marker = line.strip().upper()
        if marker == _VCARD_BEGIN:
            inside, lines = True, []
        if inside:
            lines.append(line.rstrip("\r\n"))
        if inside and marker == _VCARD_END:
            inside = False
            yield "\r\n".join(lines) + "\r\n"


def _vcard_rows(handle: IO[str]) -> Iterator[SourceRow]:
    for number, text in enumerate(_card_texts(handle), start=1):
        try:
            card = vobject.readOne(text, allowQP=True)
            values = vcard_values(card)
        except Exception:  # vobject raises many kinds of error; one broken card is one row
            yield SourceRow(number, {}, N_("This card could not be read."))
            continue
        yield SourceRow(number, values)


def _split_escaped(text: str, separator: str) -> list[str]:
    parts = re.split(rf"(?<!\\){re.escape(separator)}", text)
    return [p.replace("\\" + separator, separator).replace("\\,", ",") for p in parts]


def _name_parts(value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        parts = [*_split_escaped(value, ";"), "", ""]
        return parts[0].strip(), parts[1].strip()
    family, given = getattr(value, "family", ""), getattr(value, "given", "")
    return " ".join(_as_list(family)).strip(), " ".join(_as_list(given)).strip()


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v).strip()]
    return [str(value)] if str(value).strip() else []


def _address(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        parts = [*_split_escaped(value, ";"), "", "", "", "", "", "", ""]
        box, extended, street, city, region, code = (p.strip() for p in parts[:6])
    else:
        box, extended = " ".join(_as_list(value.box)), " ".join(_as_list(value.extended))
        street, city = " ".join(_as_list(value.street)), " ".join(_as_list(value.city))
        region, code = " ".join(_as_list(value.region)), " ".join(_as_list(value.code))
    return {
        "ADR": " ".join(p for p in (street, extended, box) if p),
        "ADR-LOCALITY": city,
        "ADR-REGION": region,
        "ADR-POSTAL-CODE": code,
    }


def _display_name(family: str, given: str) -> str:
    # Chinese names read family name first with no space; Western names given name first
    if re.search(r"[\u3400-\u9fff]", family + given):
        return family + given
    return f"{given} {family}".strip()


def vcard_values(card: Any) -> dict[str, str]:
    """The properties of one vCard (3.0 or 4.0) as the columns in ``VCARD_COLUMNS``."""
    values = dict.fromkeys(VCARD_COLUMNS, "")
    contents: dict[str, list[Any]] = card.contents
    fn = contents.get("fn", [])
    values["FN"] = str(fn[0].value).strip() if fn else ""
    if not values["FN"] and contents.get("n"):
        values["FN"] = _display_name(*_name_parts(contents["n"][0].value))
    phones = [str(p.value).strip() for p in contents.get("tel", [])]
    # vCard 4.0 writes numbers as URIs: tel:+86-138-0013-8000
    values["TEL"] = "; ".join(p[4:] if p.lower().startswith("tel:") else p for p in phones if p)
    values["EMAIL"] = "; ".join(str(e.value).strip() for e in contents.get("email", []))
    if contents.get("org"):
        values["ORG"] = (_as_list(contents["org"][0].value) or [""])[0].strip()
    for name in ("title", "bday", "note", "uid", "gender"):
        if contents.get(name):
            values[name.upper()] = str(contents[name][0].value).strip()
    if contents.get("adr"):
        values.update(_address(contents["adr"][0].value))
    categories = [c for prop in contents.get("categories", []) for c in _as_list(prop.value)]
    values["CATEGORIES"] = ", ".join(c.strip() for c in categories)
    values["GENDER"] = values["GENDER"].split(";")[0].strip()
    return values


# ---------------------------------------------------------------- formulas


def neutralise(text: str) -> str:
    """Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first), made inert
    with a leading apostrophe (and text that already looks made inert gets one more, so that
    ``restore`` gives back exactly what was written)."""
    return "'" + text if _FORMULA.match(text) else text


def restore(text: str) -> str:
    """Undo ``neutralise`` on a cell read back, so an exported file imports as it was."""
    return text[1:] if text[:1] == "'" and _NEUTRALISED.match(text) else text
