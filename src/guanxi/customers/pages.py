"""Pages for one customer: the customer 360 page (客户画像), the create and edit forms, consent
buttons, and the contacts of an organisation. Parsing lives in ``record_forms``; every write goes
through the customer, contact and consent services (which audit it)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.customers import (
    consent,
    contact_pages,
    contacts,
    custom_fields,
    extensions,
    record_forms,
    timeline,
)
from guanxi.customers import service as customer_service
from guanxi.customers.labels import CHOICE_LABELS
from guanxi.customers.models import Contact, Customer
from guanxi.customers.schemas import (
    CONSENT_PURPOSES,
    ConsentIn,
    ContactCreate,
    CustomerCreate,
    CustomerUpdate,
)
from guanxi.deps import DbSession, require
from guanxi.errors import N_, InvalidInput, NotFound
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

TIMELINE_PAGE = 20


# ---------------------------------------------------------------- create and edit


def _customer_form(
    request: Request,
    session: DbSession,
    actor: User,
    customer: Customer | None,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    definitions = custom_fields.definitions(session, "customer")
    current_owner = customer.owner_id if customer is not None else None
    return render(
        request,
        "customers/form.html",
        {
            **record_forms.label_context(),
            "customer": customer,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            "owners": record_forms.assignable_owners(session, actor, current_owner),
            "custom_inputs": record_forms.custom_field_inputs(definitions),
            "phone_rows": record_forms.form_rows(values, record_forms.PHONE_ROW),
            "email_rows": record_forms.form_rows(values, record_forms.EMAIL_ROW),
            "family_rows": record_forms.form_rows(values, record_forms.FAMILY_ROW),
            "id_number_masked": (
                customer_service.masked_id_number(customer) if customer is not None else None
            ),
        },
        status_code=422 if invalid else 200,
    )


@router.get("/customers/new", response_class=HTMLResponse)
def customer_new(
    request: Request, session: DbSession, actor: Annotated[User, require("customers", "create")]
) -> HTMLResponse:
    return _customer_form(request, session, actor, None, record_forms.new_customer_values(actor))


@router.post("/customers/new")
def customer_create(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("customers", "create")],
) -> Response:
    owners = record_forms.assignable_owners(session, actor, None)
    try:
        customer_in = record_forms.customer_in(session, CustomerCreate, data, owners=owners)
        with refusals(session):
            customer = customer_service.create(
                session=session, actor=actor, customer_in=customer_in
            )
    except FormInvalid as invalid:
        return _customer_form(request, session, actor, None, data, invalid)
    return redirect(
        request,
        f"/customers/{customer.id}",
        flash=N_("Customer {name} created."),
        name=customer.name,
    )


@router.get("/customers/{customer_id:int}/edit", response_class=HTMLResponse)
def customer_edit(
    customer_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "update")],
) -> HTMLResponse:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    return _customer_form(request, session, actor, customer, record_forms.customer_values(customer))


@router.post("/customers/{customer_id:int}/edit")
def customer_update(
    customer_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("customers", "update")],
) -> Response:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    values = dict(data)
    expected = record_forms.form_version(data)
    owners = record_forms.assignable_owners(session, actor, customer.owner_id)
    try:
        customer_in = record_forms.customer_in(
            session, CustomerUpdate, data, owners=owners, current=customer
        )
        with refusals(session):
            customer_service.update(
                session=session,
                actor=actor,
                customer=customer,
                customer_in=customer_in,
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _customer_form(request, session, actor, customer, values, invalid)
    return redirect(request, f"/customers/{customer_id}", flash=N_("Changes saved."))


@router.post("/customers/{customer_id:int}/delete")
def customer_delete(
    customer_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("customers", "delete")],
) -> Response:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    expected = record_forms.form_version(data)
    try:
        with refusals(session):
            customer_service.delete(
                session=session, actor=actor, customer=customer, expected_version=expected
            )
    except FormInvalid as invalid:
        return redirect(request, f"/customers/{customer_id}", flash=invalid.message or "")
    return redirect(
        request, "/customers", flash=N_("Customer {name} moved to the bin."), name=customer.name
    )


# ---------------------------------------------------------------- the 360 page


def _user_label(session: DbSession, user_id: int | None) -> str:
    if user_id is None:
        return ""
    try:
        return auth_service.get_user(session=session, user_id=user_id).label
    except NotFound:
        return str(user_id)


def _team_name(session: DbSession, team_id: int | None) -> str:
    if team_id is None:
        return ""
    try:
        return auth_service.get_team(session=session, team_id=team_id).name
    except NotFound:
        return str(team_id)


def _timeline_link(customer_id: int, kind: str, channel: str, cursor: str | None) -> str:
    query = {k: v for k, v in (("timeline", kind), ("channel", channel), ("before", cursor)) if v}
    suffix = f"?{urlencode(query)}" if query else ""
    return f"/customers/{customer_id}{suffix}#timeline"


def _timeline_filter(request: Request, actor: User) -> tuple[str, str]:
    """The kind and channel the timeline is filtered by; values the actor is not offered are
    ignored, and a channel only stays with a kind whose entries have channels."""
    kind = request.query_params.get("timeline", "")
    if kind not in dict(timeline.kinds(actor)):
        kind = ""
    channel = request.query_params.get("channel", "")
    if channel not in dict(timeline.channels(actor)) or (
        kind and channel not in timeline.channels_of(kind)
    ):
        channel = ""
    return kind, channel


def _detail_page(
    request: Request,
    session: DbSession,
    actor: User,
    customer: Customer,
    *,
    contact_values: dict[str, Any] | None = None,
    contact_invalid: FormInvalid | None = None,
) -> HTMLResponse:
    kind, channel = _timeline_filter(request, actor)
    page = timeline.stream(
        session,
        customer,
        actor=actor,
        kind=kind or None,
        channel=channel or None,
        cursor=request.query_params.get("before"),
        limit=TIMELINE_PAGE,
    )
    definitions = custom_fields.definitions(session, "customer", active_only=False)
    values = customer.custom_fields or {}
    shown_fields = [(d, values.get(d.key)) for d in definitions if d.active or d.key in values]
    organisation_contacts: list[Contact] = []
    if customer.is_organisation and actor.can("contacts", "read"):
        organisation_contacts = list(
            contacts.list_contacts(
                session=session, actor=actor, organisation_id=customer.id, limit=200
            ).items
        )
    return render(
        request,
        "customers/detail.html",
        {
            **record_forms.label_context(),
            "customer": customer,
            "owner_label": _user_label(session, customer.owner_id),
            "team_name": _team_name(session, customer.team_id),
            "id_number_masked": customer_service.masked_id_number(customer),
            "custom_values": shown_fields,
            "contacts": organisation_contacts,
            "contact_values": contact_values or {"purchase_role": "other"},
            "contact_errors": contact_invalid.errors if contact_invalid else {},
            "contact_message": contact_invalid.message if contact_invalid else None,
            "purposes": CONSENT_PURPOSES,
            "consent_state": consent.state(session=session, customer_id=customer.id),
            "consent_history": consent.history(session=session, customer_id=customer.id),
            "consent_sources": timeline.CONSENT_SOURCES,
            "panels": extensions.panels(session, actor, customer),
            "timeline": page.entries,
            "timeline_text": timeline.text,
            "timeline_kinds": timeline.kinds(actor),
            "timeline_kind": kind,
            "timeline_channels": timeline.channels(actor),
            "timeline_channel": channel,
            "timeline_older": (
                _timeline_link(customer.id, kind, channel, page.next_cursor)
                if page.next_cursor
                else None
            ),
            # choosing a kind keeps the channel if that kind has channels; choosing a channel
            # keeps the kind if it has that channel
            "timeline_link": lambda k: _timeline_link(
                customer.id, k, channel if channel in timeline.channels_of(k) else "", None
            ),
            "timeline_channel_link": lambda c: _timeline_link(
                customer.id, kind if not c or c in timeline.channels_of(kind) else "", c, None
            ),
        },
        status_code=422 if contact_invalid else 200,
    )


@router.get("/customers/{customer_id:int}", response_class=HTMLResponse)
def customer_detail(
    customer_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("customers", "read")],
) -> HTMLResponse:
    """Everything about one customer on one page: profile, contacts, consent, the timeline."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    return _detail_page(request, session, actor, customer)


