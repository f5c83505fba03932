"""Checking one imported row against the rules the API applies, without Pydantic in the loop.

The limits (lengths, list sizes) are read from the API schemas themselves and the choices from
their vocabularies, so a file and a script are refused for the same reasons; running a schema per
row would cost more than the rest of the import together (DESIGN.md, "Search": 18 us a row).
``tests/customers/test_import.py`` holds these checks to ``CustomerCreate``'s answers.

Problems are reported per file column, with the column name as people see it in their file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel

from guanxi.customers import normalize
from guanxi.customers.schemas import (
    ContactFields,
    CustomerFields,
    EmailIn,
    PhoneIn,
)
from guanxi.customers.transfer.column_mapping import CUSTOM_PREFIX
from guanxi.customers.transfer.file_formats import SourceRow
from guanxi.customers.transfer.import_choices import CHOICE_CODES, CHOICES, choice_lookup
from guanxi.errors import N_

_LIST_SEPARATORS = re.compile(r"[;,，；、|/\n]")
_TAG_SEPARATORS = re.compile(r"[,，、;；|\n]")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
MAX_TAG_LENGTH = 80


@dataclass(frozen=True)
class RowError:
    """Why a row (or one of its cells) was refused: an English template marked with N_() and its
    values, translated when the report is read."""

    row: int
    field: str
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class CustomerRow:
    """A valid customer row, normalised: scalar fields as the table stores them, plus lists."""

    number: int
    source: SourceRow
    values: dict[str, Any]
    phones: list[str]
    emails: list[str]
    tags: list[str]
    custom: dict[str, str]
    owner: str | None
    id_number: str | None


@dataclass
class ContactRow:
    number: int
    source: SourceRow
    values: dict[str, Any]
    organisation_external_id: str | None
    organisation_name: str | None
    tags: list[str]
    custom: dict[str, str]


def max_lengths(model: type[BaseModel]) -> dict[str, int]:
    """The ``max_length`` of every field of an API schema that has one."""
    limits: dict[str, int] = {}
    for name, info in model.model_fields.items():
        for item in info.metadata:
            if isinstance(item, MaxLen):
                limits[name] = item.max_length
    return limits


def parse_date(text: str) -> date:
    """Dates as people write them: 2026-11-23, 2026/11/23, 2026.11.23, 20261123, 2026年11月23日."""
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if not match:
        raise ValueError(text)
    year, month, day = (int(part) for part in match.groups())
    return date(year, month, day)


def split_list(text: str, separators: re.Pattern[str] = _LIST_SEPARATORS) -> list[str]:
    return [stripped for part in separators.split(text) if (stripped := part.strip())]


class _Checker:
    """What every entity's rules share: the mapping grouped by field, and cell checks."""

    def __init__(self, mapping: dict[str, str], limits: dict[str, int]) -> None:
        self.columns: dict[str, list[str]] = {}
        for column, target in mapping.items():
            if target:
                self.columns.setdefault(target, []).append(column)
        self.limits = limits
        self.choices = {name: choice_lookup(name) for name in CHOICES}

    def cells(self, row: SourceRow, target: str) -> Iterable[tuple[str, str]]:
        for column in self.columns.get(target, ()):
            value = row.values.get(column, "")
            if value:
                yield column, value

    def first(self, row: SourceRow, target: str) -> tuple[str, str]:
        columns = self.columns.get(target, ())
        for column in columns:
            value = row.values.get(column, "")
            if value:
                return column, value
        return (columns[0] if columns else target), ""

    def column_of(self, target: str) -> str:
        return self.columns.get(target, [target])[0]

    def text(self, row: SourceRow, target: str, errors: list[RowError]) -> str | None:
        column, value = self.first(row, target)
        if not value:
            return None
        limit = self.limits.get(target)
        if limit is not None and len(value) > limit:
            errors.append(
                RowError(
                    row.number,
                    column,
                    N_("Must be at most {max_length} characters."),
                    {"max_length": limit},
                )
            )
            return None
        return value

    def choice(self, row: SourceRow, target: str, errors: list[RowError]) -> str | None:
        column, value = self.first(row, target)
        if not value:
            return None
        code = self.choices[target].get(value.strip().lower())
        if code is None:
            errors.append(
                RowError(
                    row.number,
                    column,
                    N_("Use one of: {choices}."),
                    {"choices": ", ".join(CHOICE_CODES[target])},
                )
            )
        return code

    def custom(self, row: SourceRow) -> dict[str, str]:
        return {
            target[len(CUSTOM_PREFIX) :]: value
            for target in self.columns
            if target.startswith(CUSTOM_PREFIX)
            for _, value in self.cells(row, target)
        }

    def tags(self, row: SourceRow, errors: list[RowError]) -> list[str]:
        names: list[str] = []
        for column, value in self.cells(row, "tags"):
            for name in split_list(value, _TAG_SEPARATORS):
                if len(name) > MAX_TAG_LENGTH:
                    errors.append(
                        RowError(
                            row.number,
                            column,
                            N_("A tag name has at most 80 characters."),
                        )
                    )
                elif name not in names:
                    names.append(name)
        return names


