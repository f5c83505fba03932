"""Administration pages for the customer database's classification and fields: tags and tag
categories (客户分类与标签), and custom field definitions.

Each page holds several small forms; a refused form is shown again with its values and inline
errors, marked by ``failed`` so the other forms on the page stay as they were.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import custom_fields, tags
from guanxi.customers.labels import CHOICE_LABELS
from guanxi.customers.schemas import CustomFieldIn, TagCategoryIn, TagIn
from guanxi.deps import DbSession, require
from guanxi.errors import N_
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

ENTITY_LABELS = {"customer": N_("Customers"), "contact": N_("Contacts")}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _version(data: dict[str, Any]) -> int | None:
    value = data.pop("version", "")
    return int(value) if str(value).isdigit() else None


def _ticked(data: dict[str, Any], *names: str) -> None:
    # an unticked checkbox posts nothing: absence means "no"
    for name in names:
        data[name] = data.get(name) == "on"


def _none_if_empty(data: dict[str, Any], name: str) -> None:
    if data.get(name, "") == "":
        data[name] = None


# ---------------------------------------------------------------- tags and categories


def _tags_page(
    request: Request,
    session: Session,
    *,
    failed: str | None = None,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    tag_rows = tags.list_tags(session=session, with_counts=True)
    categories = tags.list_categories(session=session)
    in_category: dict[int, int] = {}
    for tag, _count in tag_rows:
        if tag.category_id is not None:
            in_category[tag.category_id] = in_category.get(tag.category_id, 0) + 1
    return render(
        request,
        "customers/admin_tags.html",
        {
            "tag_rows": tag_rows,
            "categories": categories,
            "in_category": in_category,
            "failed": failed,
            "values": values or {},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/tags", response_class=HTMLResponse)
def tags_admin(
    request: Request, session: DbSession, _: Annotated[User, require("tags", "manage")]
) -> HTMLResponse:
    return _tags_page(request, session)


@router.post("/admin/tags")
def tag_create(
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("tags", "create")],
) -> Response:
    values = dict(data)
    _none_if_empty(data, "category_id")
    try:
        tag_in = parse(TagIn, data)
        with refusals(session):
            tag = tags.create_tag(session=session, tag_in=tag_in)
    except FormInvalid as invalid:
        return _tags_page(request, session, failed="new-tag", values=values, invalid=invalid)
    return redirect(request, "/admin/tags", flash=N_("Tag {name} created."), name=tag.name)


@router.post("/admin/tags/{tag_id:int}")
def tag_update(
    tag_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("tags", "update")],
) -> Response:
    """Rename a tag or move it into (or out of) a category."""
    tag = tags.get_tag(session=session, tag_id=tag_id)
    values = dict(data)
    _none_if_empty(data, "category_id")
    data.setdefault("color", tag.color)  # the page does not edit colours; keep the one set
    try:
        tag_in = parse(TagIn, data)
        with refusals(session):
            tags.update_tag(session=session, tag=tag, tag_in=tag_in)
    except FormInvalid as invalid:
        return _tags_page(request, session, failed=f"tag-{tag_id}", values=values, invalid=invalid)
    return redirect(request, "/admin/tags", flash=N_("Changes saved."))


@router.post("/admin/tags/{tag_id:int}/delete")
def tag_delete(
    tag_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("tags", "delete")],
) -> Response:
    tag = tags.get_tag(session=session, tag_id=tag_id)
    name = tag.name
    tags.delete_tag(session=session, tag=tag)
    return redirect(request, "/admin/tags", flash=N_("Tag {name} deleted."), name=name)


@router.post("/admin/tag-categories")
def category_create(
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("tags", "manage")],
) -> Response:
    values = dict(data)
    _ticked(data, "exclusive")
    try:
        category_in = parse(TagCategoryIn, data)
        with refusals(session):
            category = tags.create_category(session=session, category_in=category_in)
    except FormInvalid as invalid:
        return _tags_page(request, session, failed="new-category", values=values, invalid=invalid)
    return redirect(
        request, "/admin/tags", flash=N_("Category {name} created."), name=category.name
    )


@router.post("/admin/tag-categories/{category_id:int}")
def category_update(
    category_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("tags", "manage")],
) -> Response:
    category = tags.get_category(session=session, category_id=category_id)
    values = dict(data)
    expected = _version(data)
    _ticked(data, "exclusive")
    try:
        category_in = parse(TagCategoryIn, data)
        with refusals(session):
            tags.update_category(
                session=session,
                category=category,
                category_in=category_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _tags_page(
            request, session, failed=f"category-{category_id}", values=values, invalid=invalid
        )
    return redirect(request, "/admin/tags", flash=N_("Changes saved."))


@router.post("/admin/tag-categories/{category_id:int}/delete")
def category_delete(
    category_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("tags", "manage")],
) -> Response:
    """Delete a category; its tags stay, as free tags."""
    category = tags.get_category(session=session, category_id=category_id)
    name = category.name
    tags.delete_category(session=session, category=category)
    return redirect(request, "/admin/tags", flash=N_("Category {name} deleted."), name=name)


# ---------------------------------------------------------------- custom fields


def _fields_page(
    request: Request,
    session: Session,
    *,
    failed: str | None = None,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "customers/admin_custom_fields.html",
        {
            "definitions": {
                entity: custom_fields.definitions(session, entity, active_only=False)
                for entity in ENTITY_LABELS
            },
            "entity_labels": ENTITY_LABELS,
            "type_labels": CHOICE_LABELS["field_type"],
            "failed": failed,
            "values": values or {},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


def _choices(data: dict[str, Any]) -> None:
    # one choice per line in the form, a list in the schema
    text = str(data.get("choices", ""))
    data["choices"] = list(dict.fromkeys(c.strip() for c in text.splitlines() if c.strip()))


def _explain_key(invalid: FormInvalid, key: Any) -> FormInvalid:
    """The schema's pattern error, in words that say what a key may hold."""
    if "key" in invalid.errors and key and not _KEY.match(str(key)):
        invalid.errors["key"] = i18n.gettext(
            N_("Use lower-case letters, digits and _ (at most 40), starting with a letter.")
        )
    return invalid


