"""Importing the product catalogue from CSV (UTF-8 or GBK) and XLSX files.

The file is read by the customer import's readers (``file_formats``: encoding detection,
safe XLSX) and its headers are recognised in English and Chinese (SKU, 编码, 货号, 名称, 价格,
成本...). Every row is checked on its own; a refused row is reported with its row number, the
column at fault and the reason, and the good rows are written. Rows are matched by external id,
then by SKU, so importing the same file again changes nothing.

The import runs in the caller's unit of work, inside a savepoint: either every good row of the
file is written or, if anything unexpected stops it, none is; a dry run rolls the savepoint
back. It runs synchronously, which suits catalogues of up to ``MAX_ROWS`` rows; a larger file
is refused with HTTP 413.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.customers.transfer import file_formats, file_writers
from guanxi.customers.transfer.column_mapping import ImportField, header_key
from guanxi.customers.transfer.file_formats import SourceRow
from guanxi.errors import N_, FieldError, GuanxiError, InvalidInput, PermissionDenied
from guanxi.sales.models import Product
from guanxi.sales.products import service
from guanxi.sales.products.schemas import parse_money
from guanxi.web import i18n

MAX_ROWS = 10_000
MAX_BYTES = 20 << 20
PREVIEW_ROWS = 10
_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")

FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "sku",
        N_("SKU"),
        "sku|item code|product code|code|article number|编码|货号|产品编码|商品编码|物料编码|"
        "商品编号|产品编号|款号",
    ),
    ImportField("name", N_("Name"), "name|product|product name|名称|产品名称|商品名称|品名"),
    ImportField("category", N_("Category"), "category|group|类别|分类|产品类别|商品分类|品类"),
    ImportField(
        "list_price",
        N_("List price"),
        "list price|price|sales price|selling price|价格|标价|售价|单价|销售价|零售价|定价",
    ),
    ImportField(
        "unit_cost", N_("Unit cost"), "unit cost|cost|cost price|成本|单位成本|成本价|进价"
    ),
    ImportField("unit", N_("Unit"), "unit|uom|unit of measure|单位|计量单位"),
    ImportField(
        "is_active", N_("Active"), "active|is active|enabled|status|是否启用|启用|状态|在售"
    ),
    ImportField(
        "external_id",
        N_("External id"),
        "external id|erp id|external code|外部编号|外部编码|ERP编号",
    ),
    ImportField("description", N_("Description"), "description|notes|描述|说明|备注|产品描述"),
)
FIELD_LABELS = {f.key: f.label for f in FIELDS}
_TEXT_LIMITS = {
    "sku": 64,
    "name": 200,
    "category": 120,
    "unit": 20,
    "description": 4000,
    "external_id": 100,
}
_TRUE = {"1", "y", "yes", "true", "active", "on", "是", "启用", "在售", "有效", "正常"}
_FALSE = {"0", "n", "no", "false", "inactive", "off", "否", "停用", "禁用", "停售", "无效", "下架"}

Progress = Callable[[int, int], None]


class TooLarge(GuanxiError):
    status = 413
    slug = "too-large"
    title = N_("Too large")


@dataclass(frozen=True)
class Refusal:
    """A refused row: the row number the spreadsheet shows, the file's column at fault (empty
    for the row as a whole), and why, as a message template with its values."""

    row: int
    column: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def reason(self) -> str:
        """The reason in the current language."""
        return i18n.translate_template(self.message, self.params)

    def english(self) -> str:
        """The reason as the API and the command line give it."""
        return self.message.format(**self.params) if self.params else self.message


@dataclass
class Outcome:
    """What an import did, or as a dry run would have done."""

    run_id: str
    filename: str
    dry_run: bool
    columns: list[str]
    mapping: dict[str, str]
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    # the refused rows' cells as the file had them, for the downloadable report
    refused_values: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def refused(self) -> int:
        return len({r.row for r in self.refusals})


@dataclass(frozen=True)
class Preview:
    """The first rows of a file as the mapping reads them, each with its problems."""

    columns: list[str]
    mapping: dict[str, str]
    rows: list[tuple[SourceRow, list[Refusal]]]


# ---------------------------------------------------------------- files and mapping


def store_upload(source: BinaryIO, filename: str, directory: Path) -> Path:
    """Keep an uploaded file under a name of our own; a file over ``MAX_BYTES`` is refused."""
    suffix = Path(filename).suffix.lower()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"products-{secrets.token_hex(12)}{suffix if suffix in _SUFFIXES else ''}"
    size = 0
    with target.open("wb") as stored:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > MAX_BYTES:
                break
            stored.write(chunk)
    if size > MAX_BYTES:
        target.unlink()
        raise TooLarge(
            N_("Product files of up to {limit} MB can be imported here."), limit=MAX_BYTES >> 20
        )
    if size == 0:
        target.unlink()
        raise InvalidInput(
            N_("The file is empty."), errors=[FieldError("file", N_("This value is not valid."))]
        )
    return target


def file_format(path: Path, filename: str) -> str:
    kind = file_formats.format_of(path, filename)
    if kind not in ("csv", "xlsx"):
        raise InvalidInput(
            N_("Products are imported from CSV or XLSX files."),
            errors=[FieldError("file", N_("This value is not valid."))],
        )
    return kind


def auto_mapping(columns: list[str]) -> dict[str, str]:
    """``{"file column": "field"}`` from the headers; unknown columns map to ""."""
    index: dict[str, str] = {}
    for item in FIELDS:
        for alias in (item.key, *item.aliases.split("|")):
            index.setdefault(header_key(alias), item.key)
        for locale in i18n.LANGUAGE_NAMES:
            index.setdefault(header_key(i18n.translations(locale).gettext(item.label)), item.key)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        target = index.get(header_key(column), "")
        if target in taken:
            target = ""  # the first column naming a field feeds it
        mapping[column] = target
        taken.add(target)
    return mapping


def check_mapping(mapping: dict[str, str], columns: list[str]) -> dict[str, str]:
    """A valid mapping for these columns: known fields, one column each, and a SKU column."""
    result = {column: str(mapping.get(column) or "") for column in columns}
    errors: list[FieldError] = []
    used: set[str] = set()
    for column, target in result.items():
        if not target:
            continue
        if target not in FIELD_LABELS:
            errors.append(FieldError(column, N_("Unknown field.")))
        elif target in used:
            errors.append(FieldError(column, N_("Another column is mapped to this field.")))
        used.add(target)
    if "sku" not in used and not errors:
        errors.append(FieldError("sku", N_("Map a column to the SKU.")))
    if errors:
        raise InvalidInput(N_("The column mapping is not valid."), errors=errors)
    return result


def read_rows(path: Path, kind: str) -> tuple[list[str], list[SourceRow]]:
    """The file's columns and data rows; more than ``MAX_ROWS`` rows are refused (413)."""
    if kind == "csv":
        counted = file_formats.count_rows(path, kind)
        if counted is not None and counted - 1 > MAX_ROWS:
            raise _too_many()
    with file_formats.open_table(path, kind) as table:
        rows: list[SourceRow] = []
        for row in table.rows:
            if len(rows) == MAX_ROWS:
                raise _too_many()
            rows.append(row)
        return table.columns, rows


