"""Exporting a filtered customer list (客户导出) to CSV, XLSX or vCard 3.0, as a stream.

The list is the one the user sees: the same filter as the list page (``search.filter_from_query``)
narrowed by record visibility. Every export is audited with its format, filter and row count.
Rows are read in keyset batches with plain column queries, so exporting a million customers holds
one batch in memory. Column headers and choice values are written in the reader's language, in
words the import maps back, so an exported file can be edited and imported again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from guanxi.audit import tracking
from guanxi.auth.models import User
from guanxi.auth.visibility import restrict
from guanxi.customers import custom_fields
from guanxi.customers import service as customer_service
from guanxi.customers.labels import CHOICE_LABELS
from guanxi.customers.models import Customer, CustomerEmail, CustomerPhone, CustomerTag, Tag
from guanxi.customers.search import CustomerFilter, filter_clauses
from guanxi.customers.transfer import file_writers
from guanxi.errors import N_, FieldError, InvalidInput
from guanxi.web import i18n

BATCH = 1000
# (key, header) in file order; the headers are the import's field labels, so they map back
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", N_("Guanxi id")),
    ("external_id", N_("External id")),
    ("name", N_("Name")),
    ("kind", N_("Kind")),
    ("customer_type", N_("Customer type")),
    ("phones", N_("Phones")),
    ("emails", N_("E-mails")),
    ("gender", N_("Gender")),
    ("birthday", N_("Birthday")),
    ("company", N_("Company")),
    ("occupation", N_("Occupation")),
    ("industry", N_("Industry")),
    ("region", N_("Province / region")),
    ("city", N_("City")),
    ("district", N_("District")),
    ("address", N_("Address")),
    ("postal_code", N_("Postal code")),
    ("source_channel", N_("Source")),
    ("preferred_channel", N_("Preferred channel")),
    ("risk_level", N_("Risk level")),
    ("tags", N_("Tags")),
    ("owner", N_("Owner")),
    ("notes", N_("Notes")),
    ("created_at", N_("Created")),
    ("updated_at", N_("Last changed")),
)
_SCALARS = [key for key, _ in COLUMNS if key not in ("phones", "emails", "tags", "owner")]


@dataclass(frozen=True)
class Layout:
    """An export's columns and words, fixed in the reader's language before streaming starts
    (a streamed response runs outside the request that chose the language)."""

    file_format: str
    header: list[str]
    custom_keys: list[str]
    choices: dict[str, dict[str, str]]
    zone: ZoneInfo

    @property
    def filename(self) -> str:
        return f"customers.{self.file_format}"

    @property
    def media_type(self) -> str:
        return file_writers.MEDIA_TYPES[self.file_format]


def layout(*, session: Session, file_format: str, zone: ZoneInfo) -> Layout:
    """Columns and headers for an export in the current language (``web.i18n``), times in
    ``zone``."""
    if file_format not in file_writers.FORMATS:
        raise InvalidInput(
            N_("Export as csv, xlsx or vcf."),
            errors=[FieldError("format", N_("Choose one of the offered values."))],
        )
    definitions = custom_fields.definitions(session, "customer")
    header = [i18n.gettext(label) for _, label in COLUMNS] + [d.label for d in definitions]
    choices = {
        name: {code: i18n.gettext(label) for code, label in labels.items()}
        for name, labels in CHOICE_LABELS.items()
    }
    return Layout(file_format, header, [d.key for d in definitions], choices, zone)


def filter_summary(spec: CustomerFilter) -> dict[str, Any]:
    """The filter as the audit log records it: only what narrows the list."""
    return {k: v for k, v in dataclasses.asdict(spec).items() if v not in (None, "", [], {})}


def record(*, session: Session, actor: User, spec: CustomerFilter, file_format: str) -> int:
    """Audit an export about to be made and return how many customers it holds."""
    rows = customer_service.count_customers(session=session, actor=actor, spec=spec)
    tracking.record(
        session,
        "export",
        "customer",
        "list",
        {"format": file_format, "rows": rows, "filter": filter_summary(spec)},
    )
    return rows


def chunks(
    *, session: Session, actor: User, spec: CustomerFilter, shape: Layout
) -> Iterator[bytes]:
    """The export file, in chunks."""
    records = _records(session, actor, spec)
    if shape.file_format == "vcf":
        return file_writers.vcard_chunks(_card(r) for r in records)
    rows = (_cells(r, shape) for r in records)
    if shape.file_format == "xlsx":
        return file_writers.xlsx_chunks(shape.header, rows, title="Customers")
    return file_writers.csv_chunks(shape.header, rows)


def stream(
    sessions: Callable[[], Session], actor_id: int, spec: CustomerFilter, shape: Layout
) -> Iterator[bytes]:
    """The export file for a streamed response, read in a session of its own: the request's
    unit of work (which recorded the export) has ended before the first byte is sent."""
    with sessions() as session:
        actor = session.get(User, actor_id)
        if actor is None:
            return
        yield from chunks(session=session, actor=actor, spec=spec, shape=shape)


# ---------------------------------------------------------------- reading


def _visible(session: Session, actor: User, spec: CustomerFilter) -> Select[Any]:
    columns = [getattr(Customer, key) for key in _SCALARS]
    stmt = select(*columns, Customer.owner_id, Customer.custom_fields).where(
        *filter_clauses(session, spec)
    )
    return restrict(stmt, Customer, actor)


def _records(session: Session, actor: User, spec: CustomerFilter) -> Iterator[dict[str, Any]]:
    """Every customer of the list, oldest first, with phones, e-mails, tags and owner."""
    base = _visible(session, actor, spec)
    owners: dict[int, str] = {}
    last_id = 0
    while True:
        batch = [
            dict(row)
            for row in session.execute(
                base.where(Customer.id > last_id).order_by(Customer.id).limit(BATCH)
            ).mappings()
        ]
        if not batch:
            return
        _attach(session, batch, owners)
        yield from batch
        last_id = batch[-1]["id"]


def _attach(session: Session, batch: list[dict[str, Any]], owners: dict[int, str]) -> None:
    by_id = {row["id"]: row for row in batch}
    for row in batch:
        row.update(phones=[], emails=[], tags=[])
    ids = list(by_id)
    for cid, number, label in session.execute(
        select(CustomerPhone.customer_id, CustomerPhone.number, CustomerPhone.label)
        .where(CustomerPhone.customer_id.in_(ids))
        .order_by(CustomerPhone.customer_id, CustomerPhone.position)
    ):
        by_id[cid]["phones"].append((number, label))
    for cid, address in session.execute(
        select(CustomerEmail.customer_id, CustomerEmail.address)
        .where(CustomerEmail.customer_id.in_(ids))
        .order_by(CustomerEmail.customer_id, CustomerEmail.position)
    ):
        by_id[cid]["emails"].append(address)
    for cid, name in session.execute(
        select(CustomerTag.customer_id, Tag.name)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerTag.customer_id.in_(ids))
        .order_by(CustomerTag.customer_id, Tag.name)
    ):
        by_id[cid]["tags"].append(name)
    missing = {r["owner_id"] for r in batch if r["owner_id"] and r["owner_id"] not in owners}
    if missing:
        found = session.execute(select(User.id, User.username).where(User.id.in_(missing)))
        owners.update({user_id: username for user_id, username in found})
    for row in batch:
        row["owner"] = owners.get(row["owner_id"], "") if row["owner_id"] else ""


# ---------------------------------------------------------------- shaping


def _text(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _cells(record: dict[str, Any], shape: Layout) -> list[str]:
    cells = []
    for key, _ in COLUMNS:
        value = record[key]
        if key == "phones":
            cells.append("; ".join(number for number, _ in value))
        elif key in ("emails", "tags"):
            cells.append(("; " if key == "emails" else ", ").join(value))
        elif key in shape.choices and value:
            cells.append(shape.choices[key].get(value, value))
        else:
            cells.append(_text(value, shape.zone))
    custom = record["custom_fields"] or {}
    cells.extend(_text(custom.get(key), shape.zone) for key in shape.custom_keys)
    return cells


def _card(record: dict[str, Any]) -> file_writers.Card:
    return file_writers.Card(
        name=record["name"],
        is_organisation=record["kind"] == "organisation",
        phones=record["phones"],
        emails=record["emails"],
        company=record["company"],
        title=record["occupation"],
        street=record["address"],
        city=record["city"],
        region=record["region"],
        postal_code=record["postal_code"],
        birthday=record["birthday"],
        note=record["notes"],
        categories=record["tags"],
        uid=record["external_id"] or "",
    )
