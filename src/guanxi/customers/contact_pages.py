"""Pages for one contact (联系人) of an organisation: the edit form and deletion. Contacts are
added on the organisation's 360 page (``pages.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from guanxi.auth.models import User
from guanxi.customers import contacts, custom_fields, record_forms
from guanxi.customers.models import Contact
from guanxi.customers.schemas import ContactUpdate
from guanxi.deps import DbSession, require
from guanxi.errors import N_
from guanxi.web.forms import FormData, FormInvalid, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)


def _contact_form(
    request: Request,
    session: Session,
    contact: Contact,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "customers/contact_form.html",
        {
            **record_forms.label_context(),
            "contact": contact,
            "organisation": contact.organisation,
            "custom_inputs": record_forms.custom_field_inputs(
                custom_fields.definitions(session, "contact")
            ),
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/contacts/{contact_id:int}/edit", response_class=HTMLResponse)
def contact_edit(
    contact_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("contacts", "read")],
) -> HTMLResponse:
    contact = contacts.get(session=session, actor=actor, contact_id=contact_id)
    return _contact_form(request, session, contact, record_forms.contact_values(contact))


@router.post("/contacts/{contact_id:int}/edit")
def contact_update(
    contact_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("contacts", "update")],
) -> Response:
    contact = contacts.get(session=session, actor=actor, contact_id=contact_id)
    values = dict(data)
    expected = record_forms.form_version(data)
    try:
        contact_in = record_forms.contact_in(session, ContactUpdate, data, current=contact)
        with refusals(session):
            contacts.update(
                session=session, contact=contact, contact_in=contact_in, expected_version=expected
            )
    except FormInvalid as invalid:
        return _contact_form(request, session, contact, values, invalid)
    return redirect(
        request, f"/customers/{contact.organisation_id}#contacts", flash=N_("Changes saved.")
    )


@router.post("/contacts/{contact_id:int}/delete")
def contact_delete(
    contact_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("contacts", "delete")],
) -> Response:
    contact = contacts.get(session=session, actor=actor, contact_id=contact_id)
    organisation_id, name = contact.organisation_id, contact.name
    expected = record_forms.form_version(data)
    try:
        with refusals(session):
            contacts.delete(session=session, contact=contact, expected_version=expected)
    except FormInvalid as invalid:
        return redirect(request, f"/contacts/{contact_id}/edit", flash=invalid.message or "")
    return redirect(
        request,
        f"/customers/{organisation_id}#contacts",
        flash=N_("Contact {name} deleted."),
        name=name,
    )