def _too_many() -> TooLarge:
    return TooLarge(
        N_(
            "The file has more than {limit} products. Import it in parts of up to {limit} rows, "
            "or use PUT /api/v1/products/by-external-id/{{external_id}} from a script."
        ),
        limit=f"{MAX_ROWS:,}",
    )


def preview(path: Path, filename: str, mapping: dict[str, str] | None = None) -> Preview:
    """The mapping (given, else recognised from the headers) and the first rows with the
    problems each has on its own. The mapping is not checked here: the page shows it to be
    corrected, and the import checks it."""
    kind = file_format(path, filename)
    with file_formats.open_table(path, kind) as table:
        columns = table.columns
        chosen = auto_mapping(columns) if mapping is None else mapping
        chosen = {c: t if t in FIELD_LABELS else "" for c, t in chosen.items() if c in columns}
        chosen = {c: chosen.get(c, "") for c in columns}
        shown = []
        for row in table.rows:
            shown.append((row, parse_row(row, chosen)[1]))
            if len(shown) == PREVIEW_ROWS:
                break
    return Preview(columns, chosen, shown)


# ---------------------------------------------------------------- rows


def _flag(text: str) -> bool:
    folded = text.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError(N_("Write yes or no (是 or 否)."))


def parse_row(row: SourceRow, mapping: dict[str, str]) -> tuple[dict[str, Any], list[Refusal]]:
    """The fields a row gives (empty cells give nothing) and the problems of its cells."""
    values: dict[str, Any] = {}
    problems: list[Refusal] = []
    column_of = {target: column for column, target in mapping.items() if target}
    for target, column in column_of.items():
        text = row.values.get(column, "").strip()
        if not text:
            continue
        try:
            if target in ("list_price", "unit_cost"):
                values[target] = parse_money(text)
            elif target == "is_active":
                values[target] = _flag(text)
            elif len(text) > _TEXT_LIMITS[target]:
                problems.append(
                    Refusal(
                        row.number,
                        column,
                        N_("Must be at most {max_length} characters."),
                        {"max_length": _TEXT_LIMITS[target]},
                    )
                )
            else:
                values[target] = text
        except ValueError as exc:
            problems.append(Refusal(row.number, column, str(exc.args[0])))
    if "sku" not in values and not any(p.column == column_of.get("sku") for p in problems):
        problems.append(Refusal(row.number, column_of.get("sku", ""), N_("The SKU is missing.")))
    return values, problems


