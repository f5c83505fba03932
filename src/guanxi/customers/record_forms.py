"""The customer and contact forms: submitted form fields into the service's input shapes
(``CustomerCreate``, ``CustomerUpdate``, ``ContactCreate``, ``ContactUpdate``), and records back
into form values. Errors are keyed by the form's own field names, so each one is shown next to
the input it is about, with everything the user typed kept."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users
from guanxi.customers import custom_fields, normalize
from guanxi.customers.labels import CHOICE_LABELS, CONTACT_FIELD_LABELS, FIELD_LABELS
from guanxi.customers.models import Contact, Customer, CustomFieldDefinition
from guanxi.customers.schemas import EmailIn, FamilyMemberIn, PhoneIn
from guanxi.errors import N_, GuanxiError
from guanxi.web import i18n
from guanxi.web.forms import FormInvalid, parse

FieldsT = TypeVar("FieldsT", bound=BaseModel)

PHONE_LABELS = CHOICE_LABELS["phone_label"]
EMAIL_LABELS = CHOICE_LABELS["email_label"]

# profile fields that are free text (blank means "empty"), and those where blank means "none"
TEXT_FIELDS = (
    "name",
    "occupation",
    "industry",
    "company",
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
)
CHOICE_FIELDS = ("kind", "customer_type")  # always posted by a select; absent keeps the default
OPTIONAL_FIELDS = (
    "gender",
    "birthday",
    "preferred_channel",
    "risk_level",
    "external_id",
)
CONTACT_TEXT_FIELDS = ("name", "title", "phone", "email", "notes")
EMPTY_ROWS = 2  # blank rows offered under the filled ones, so rows can be added without script
_DATE_MESSAGE = N_("Write dates as 2026-11-23.")
_REQUIRED = N_("This field is required.")
_NOT_OFFERED = N_("Choose one of the offered values.")


def form_version(data: dict[str, Any]) -> int | None:
    """The record version a form was loaded with (its hidden ``version`` field), taken out."""
    value = str(data.pop("version", ""))
    return int(value) if value.isdigit() else None


def label_context() -> dict[str, Any]:
    """The labels the customer templates show for fields and choice values."""
    return {
        "field_labels": FIELD_LABELS,
        "contact_labels": CONTACT_FIELD_LABELS,
        "choices": CHOICE_LABELS,
        "phone_labels": PHONE_LABELS,
        "email_labels": EMAIL_LABELS,
    }


def values_list(data: dict[str, Any], key: str) -> list[str]:
    """A repeated form field as a list (one value arrives as a plain string)."""
    value = data.get(key, [])
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def filled_rows(
    data: dict[str, Any], keys: tuple[str, ...], primary: tuple[str, ...]
) -> list[dict[str, str]]:
    """The rows of a repeatable group (``keys`` are its columns) that have a value in one of
    the ``primary`` columns; a label left at its default does not make a row."""
    columns = {key: values_list(data, key) for key in keys}
    count = max((len(v) for v in columns.values()), default=0)
    rows = [
        {key: (columns[key][i] if i < len(columns[key]) else "").strip() for key in keys}
        for i in range(count)
    ]
    return [row for row in rows if any(row[key] for key in primary)]


PHONE_ROW = ("phone_number", "phone_label")
EMAIL_ROW = ("email_address", "email_label")
FAMILY_ROW = ("family_name", "family_relation", "family_birthday")
# the columns that make a row count as filled in
ROW_PRIMARY = {PHONE_ROW: PHONE_ROW[:1], EMAIL_ROW: EMAIL_ROW[:1], FAMILY_ROW: FAMILY_ROW}


def _row_error(schema: type[BaseModel], values: dict[str, Any]) -> tuple[BaseModel | None, str]:
    try:
        return parse(schema, values), ""
    except FormInvalid as invalid:
        return None, next(iter(invalid.errors.values()), "")


def _iso_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- owners


def assignable_owners(session: Session, actor: User, current_owner_id: int | None) -> list[User]:
    """Whom the actor may make a customer's owner: with "manage customers", the active users
    their record scope reaches; otherwise only themselves. The current owner stays offered, so
    an edit never reassigns a record by accident."""
    users = reachable_users(session, actor) if actor.can("customers", "manage") else [actor]
    if current_owner_id is not None and all(u.id != current_owner_id for u in users):
        owner = session.get(User, current_owner_id)
        if owner is not None:
            users.append(owner)
    return sorted(users, key=lambda u: u.label.lower())


# ---------------------------------------------------------------- customers


def new_customer_values(actor: User) -> dict[str, Any]:
    return {"kind": "person", "customer_type": "direct", "owner_id": actor.id}


def customer_values(customer: Customer) -> dict[str, Any]:
    """A stored customer as the edit form shows it."""
    values: dict[str, Any] = {
        name: getattr(customer, name) or ""
        for name in (*TEXT_FIELDS, *CHOICE_FIELDS, *OPTIONAL_FIELDS)
    }
    values["birthday"] = customer.birthday.isoformat() if customer.birthday else ""
    values["owner_id"] = customer.owner_id
    values["version"] = customer.version
    values["phone_number"] = [normalize.display_phone(p.number) for p in customer.phones]
    values["phone_label"] = [p.label for p in customer.phones]
    values["email_address"] = [e.address for e in customer.emails]
    values["email_label"] = [e.label for e in customer.emails]
    values["family_name"] = [f.name for f in customer.family]
    values["family_relation"] = [f.relation for f in customer.family]
    values["family_birthday"] = [
        f.birthday.isoformat() if f.birthday else "" for f in customer.family
    ]
    values["tags"] = ", ".join(t.name for t in customer.tags)
    for key, value in (customer.custom_fields or {}).items():
        values[f"cf.{key}"] = "" if value is None else str(value)
    return values


def form_rows(values: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a repeatable group to draw: the filled ones (their errors are keyed by this
    position), then a few blank ones."""
    rows: list[dict[str, str]] = filled_rows(values, keys, ROW_PRIMARY[keys])
    return rows + [dict.fromkeys(keys, "") for _ in range(EMPTY_ROWS)]