_CUSTOMER_TEXT = (
    "company",
    "occupation",
    "industry",
    "region",
    "city",
    "district",
    "address",
    "postal_code",
    "source_channel",
    "preferred_contact_time",
    "interests",
    "notes",
    "credit_note",
    "external_id",
)
_CUSTOMER_CHOICES = ("kind", "customer_type", "gender", "preferred_channel", "risk_level")


class CustomerRules(_Checker):
    """Turns a file row into a ``CustomerRow``, or says why it cannot be one."""

    def __init__(self, mapping: dict[str, str]) -> None:
        super().__init__(mapping, max_lengths(CustomerFields))
        # only the fields the file has are looked at, row after row
        self.text_fields = [f for f in _CUSTOMER_TEXT if f in self.columns]
        self.choice_fields = [f for f in _CUSTOMER_CHOICES if f in self.columns]
        self.phone_limit = max_lengths(PhoneIn)["number"]
        self.email_limit = max_lengths(EmailIn)["address"]

    def check(self, row: SourceRow) -> CustomerRow | list[RowError]:
        errors: list[RowError] = []
        values: dict[str, Any] = {}
        name = self.text(row, "name", errors)
        if name is None and not any(e.field == self.column_of("name") for e in errors):
            errors.append(
                RowError(row.number, self.column_of("name"), N_("This field is required."))
            )
        values["name"] = name
        for target in self.text_fields:
            value = self.text(row, target, errors)
            if value is not None:
                values[target] = value
        for target in self.choice_fields:
            code = self.choice(row, target, errors)
            if code is not None:
                values[target] = code
        column, birthday = self.first(row, "birthday")
        if birthday:
            try:
                values["birthday"] = parse_date(birthday)
            except ValueError:
                errors.append(RowError(row.number, column, N_("Write dates as 2026-11-23.")))
        phones = self._list(row, "phones", errors, self.phone_limit, normalize.phone)
        emails = self._list(row, "emails", errors, self.email_limit, normalize.email)
        tags = self.tags(row, errors)
        owner = self.text(row, "owner", errors)
        id_number = self.text(row, "id_number", errors)
        if errors:
            return errors
        return CustomerRow(
            number=row.number,
            source=row,
            values=values,
            phones=phones,
            emails=emails,
            tags=tags,
            custom=self.custom(row),
            owner=owner,
            id_number=normalize.name_key(id_number).upper() if id_number else None,
        )

    def _list(
        self, row: SourceRow, target: str, errors: list[RowError], limit: int, normal: Any
    ) -> list[str]:
        found: list[str] = []
        for column, value in self.cells(row, target):
            for item in split_list(value):
                try:
                    if len(item) > limit:
                        raise normalize.InvalidValue(item)
                    number = normal(item)
                except normalize.InvalidValue:
                    message = (
                        N_("Not a phone number.")
                        if target == "phones"
                        else N_("Not an e-mail address.")
                    )
                    errors.append(RowError(row.number, column, message))
                    continue
                if number not in found:
                    found.append(number)
        most = self.limits[target]
        if len(found) > most:
            errors.append(
                RowError(
                    row.number,
                    self.column_of(target),
                    N_("At most {count} values are allowed."),
                    {"count": most},
                )
            )
        return found


class ContactRules(_Checker):
    """Turns a file row into a ``ContactRow``, or says why it cannot be one."""

    def __init__(self, mapping: dict[str, str]) -> None:
        super().__init__(
            mapping,
            {**max_lengths(ContactFields), "organisation": 200, "organisation_external_id": 100},
        )

    def check(self, row: SourceRow) -> ContactRow | list[RowError]:
        errors: list[RowError] = []
        values: dict[str, Any] = {}
        name = self.text(row, "name", errors)
        if name is None and not any(e.field == self.column_of("name") for e in errors):
            errors.append(
                RowError(row.number, self.column_of("name"), N_("This field is required."))
            )
        values["name"] = name
        for target in ("title", "notes", "external_id"):
            value = self.text(row, target, errors)
            if value is not None:
                values[target] = value
        role = self.choice(row, "purchase_role", errors)
        if role is not None:
            values["purchase_role"] = role
        self._single(row, "phone", normalize.phone, N_("Not a phone number."), values, errors)
        self._single(row, "email", normalize.email, N_("Not an e-mail address."), values, errors)
        organisation_id = self.text(row, "organisation_external_id", errors)
        organisation = self.text(row, "organisation", errors)
        if not organisation_id and not organisation:
            errors.append(
                RowError(row.number, self.column_of("organisation"), N_("This field is required."))
            )
        tags = self.tags(row, errors)
        if errors:
            return errors
        return ContactRow(
            number=row.number,
            source=row,
            values=values,
            organisation_external_id=organisation_id,
            organisation_name=organisation,
            tags=tags,
            custom=self.custom(row),
        )

    def _single(
        self,
        row: SourceRow,
        target: str,
        normal: Any,
        message: str,
        values: dict[str, Any],
        errors: list[RowError],
    ) -> None:
        column, value = self.first(row, target)
        if not value:
            return
        try:
            if len(value) > self.limits[target]:
                raise normalize.InvalidValue(value)
            values[target] = normal(value)
        except normalize.InvalidValue:
            errors.append(RowError(row.number, column, message))
