"""Administration pages for roles: the permission matrix and how far a role sees records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth import service as auth_service
from guanxi.auth.admin_pages import form_version
from guanxi.auth.models import Role, User
from guanxi.auth.permissions import ACTIONS, ADMIN_ROLE, RECORD_SCOPES, RESOURCES
from guanxi.auth.schemas import RoleCreate, RoleUpdate, role_read
from guanxi.deps import DbSession, require
from guanxi.errors import N_
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def _grants_from_form(data: dict[str, Any]) -> tuple[dict[str, list[str]], set[str]]:
    """The ticked ``resource:action`` boxes, as permissions and as the set the form re-shows."""
    raw = data.pop("grant", [])
    checked = {raw} if isinstance(raw, str) else set(raw)
    permissions: dict[str, list[str]] = {}
    for item in sorted(checked):
        resource, _, action = item.partition(":")
        permissions.setdefault(resource, []).append(action)
    return permissions, checked


def _role_form(
    request: Request,
    role: Role | None,
    values: dict[str, Any] | None = None,
    grants: set[str] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    if role is not None and values is None:
        values = {
            "label": role.label,
            "description": role.description,
            "record_scope": role.record_scope,
            "version": role.version,
        }
    if role is not None and grants is None:
        grants = {f"{resource}:{action}" for resource, action in role.grants()}
    return render(
        request,
        "auth/role_form.html",
        {
            "role": role,
            "values": values or {"record_scope": "own"},
            "grants": grants or set(),
            "resources": RESOURCES,
            "actions": ACTIONS,
            "scopes": RECORD_SCOPES,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/admin/roles", response_class=HTMLResponse)
def roles_list(
    request: Request, session: DbSession, _: Annotated[User, require("roles", "read")]
) -> HTMLResponse:
    roles = [role_read(r) for r in auth_service.list_roles(session=session)]
    return render(request, "auth/roles.html", {"roles": roles})


@router.get("/admin/roles/new", response_class=HTMLResponse)
def role_new(request: Request, _: Annotated[User, require("roles", "create")]) -> HTMLResponse:
    return _role_form(request, None)


@router.post("/admin/roles")
def role_create(
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("roles", "create")],
) -> Response:
    permissions, checked = _grants_from_form(data)
    try:
        role_in = parse(RoleCreate, {**data, "permissions": permissions})
        with refusals(session):
            role = auth_service.create_role(session=session, role_in=role_in)
    except FormInvalid as invalid:
        return _role_form(request, None, data, checked, invalid)
    return redirect(
        request, f"/admin/roles/{role.id}", flash=N_("Role {name} created."), name=role.name
    )


@router.get("/admin/roles/{role_id}", response_class=HTMLResponse)
def role_edit(
    role_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("roles", "read")],
) -> HTMLResponse:
    return _role_form(request, auth_service.get_role(session=session, role_id=role_id))


@router.post("/admin/roles/{role_id}")
def role_update(
    role_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    _: Annotated[User, require("roles", "update")],
) -> Response:
    role = auth_service.get_role(session=session, role_id=role_id)
    permissions, checked = _grants_from_form(data)
    values = dict(data)
    expected = form_version(data)
    # the admin role's form offers no permission boxes: its grants are fixed
    changes = data if role.name == ADMIN_ROLE else {**data, "permissions": permissions}
    try:
        role_in = parse(RoleUpdate, changes)
        with refusals(session):
            auth_service.update_role(
                session=session, role=role, role_in=role_in, expected_version=expected
            )
    except FormInvalid as invalid:
        return _role_form(request, role, values, checked, invalid)
    return redirect(request, f"/admin/roles/{role_id}", flash=N_("Changes saved."))


@router.post("/admin/roles/{role_id}/delete")
def role_delete(
    role_id: int,
    request: Request,
    session: DbSession,
    _: Annotated[User, require("roles", "delete")],
) -> Response:
    role = auth_service.get_role(session=session, role_id=role_id)
    try:
        with refusals(session):
            auth_service.delete_role(session=session, role=role)
    except FormInvalid as invalid:
        return _role_form(request, role, invalid=invalid)
    return redirect(request, "/admin/roles", flash=N_("Role deleted."))