def split_tags(text: str) -> list[str]:
    for separator in ("，", "、", ";", "；"):
        text = text.replace(separator, ",")
    return [t.strip() for t in text.split(",") if t.strip()]


def customer_in(
    session: Session,
    schema: type[FieldsT],
    data: dict[str, Any],
    *,
    owners: list[User],
    current: Customer | None = None,
) -> FieldsT:
    """The posted customer form as ``schema``; raises ``FormInvalid`` naming every bad input."""
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    blanks: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = str(data.get(name, "")).strip()
        (fields if value else blanks)[name] = value
    if "name" in blanks:
        errors["name"] = i18n.gettext(_REQUIRED)
    for name in CHOICE_FIELDS:
        if str(data.get(name, "")).strip():
            fields[name] = str(data[name]).strip()
    for name in OPTIONAL_FIELDS:
        value = str(data.get(name, "")).strip()
        (fields if value else blanks)[name] = value or None
    if fields.get("birthday") and not _iso_date(fields["birthday"]):
        errors["birthday"] = i18n.gettext(_DATE_MESSAGE)
    fields["phones"] = _phones(data, errors)
    fields["emails"] = _emails(data, errors)
    fields["family"] = _family(data, errors)
    fields["tags"] = split_tags(str(data.get("tags", "")))
    fields["custom_fields"] = _custom_fields(
        session, "customer", data, errors, (current.custom_fields or {}) if current else {}
    )
    owner = str(data.get("owner_id", "")).strip()
    if owner:
        if owner not in {str(u.id) for u in owners}:
            errors["owner_id"] = i18n.gettext(_NOT_OFFERED)
        else:
            fields["owner_id"] = int(owner)
    id_number = str(data.get("id_number", "")).strip()
    if id_number:
        fields["id_number"] = id_number
    elif data.get("id_number_clear"):
        blanks["id_number"] = None
    try:
        parsed = parse(schema, {k: v for k, v in fields.items() if k not in errors})
    except FormInvalid as invalid:
        errors = {**invalid.errors, **errors}
    if errors:
        raise FormInvalid(errors, i18n.gettext(N_("Some fields need your attention.")))
    # a field the user emptied is sent as empty, so that an edit clears it
    return parsed.model_copy(update={k: v for k, v in blanks.items() if k != "name"})


def _phones(data: dict[str, Any], errors: dict[str, str]) -> list[BaseModel]:
    phones = []
    for i, row in enumerate(filled_rows(data, PHONE_ROW, ROW_PRIMARY[PHONE_ROW])):
        phone, error = _row_error(
            PhoneIn, {"number": row["phone_number"], "label": row["phone_label"] or "mobile"}
        )
        if phone is None:
            errors[f"phone_number.{i}"] = error
        else:
            phones.append(phone)
    return phones


