"""E-mail templates with the customer's fields: the records, and rendering in a sandbox.

Templates are rendered in Jinja's immutable sandbox with strict fields: a template may show the
documented fields (``TEMPLATE_FIELDS``) with conditions and a few filters, and anything else (an
unknown field, ``''.__class__``, a loop, a huge repetition) is a clear 422 naming the part, never
a 500. The plain sandbox does not stop a template from tying up the server (``'x'.ljust(10**9)``,
nested loops), so such constructs are refused when a template is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    nodes,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.concurrency import ensure_version
from guanxi.customers.models import Contact, Customer, CustomerEmail, CustomerPhone
from guanxi.errors import (
    N_,
    FieldError,
    InvalidInput,
    NotFound,
)
from guanxi.interactions.mail.schemas import (
    MailTemplateIn,
    MailTemplateUpdate,
)
from guanxi.interactions.models import MailTemplate

MAX_RENDERED_CHARS = 200_000

# The fields a template may use, shown on the template form. ``contact.*`` is the chosen
# contact, or the customer when none is chosen (so "Dear {{ contact.name }}" always reads).
CUSTOMER_FIELDS = (
    "name",
    "kind",
    "customer_type",
    "gender",
    "birthday",
    "occupation",
    "industry",
    "company",
    "region",
    "city",
    "district",
    "address",
    "postal_code",
    "preferred_contact_time",
    "source_channel",
    "value_tier",
    "lifecycle_stage",
)
TEMPLATE_FIELDS: tuple[str, ...] = (
    *(f"customer.{name}" for name in CUSTOMER_FIELDS),
    "customer.email",
    "customer.phone",
    "customer.custom_fields",
    "contact.name",
    "contact.title",
    "contact.email",
    "user.label",
    "user.email",
)


# ---------------------------------------------------------------- templates in a sandbox


class _Fields(dict[str, Any]):
    """A group of template fields (``customer``, ``contact``, ``user``) that knows its name, so
    an unknown field is reported as ``customer.nickname``."""

    def __init__(self, group: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self._group = group


class _CustomFields(dict[str, Any]):
    """A customer's custom fields (``customer.custom_fields.<key>``): a key this customer has no
    value for reads as empty, since custom fields are optional."""

    def __missing__(self, key: str) -> str:
        return ""


class _UnknownField(StrictUndefined):
    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        owner = self._undefined_obj
        if isinstance(owner, _Fields):
            return f"{owner._group}.{self._undefined_name}"
        return str(self._undefined_name)


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox narrowed to what a letter needs: fields, conditions and a few
    filters. Loops, calls (``'x'.ljust(10**9)``), assignments, macros and includes are refused
    when the template is read, and so are large repetitions and powers, so the work a template
    can cause grows only with its length and never eats the memory or the CPU."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("powers are not allowed")
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_RENDERED_CHARS:
                raise SecurityError("the repetition is too large")
        return super().call_binop(context, operator, left, right)


# filters whose output is never much longer than their input
SAFE_FILTERS = (
    "capitalize",
    "d",
    "default",
    "first",
    "last",
    "length",
    "lower",
    "string",
    "title",
    "trim",
    "truncate",
    "upper",
)
_FORBIDDEN_NODES = (
    nodes.For,
    nodes.Call,
    nodes.Macro,
    nodes.CallBlock,
    nodes.FilterBlock,
    nodes.Assign,
    nodes.AssignBlock,
    nodes.With,
    nodes.Block,
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
)
_SANDBOX = _Sandbox(undefined=_UnknownField, autoescape=False, keep_trailing_newline=True)
_SANDBOX.filters = {name: _SANDBOX.filters[name] for name in SAFE_FILTERS}
_SANDBOX.tests = {name: _SANDBOX.tests[name] for name in ("defined", "undefined", "none")}
_SANDBOX.globals = {}


def _compile(source: str) -> Template:
    """The template, refused (SecurityError) when it holds a loop, call or assignment."""
    tree = _SANDBOX.parse(source)
    for node in tree.find_all(_FORBIDDEN_NODES):
        raise SecurityError(
            f"line {node.lineno}: loops, calls and assignments are not allowed in templates"
        )
    return _SANDBOX.from_string(tree)


def render_text(source: str, fields: Mapping[str, Any], *, part: str) -> str:
    """``source`` rendered with ``fields``; InvalidInput naming ``part`` when it cannot be."""
    try:
        rendered = _compile(source).render(fields)
    except TemplateSyntaxError as exc:
        raise InvalidInput(
            N_("The {part} is not a valid template (line {line}): {problem}"),
            errors=[
                FieldError(
                    part, N_("Check the template's tags: each opening mark needs its closing one.")
                )
            ],
            part=part,
            line=exc.lineno,
            problem=exc.message or "",
        ) from exc
    except SecurityError as exc:
        raise InvalidInput(
            N_("The {part} uses code that templates may not run: {problem}"),
            errors=[
                FieldError(
                    part, N_("A template may only show fields, with conditions and filters.")
                )
            ],
            part=part,
            problem=str(exc),
        ) from exc
    except UndefinedError as exc:
        raise InvalidInput(
            N_("The {part} uses {name}, which is not one of the template fields."),
            errors=[FieldError(part, N_("Use only the fields listed with the template."))],
            part=part,
            name=str(exc),
        ) from exc
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise InvalidInput(
            N_("The {part} could not be rendered: {problem}"),
            errors=[
                FieldError(
                    part, N_("A template may only show fields, with conditions and filters.")
                )
            ],
            part=part,
            problem=str(exc),
        ) from exc
    if len(rendered) > MAX_RENDERED_CHARS:
        raise InvalidInput(
            N_("The {part} is too long once rendered."),
            errors=[FieldError(part, N_("Must be at most {max_length} characters."))],
            part=part,
        )
    return rendered


def template_fields(
    session: Session,
    *,
    customer: Customer,
    contact: Contact | None,
    user: User,
) -> dict[str, Any]:
    """The values of ``TEMPLATE_FIELDS`` for one customer (dates as ISO text)."""
    values: dict[str, Any] = {}
    for name in CUSTOMER_FIELDS:
        value = getattr(customer, name)
        values[name] = value.isoformat() if hasattr(value, "isoformat") else (value or "")
    values["email"] = primary_email(session, customer.id) or ""
    phone = session.scalar(
        select(CustomerPhone.number)
        .where(CustomerPhone.customer_id == customer.id)
        .order_by(CustomerPhone.position, CustomerPhone.id)
        .limit(1)
    )
    values["phone"] = phone or ""
    values["custom_fields"] = _CustomFields(customer.custom_fields or {})
    contact_values = (
        {"name": contact.name, "title": contact.title, "email": contact.email}
        if contact is not None
        else {"name": customer.name, "title": "", "email": values["email"]}
    )
    return {
        "customer": _Fields("customer", values),
        "contact": _Fields("contact", contact_values),
        "user": _Fields("user", {"label": user.label, "email": user.email}),
    }


def _sample_fields() -> dict[str, Any]:
    """Every field with a placeholder value: a template that renders with these uses no
    unknown field."""
    customer: dict[str, Any] = {name: "x" for name in CUSTOMER_FIELDS}
    customer |= {"email": "x@example.com", "phone": "x", "custom_fields": _CustomFields()}
    return {
        "customer": _Fields("customer", customer),
        "contact": _Fields("contact", {"name": "x", "title": "x", "email": "x@example.com"}),
        "user": _Fields("user", {"label": "x", "email": "x@example.com"}),
    }


def check_template(*, subject: str, body: str) -> None:
    """Refuse a template that does not parse, uses unknown fields or unsafe code."""
    fields = _sample_fields()
    render_text(subject, fields, part="subject")
    render_text(body, fields, part="body")


# ---------------------------------------------------------------- template records


def list_templates(session: Session, *, active_only: bool = False) -> list[MailTemplate]:
    stmt = select(MailTemplate).order_by(MailTemplate.name, MailTemplate.id)
    if active_only:
        stmt = stmt.where(MailTemplate.is_active.is_(True))
    return list(session.scalars(stmt))


def get_template(session: Session, *, template_id: int) -> MailTemplate:
    template = session.get(MailTemplate, template_id)
    if template is None:
        raise NotFound(N_("Record {id} was not found."), id=template_id)
    return template


def create_template(session: Session, *, template_in: MailTemplateIn) -> MailTemplate:
    _check_name(session, name=template_in.name.strip(), template_id=None)
    check_template(subject=template_in.subject, body=template_in.body)
    template = MailTemplate(
        name=template_in.name.strip(),
        subject=template_in.subject,
        body=template_in.body,
        is_active=template_in.is_active,
    )
    session.add(template)
    session.flush()
    return template


def update_template(
    session: Session,
    *,
    template: MailTemplate,
    changes: MailTemplateUpdate,
    expected_version: int | None = None,
) -> MailTemplate:
    ensure_version(template.version, expected_version)
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in values:
        values["name"] = values["name"].strip()
        _check_name(session, name=values["name"], template_id=template.id)
    check_template(
        subject=values.get("subject", template.subject), body=values.get("body", template.body)
    )
    for name, value in values.items():
        setattr(template, name, value)
    session.flush()
    return template


def delete_template(session: Session, *, template: MailTemplate) -> None:
    session.delete(template)
    session.flush()


def _check_name(session: Session, *, name: str, template_id: int | None) -> None:
    taken = session.scalar(
        select(MailTemplate.id).where(
            MailTemplate.name == name, MailTemplate.id != (template_id or 0)
        )
    )
    if taken is not None:
        raise InvalidInput(
            N_("The template could not be saved."),
            errors=[FieldError("name", N_("Another template has this name."))],
        )


def primary_email(session: Session, customer_id: int) -> str | None:
    """The customer's first e-mail address, if any."""
    return session.scalar(
        select(CustomerEmail.address)
        .where(CustomerEmail.customer_id == customer_id)
        .order_by(CustomerEmail.position, CustomerEmail.id)
        .limit(1)
    )