@router.get("/admin/custom-fields", response_class=HTMLResponse)
def custom_fields_admin(
    request: Request, session: DbSession, _: Annotated[User, require("settings", "manage")]
) -> HTMLResponse:
    return _fields_page(request, session)


@router.post("/admin/custom-fields")
def custom_field_create(
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("settings", "manage")],
) -> Response:
    values = dict(data)
    _ticked(data, "required")
    _choices(data)
    try:
        field_in = parse(CustomFieldIn, data)
        with refusals(session):
            definition = custom_fields.create(session=session, field_in=field_in)
    except FormInvalid as invalid:
        return _fields_page(
            request,
            session,
            failed="new-field",
            values=values,
            invalid=_explain_key(invalid, data.get("key")),
        )
    return redirect(
        request, "/admin/custom-fields", flash=N_("Field {label} created."), label=definition.label
    )


@router.post("/admin/custom-fields/{definition_id:int}")
def custom_field_update(
    definition_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("settings", "manage")],
) -> Response:
    """Change a field's label, choices, whether it is required or in use; its key, entity and
    type stay (stored values depend on them)."""
    definition = custom_fields.get(session=session, definition_id=definition_id)
    values = dict(data)
    expected = _version(data)
    _ticked(data, "required", "active")
    _choices(data)
    data.update(
        entity=definition.entity,
        key=definition.key,
        field_type=definition.field_type,
        position=definition.position,
    )
    try:
        field_in = parse(CustomFieldIn, data)
        with refusals(session):
            custom_fields.update(
                session=session,
                definition=definition,
                field_in=field_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _fields_page(
            request, session, failed=f"field-{definition_id}", values=values, invalid=invalid
        )
    return redirect(request, "/admin/custom-fields", flash=N_("Changes saved."))