def _emails(data: dict[str, Any], errors: dict[str, str]) -> list[BaseModel]:
    emails = []
    for i, row in enumerate(filled_rows(data, EMAIL_ROW, ROW_PRIMARY[EMAIL_ROW])):
        email, error = _row_error(
            EmailIn, {"address": row["email_address"], "label": row["email_label"] or "work"}
        )
        if email is None:
            errors[f"email_address.{i}"] = error
        else:
            emails.append(email)
    return emails


def _family(data: dict[str, Any], errors: dict[str, str]) -> list[BaseModel]:
    family = []
    for i, row in enumerate(filled_rows(data, FAMILY_ROW, FAMILY_ROW)):
        if row["family_birthday"] and not _iso_date(row["family_birthday"]):
            errors[f"family_birthday.{i}"] = i18n.gettext(_DATE_MESSAGE)
            continue
        member, error = _row_error(
            FamilyMemberIn,
            {
                "name": row["family_name"],
                "relation": row["family_relation"],
                "birthday": row["family_birthday"],
            },
        )
        if member is None:
            errors[f"family_name.{i}"] = error
        else:
            family.append(member)
    return family


def _custom_fields(
    session: Session,
    entity: str,
    data: dict[str, Any],
    errors: dict[str, str],
    current: dict[str, Any],
) -> dict[str, Any]:
    definitions = custom_fields.definitions(session, entity)
    values: dict[str, Any] = {
        d.key: str(data.get(f"cf.{d.key}", "")).strip() or None for d in definitions
    }
    try:
        # the same check the service makes, here so each message lands next to its input
        custom_fields.validate(session, entity, values, current=current)
    except GuanxiError as exc:
        for error in exc.errors:
            key = error.field.removeprefix("custom_fields.")
            errors[f"cf.{key}"] = i18n.translate_template(error.message, {})
    return values


def custom_field_inputs(
    definitions: list[CustomFieldDefinition],
) -> list[dict[str, Any]]:
    """What the form draws for each admin-defined field: its input type and choices."""
    kinds = {"text": "text", "number": "number", "date": "date", "choice": "select"}
    return [
        {
            "name": f"cf.{d.key}",
            "label": d.label,
            "type": kinds.get(d.field_type, "text"),
            "choices": list(d.choices or []),
            "required": d.required,
        }
        for d in definitions
    ]


# ---------------------------------------------------------------- contacts


def contact_values(contact: Contact) -> dict[str, Any]:
    return {
        "name": contact.name,
        "title": contact.title,
        "purchase_role": contact.purchase_role,
        "phone": contact.phone,
        "email": contact.email,
        "notes": contact.notes,
        "external_id": contact.external_id or "",
        "tags": ", ".join(t.name for t in contact.tags),
        "version": contact.version,
        **{f"cf.{key}": value for key, value in (contact.custom_fields or {}).items()},
    }


def contact_in(
    session: Session,
    schema: type[FieldsT],
    data: dict[str, Any],
    current: Contact | None = None,
    **extra: Any,
) -> FieldsT:
    """The posted contact form as ``schema`` (``extra`` adds e.g. the organisation id)."""
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {
        name: str(data.get(name, "")).strip() for name in (*CONTACT_TEXT_FIELDS, "purchase_role")
    }
    blanks: dict[str, str | None] = {
        k: "" for k in CONTACT_TEXT_FIELDS if not fields[k] and k != "name"
    }
    external_id = str(data.get("external_id", "")).strip()
    fields["external_id"] = external_id or None
    if not external_id:
        blanks["external_id"] = None
    fields["tags"] = split_tags(str(data.get("tags", "")))
    if not fields["name"]:
        errors["name"] = i18n.gettext(_REQUIRED)
    fields["custom_fields"] = _custom_fields(
        session, "contact", data, errors, (current.custom_fields or {}) if current else {}
    )
    try:
        parsed = parse(schema, {k: v for k, v in {**fields, **extra}.items() if k not in errors})
    except FormInvalid as invalid:
        errors = {**invalid.errors, **errors}
    if errors:
        raise FormInvalid(errors, i18n.gettext(N_("Some fields need your attention.")))
    return parsed.model_copy(update=blanks)