# ---------------------------------------------------------------- running


def import_file(
    *,
    session: Session,
    actor: User,
    path: Path,
    filename: str,
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Import the products in the file at ``path`` (named ``filename`` by its uploader)."""
    if not (actor.can("products", "create") and actor.can("products", "update")):
        raise PermissionDenied(
            N_("Your role may not {action} {resource}."), action="create", resource="products"
        )
    kind = file_format(path, filename)
    columns, rows = read_rows(path, kind)
    chosen = check_mapping(mapping or auto_mapping(columns), columns)
    outcome = Outcome(secrets.token_hex(8), filename, dry_run, columns, chosen, rows=len(rows))
    savepoint = session.begin_nested()
    try:
        _write(session, outcome, rows, progress)
        if dry_run:
            savepoint.rollback()
        else:
            savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if not dry_run:
        tracking.record(
            session,
            "import",
            "product_import",
            outcome.run_id,
            {
                "filename": filename,
                "format": kind,
                "rows": outcome.rows,
                "created": outcome.created,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
                "refused": outcome.refused,
            },
        )
    return outcome


def _write(
    session: Session, outcome: Outcome, rows: list[SourceRow], progress: Progress | None
) -> None:
    seen: dict[tuple[str, str], int] = {}  # (field, value) -> the row that first had it
    column_of = {target: column for column, target in outcome.mapping.items() if target}
    for done, row in enumerate(rows, start=1):
        values, problems = parse_row(row, outcome.mapping)
        for key in ("sku", "external_id"):
            if key in values and not problems:
                first = seen.setdefault((key, values[key]), row.number)
                if first != row.number:
                    problems.append(
                        Refusal(
                            row.number,
                            column_of[key],
                            N_("The same value is in row {row} already."),
                            {"row": first},
                        )
                    )
        if not problems:
            problems = _upsert(session, row, values, column_of, outcome)
        if problems:
            outcome.refusals.extend(problems)
            outcome.refused_values[row.number] = row.values
        if progress is not None and (done % 100 == 0 or done == len(rows)):
            progress(done, len(rows))
    session.flush()


def _upsert(
    session: Session,
    row: SourceRow,
    values: dict[str, Any],
    column_of: dict[str, str],
    outcome: Outcome,
) -> list[Refusal]:
    product = None
    if "external_id" in values:
        product = service.find_by_external_id(session=session, external_id=values["external_id"])
    if product is None:
        product = session.scalar(select(Product).where(Product.sku == values["sku"]))
        if product is not None and product.external_id and "external_id" in values:
            return [
                Refusal(
                    row.number,
                    column_of["sku"],
                    N_("This SKU belongs to the product with the external id {external_id}."),
                    {"external_id": product.external_id},
                )
            ]
    creating = product is None
    if creating and "name" not in values:
        return [Refusal(row.number, column_of.get("name", ""), N_("A new product needs a name."))]
    try:
        if creating:
            product = Product()
            service.apply_changes(session, product, values)
            session.add(product)
            outcome.created += 1
        elif service.apply_changes(session, product, values):  # type: ignore[arg-type]
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    except GuanxiError as refused:
        where = refused.errors[0].field if refused.errors else ""
        return [Refusal(row.number, column_of.get(where, ""), refused.template, refused.params)]
    return []


# ---------------------------------------------------------------- the report


def report_header(outcome: Outcome) -> list[str]:
    titles = (N_("Row"), N_("Column"), N_("Reason"))
    return [*(i18n.gettext(title) for title in titles), *outcome.columns]


def report_rows(outcome: Outcome) -> Iterator[list[str]]:
    """One line per refusal: row, column, reason (in the current language), then the row."""
    for refusal in sorted(outcome.refusals, key=lambda r: r.row):
        cells = outcome.refused_values.get(refusal.row, {})
        yield [
            str(refusal.row),
            refusal.column,
            refusal.reason(),
            *(cells.get(c, "") for c in outcome.columns),
        ]


def report_csv(outcome: Outcome) -> Iterator[bytes]:
    """The refused rows as a CSV file (UTF-8 with BOM, so Excel shows Chinese correctly)."""
    return file_writers.csv_chunks(report_header(outcome), report_rows(outcome))
