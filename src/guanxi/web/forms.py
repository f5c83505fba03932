"""HTML forms: parse a posted form into an API schema and turn any error into inline messages.

Forms use the same Pydantic schemas and services as the API, so a page and a script are refused
for the same reasons; only the wording is translated here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from guanxi.deps import CSRF_FIELD
from guanxi.errors import N_, GuanxiError
from guanxi.web import i18n

SchemaT = TypeVar("SchemaT", bound=BaseModel)

# Pydantic error types -> messages people can act on, translated through the catalog.
_MESSAGES = {
    "missing": N_("This field is required."),
    "string_too_short": N_("Must be at least {min_length} characters."),
    "string_too_long": N_("Must be at most {max_length} characters."),
    "int_parsing": N_("Must be a whole number."),
    "int_type": N_("Must be a whole number."),
    "bool_parsing": N_("Must be yes or no."),
    "literal_error": N_("Choose one of the offered values."),
    "greater_than_equal": N_("Must be at least {ge}."),
    "less_than_equal": N_("Must be at most {le}."),
}
_FALLBACK = N_("This value is not valid.")


class FormInvalid(Exception):
    """A posted form was refused; ``errors`` maps field names to translated messages."""

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or "form invalid")
        self.errors = errors
        self.message = message


async def posted(request: Request) -> dict[str, Any]:
    """The submitted fields (without the CSRF token); repeated fields become lists.

    A dependency, so that page handlers can stay synchronous: they run in the thread pool and
    their database work (and argon2 checks) never blocks the event loop.
    """
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        if key == CSRF_FIELD:
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        data[key] = values if len(values) > 1 else (values[0] if values else "")
    return data


FormData = Annotated[dict[str, Any], Depends(posted)]


def local_input(moment: datetime | None, zone: ZoneInfo) -> str:
    """A stored time as a ``datetime-local`` field shows it, in the user's zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if moment else ""


def parse(schema: type[SchemaT], data: dict[str, Any]) -> SchemaT:
    """Validate form data with an API schema; empty optional fields count as not given."""
    cleaned = {k: v for k, v in data.items() if v != ""}
    try:
        return schema.model_validate(cleaned)
    except ValidationError as exc:
        raise FormInvalid(_validation_messages(exc)) from exc


def _validation_messages(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "__all__"
        if error["type"] == "value_error":
            # our own validators word their messages for people and mark them for translation
            message = i18n.gettext(str(error["ctx"].get("error", error["msg"])))
        else:
            template = _MESSAGES.get(error["type"], _FALLBACK)
            message = i18n.translate_template(template, dict(error.get("ctx") or {}))
        errors.setdefault(field, message)
    return errors


def service_error(exc: GuanxiError) -> FormInvalid:
    """A service refusal (taken name, stale version...) as messages for the form."""
    errors = {e.field.split(".")[-1]: i18n.translate_template(e.message, {}) for e in exc.errors}
    return FormInvalid(errors, i18n.translate_template(exc.template, dict(exc.params)))


@contextmanager
def refusals(session: Session) -> Iterator[None]:
    """Turn a service's refusal into ``FormInvalid``, undoing anything it had already changed."""
    try:
        yield
    except GuanxiError as exc:
        session.rollback()
        raise service_error(exc) from exc
