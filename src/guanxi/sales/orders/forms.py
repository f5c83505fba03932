"""The order pages' forms: posted fields into the service's input shapes (``OrderCreate``,
``InvoiceCreate``, ``ShipmentCreate``, ``ReturnCreate``), and every refusal back onto the input it
is about (``line_quantity.2`` is the third row's quantity), with everything typed kept."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ValidationError

from guanxi.errors import N_, GuanxiError
from guanxi.sales.models import Order
from guanxi.sales.orders.schemas import (
    InvoiceCreate,
    OrderCreate,
    OrderLineIn,
    ReturnCreate,
    ShipmentCreate,
)
from guanxi.web import i18n
from guanxi.web.forms import FormInvalid, _validation_messages

# a row's inputs, named as the form posts them, and the OrderLineIn field each one fills
LINE_FIELDS = {
    "line_product": "product_id",
    "line_sku": "sku",
    "line_description": "description",
    "line_quantity": "quantity",
    "line_price": "unit_price",
    "line_discount": "discount",
}
_FORM_KEY = {field: key for key, field in LINE_FIELDS.items()}
EMPTY_ROWS = 3  # blank rows under the filled ones, so lines can be added without script
_REQUIRED = N_("This field is required.")
_NUMBER = N_("Write a number, such as 12.50.")


def _list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def line_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    """The filled line rows of a posted order form (a quantity alone does not make a row)."""
    columns = {key: _list(data, key) for key in LINE_FIELDS}
    count = max(len(v) for v in columns.values())
    rows = [
        {key: (columns[key][i].strip() if i < len(columns[key]) else "") for key in LINE_FIELDS}
        for i in range(count)
    ]
    wanted = ("line_product", "line_sku", "line_description", "line_price")
    return [row for row in rows if any(row[key] for key in wanted)]


def form_rows(data: dict[str, Any]) -> list[dict[str, str]]:
    """Rows to draw: the filled ones (their errors keyed by position), then blank ones."""
    return line_rows(data) + [dict.fromkeys(LINE_FIELDS, "") for _ in range(EMPTY_ROWS)]


def _messages(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    return {prefix + key: message for key, message in _validation_messages(exc).items()}


def order_in(data: dict[str, Any], zone: Any) -> OrderCreate:
    """The posted new-order form; raises ``FormInvalid`` naming every bad input."""
    errors: dict[str, str] = {}
    lines: list[OrderLineIn] = []
    rows = line_rows(data)
    for index, row in enumerate(rows):
        values = {LINE_FIELDS[k]: v for k, v in row.items() if v}
        try:
            lines.append(OrderLineIn.model_validate(values))
        except ValidationError as exc:
            for field, message in _validation_messages(exc).items():
                key = _FORM_KEY.get(field, "line_quantity")
                if field == "__all__" or key not in row:
                    key = "line_discount"
                errors.setdefault(f"{key}.{index}", message)
    if not rows:
        errors["lines"] = i18n.gettext(N_("Add at least one line."))
    header: dict[str, Any] = {
        k: str(data.get(k, "")).strip()
        for k in ("customer_id", "channel", "notes", "owner_id", "status")
        if str(data.get(k, "")).strip()
    }
    ordered_on = str(data.get("ordered_on", "")).strip()
    if ordered_on:
        try:
            day = date.fromisoformat(ordered_on)
        except ValueError:
            errors["ordered_on"] = i18n.gettext(N_("Write dates as 2026-11-23."))
        else:
            # noon where the user is: the day stays the day they chose in any time zone
            header["ordered_at"] = datetime.combine(day, time(12), zone)
    if "customer_id" not in header:
        errors["customer_id"] = i18n.gettext(_REQUIRED)
    try:
        parsed = OrderCreate.model_validate({**header, "lines": lines or None})
    except ValidationError as exc:
        for key, message in _messages(exc).items():
            if key != "lines" or not errors:
                errors.setdefault(key, message)
        raise FormInvalid(errors) from exc
    if errors:
        raise FormInvalid(errors)
    return parsed


def refused(exc: GuanxiError) -> FormInvalid:
    """A service's refusal on the order form: ``lines.2.quantity`` shown at that row's input."""
    errors = {}
    for error in exc.errors:
        parts = error.field.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
            key = f"{_FORM_KEY.get(parts[2], 'line_quantity')}.{parts[1]}"
        else:
            key = parts[-1]
        errors[key] = i18n.translate_template(error.message, {})
    return FormInvalid(errors, i18n.translate_template(exc.template, dict(exc.params)))


def _parse(schema: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        raise FormInvalid(_messages(exc)) from exc


def _dated(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: str(data[k]).strip() for k in keys if str(data.get(k, "")).strip()}


def invoice_in(data: dict[str, Any]) -> InvoiceCreate:
    values: InvoiceCreate = _parse(
        InvoiceCreate, _dated(data, "amount", "issued_on", "tax_number", "notes")
    )
    return values


def _document_lines(order: Order, data: dict[str, Any], prefix: str) -> list[dict[str, str]]:
    """Per order line, the quantity typed into ``<prefix><line id>``; blanks and zeros skipped."""
    lines = []
    for line in order.lines:
        value = str(data.get(f"{prefix}{line.id}", "")).strip()
        if value and value not in ("0", "0.0", "0.00", "0.000"):
            lines.append({"order_line_id": str(line.id), "quantity": value})
    return lines


def shipment_in(order: Order, data: dict[str, Any]) -> tuple[ShipmentCreate, list[int]]:
    """The shipment form and, by position, which order line each posted row is."""
    rows = _document_lines(order, data, "ship_")
    body = {"lines": rows, **_dated(data, "shipped_on", "carrier", "tracking_number", "notes")}
    return _document(ShipmentCreate, body, rows, "ship_"), [int(r["order_line_id"]) for r in rows]


def return_in(order: Order, data: dict[str, Any]) -> tuple[ReturnCreate, list[int]]:
    rows = _document_lines(order, data, "return_")
    body = {"lines": rows, **_dated(data, "returned_on", "reason")}
    return _document(ReturnCreate, body, rows, "return_"), [int(r["order_line_id"]) for r in rows]


def _document(
    schema: type[BaseModel], body: dict[str, Any], rows: list[dict[str, str]], prefix: str
) -> Any:
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = error["loc"]
            if loc and loc[0] == "lines" and len(loc) > 1 and isinstance(loc[1], int):
                key = prefix + rows[loc[1]]["order_line_id"]
                errors.setdefault(key, i18n.gettext(_NUMBER))
            elif loc and loc[0] == "lines":
                errors.setdefault(
                    "lines", i18n.gettext(N_("Enter a quantity for at least one line."))
                )
        errors.update({k: v for k, v in _messages(exc).items() if k != "lines"})
        raise FormInvalid(errors) from exc


def document_refused(exc: GuanxiError, line_ids: list[int], prefix: str) -> FormInvalid:
    """A shipment's or return's refusal shown at the quantity input of the line it names."""
    errors = {}
    for error in exc.errors:
        parts = error.field.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit():
            key = f"{prefix}{line_ids[int(parts[1])]}"
        else:
            key = parts[-1]
        errors[key] = i18n.translate_template(error.message, {})
    return FormInvalid(errors, i18n.translate_template(exc.template, dict(exc.params)))
