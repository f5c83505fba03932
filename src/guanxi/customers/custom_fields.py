"""Custom fields defined by administrators (text, number, date, choice) and the check of values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.concurrency import ensure_version
from guanxi.customers.models import CustomFieldDefinition
from guanxi.customers.schemas import CustomFieldIn
from guanxi.errors import N_, Conflict, FieldError, InvalidInput, NotFound


def definitions(
    session: Session, entity: str, *, active_only: bool = True
) -> list[CustomFieldDefinition]:
    stmt = select(CustomFieldDefinition).where(CustomFieldDefinition.entity == entity)
    if active_only:
        stmt = stmt.where(CustomFieldDefinition.active.is_(True))
    return list(
        session.scalars(stmt.order_by(CustomFieldDefinition.position, CustomFieldDefinition.id))
    )


def validate(
    session: Session, entity: str, values: dict[str, Any], *, current: dict[str, Any]
) -> dict[str, Any]:
    """``current`` with ``values`` applied (None removes a value), every value checked against
    its definition; unknown keys and wrong types are refused naming the field."""
    fields = {d.key: d for d in definitions(session, entity)}
    result = dict(current)
    errors: list[FieldError] = []
    for key, raw in values.items():
        definition = fields.get(key)
        if definition is None:
            errors.append(FieldError(f"custom_fields.{key}", N_("Unknown custom field.")))
            continue
        if raw is None or raw == "":
            result.pop(key, None)
            continue
        try:
            result[key] = _coerce(definition, raw)
        except ValueError as exc:
            errors.append(FieldError(f"custom_fields.{key}", str(exc)))
    for key, definition in fields.items():
        if definition.required and result.get(key) in (None, ""):
            errors.append(FieldError(f"custom_fields.{key}", N_("This field is required.")))
    if errors:
        raise InvalidInput(N_("Some custom fields are not valid."), errors=errors)
    return result


def _coerce(definition: CustomFieldDefinition, raw: Any) -> Any:
    kind = definition.field_type
    if kind == "number":
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation as exc:
            raise ValueError(N_("Must be a number.")) from exc
        # JSON keeps numbers as numbers; whole numbers stay ints
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "date":
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError as exc:
            raise ValueError(N_("Write dates as 2026-11-23.")) from exc
    if kind == "choice":
        if str(raw) not in definition.choices:
            raise ValueError(N_("Choose one of the offered values."))
        return str(raw)
    text = str(raw).strip()
    if len(text) > 2000:
        raise ValueError(N_("Must be at most {max_length} characters."))
    return text


def get(*, session: Session, definition_id: int) -> CustomFieldDefinition:
    definition = session.get(CustomFieldDefinition, definition_id)
    if definition is None:
        raise NotFound(N_("Custom field {id} was not found."), id=definition_id)
    return definition


def create(*, session: Session, field_in: CustomFieldIn) -> CustomFieldDefinition:
    _check(field_in)
    exists = session.scalar(
        select(CustomFieldDefinition.id).where(
            CustomFieldDefinition.entity == field_in.entity,
            CustomFieldDefinition.key == field_in.key,
        )
    )
    if exists is not None:
        raise Conflict(
            N_("A custom field {key} already exists."),
            errors=[FieldError("key", N_("This name is taken."))],
            key=field_in.key,
        )
    definition = CustomFieldDefinition(**field_in.model_dump())
    session.add(definition)
    session.flush()
    return definition


def update(
    *,
    session: Session,
    definition: CustomFieldDefinition,
    field_in: CustomFieldIn,
    expected_version: int | None,
) -> CustomFieldDefinition:
    ensure_version(definition.version, expected_version)
    _check(field_in)
    if (field_in.entity, field_in.key) != (definition.entity, definition.key):
        raise Conflict(
            N_("A custom field keeps its key; create a new field instead."),
            errors=[FieldError("key", N_("Cannot be changed."))],
        )
    for name, value in field_in.model_dump().items():
        setattr(definition, name, value)
    session.flush()
    return definition


def _check(field_in: CustomFieldIn) -> None:
    if field_in.field_type == "choice" and not field_in.choices:
        raise InvalidInput(
            N_("A choice field needs choices."),
            errors=[FieldError("choices", N_("This field is required."))],
        )