@router.post("/customers/{customer_id:int}/consents")
def consent_record(
    customer_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("customers", "update")],
) -> Response:
    """One click: grant or withdraw one purpose, recorded in the ledger with who and when."""
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    purpose = str(data.get("purpose", ""))
    if purpose not in CONSENT_PURPOSES:
        raise InvalidInput(N_("Choose one of the offered values."))
    granted = data.get("granted") == "1"
    consent.record(
        session=session,
        actor=actor,
        customer=customer,
        consent_in=ConsentIn(purpose=purpose, granted=granted, source="staff"),
    )
    purpose_label = CHOICE_LABELS["consent_purpose"][purpose]
    return redirect(
        request,
        f"/customers/{customer_id}#consent",
        flash=N_("Consent granted: {purpose}") if granted else N_("Consent withdrawn: {purpose}"),
        purpose=i18n.gettext(purpose_label),
    )


# ---------------------------------------------------------------- contacts


@router.post("/customers/{customer_id:int}/contacts")
def contact_add(
    customer_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("contacts", "create")],
) -> Response:
    customer = customer_service.get(session=session, actor=actor, customer_id=customer_id)
    try:
        contact_in = record_forms.contact_in(
            session, ContactCreate, data, organisation_id=customer.id
        )
        with refusals(session):
            contact = contacts.create(session=session, actor=actor, contact_in=contact_in)
    except FormInvalid as invalid:
        return _detail_page(
            request, session, actor, customer, contact_values=data, contact_invalid=invalid
        )
    return redirect(
        request,
        f"/customers/{customer_id}#contacts",
        flash=N_("Contact {name} added."),
        name=contact.name,
    )


# edit and delete pages of a single contact
router.include_router(contact_pages.router)
