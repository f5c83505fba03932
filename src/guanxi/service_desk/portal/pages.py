"""The customer self-service portal (自助服务) at /portal, separate from the staff app: sign-in
with a one-time link, the customer's own profile (the fields an administrator allows), consents,
orders and contracts, tickets and pending surveys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.customers.labels import CHOICE_LABELS, FIELD_LABELS
from guanxi.customers.models import Customer
from guanxi.customers.schemas import CustomerUpdate
from guanxi.db import utcnow
from guanxi.deps import DbSession, client_address, public
from guanxi.errors import N_, InvalidInput
from guanxi.sales.labels import CONTRACT_STATUS_LABELS, ORDER_STATUS_LABELS
from guanxi.service_desk.models import PortalLoginLink
from guanxi.service_desk.portal import auth, service, ticket_pages
from guanxi.service_desk.portal.web import (
    LOGIN_PATH,
    PortalCustomer,
    PortalCustomerDep,
    PortalRoute,
    anonymous_csrf,
    render_portal,
    set_cookie,
)
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, service_error
from guanxi.web.templating import redirect

router = APIRouter(include_in_schema=False, route_class=PortalRoute, dependencies=[public])
HOME = "/portal"
# profile fields that are cleared to None rather than to an empty text
_NULLABLE = frozenset({"gender", "birthday", "preferred_channel"})
_LISTS = frozenset({"phones", "emails"})


# ---------------------------------------------------------------- signing in and out


@router.get("/portal/login", response_class=HTMLResponse)
def login_form(request: Request, session: DbSession) -> Response:
    if auth.resolve_session(session, token=request.cookies.get(auth.COOKIE, "")) is not None:
        return redirect(request, HOME)
    return render_portal(request, "portal/login.html", {"email": ""})


@router.post("/portal/login", dependencies=[Depends(anonymous_csrf)])
def login_submit(request: Request, session: DbSession, data: FormData) -> Response:
    """Ask for a sign-in link. Known address or not, the answer is the same redirect."""
    address = str(data.get("email", ""))
    try:
        auth.request_link(
            session,
            address=address,
            ip_address=client_address(request),
            locale=i18n.current_locale(),
        )
    except InvalidInput as exc:
        invalid = service_error(exc)
        return render_portal(
            request,
            "portal/login.html",
            {"email": address, "errors": invalid.errors},
            status_code=422,
        )
    return redirect(request, f"{LOGIN_PATH}/sent")


@router.get("/portal/login/sent", response_class=HTMLResponse)
def login_sent(request: Request) -> HTMLResponse:
    return render_portal(request, "portal/login_sent.html")


@router.get("/portal/login/{token}", response_class=HTMLResponse)
def login_link(request: Request, session: DbSession, token: str) -> HTMLResponse:
    """The link from the mail asks for one click before it is used: mail scanners that fetch
    every link in a message would otherwise use it up before the customer does."""
    if not _link_usable(session, token):
        raise auth.LinkNotValid(
            N_("This sign-in link has expired or was used already. Ask for a new one.")
        )
    return render_portal(request, "portal/login_confirm.html", {"token": token})


def _link_usable(session: Session, token: str) -> bool:
    found = session.scalar(
        select(PortalLoginLink.id).where(
            PortalLoginLink.token_hash == auth.digest(token),
            PortalLoginLink.used_at.is_(None),
            PortalLoginLink.expires_at > utcnow(),
        )
    )
    return found is not None


@router.post("/portal/login/{token}", dependencies=[Depends(anonymous_csrf)])
def login_redeem(request: Request, session: DbSession, token: str) -> Response:
    _, cookie_token = auth.redeem_link(session, token=token, ip_address=client_address(request))
    response = redirect(request, HOME)
    set_cookie(request, response, auth.COOKIE, cookie_token, max_age=auth.SESSION_HOURS * 3600)
    return response


@router.post("/portal/logout")
def logout(request: Request, session: DbSession, customer: PortalCustomerDep) -> Response:
    record = auth.resolve_session(session, token=request.cookies.get(auth.COOKIE, ""))
    if record is not None:
        auth.end_session(session, record=record)
    response = redirect(request, LOGIN_PATH, flash=N_("You are signed out."))
    response.delete_cookie(auth.COOKIE, path=auth.COOKIE_PATH)
    return response


# ---------------------------------------------------------------- home


@router.get("/portal", response_class=HTMLResponse)
def home(request: Request, session: DbSession, customer: PortalCustomerDep) -> HTMLResponse:
    record = service.customer(session, customer_id=customer.customer_id)
    return render_portal(request, "portal/home.html", {"record": record}, customer=customer)


# ---------------------------------------------------------------- profile


def _profile_values(record: Customer, fields: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in fields:
        if name == "phones":
            values[name] = [p.number for p in record.phones]
        elif name == "emails":
            values[name] = [e.address for e in record.emails]
        else:
            value = getattr(record, name)
            values[name] = "" if value is None else str(value)
    return values


def _profile_page(
    request: Request,
    session: Session,
    customer: PortalCustomer,
    *,
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    record = service.customer(session, customer_id=customer.customer_id)
    fields = service.editable_fields(session)
    return render_portal(
        request,
        "portal/profile.html",
        {
            "record": record,
            "fields": fields,
            "values": values or _profile_values(record, fields),
            "field_labels": FIELD_LABELS,
            "choice_labels": CHOICE_LABELS,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        customer=customer,
        status_code=422 if invalid else 200,
    )


@router.get("/portal/profile", response_class=HTMLResponse)
def profile(request: Request, session: DbSession, customer: PortalCustomerDep) -> HTMLResponse:
    return _profile_page(request, session, customer)


def _as_list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


@router.post("/portal/profile")
def profile_submit(
    request: Request, session: DbSession, customer: PortalCustomerDep, data: FormData
) -> Response:
    """Only the fields the administrator allows are read from the form; others are ignored."""
    fields = service.editable_fields(session)
    given: dict[str, Any] = {}
    cleared: dict[str, Any] = {}
    for name in fields:
        if name not in data:
            continue
        if name in _LISTS:
            given[name] = _as_list(data[name])
        elif str(data[name]).strip():
            given[name] = str(data[name]).strip()
        else:
            cleared[name] = None if name in _NULLABLE else ""
    values = {name: given.get(name, cleared.get(name, "")) for name in fields}
    try:
        customer_in = parse(CustomerUpdate, given).model_copy(update=cleared)
        service.update_profile(session, customer_id=customer.customer_id, customer_in=customer_in)
    except FormInvalid as invalid:
        session.rollback()
        return _profile_page(request, session, customer, values=values, invalid=invalid)
    return redirect(request, "/portal/profile", flash=N_("Your details were saved."))


# ---------------------------------------------------------------- consents


@router.get("/portal/consents", response_class=HTMLResponse)
def consents(request: Request, session: DbSession, customer: PortalCustomerDep) -> HTMLResponse:
    rows = service.consents(session, customer_id=customer.customer_id)
    return render_portal(
        request,
        "portal/consents.html",
        {"rows": rows, "purpose_labels": CHOICE_LABELS["consent_purpose"]},
        customer=customer,
    )


@router.post("/portal/consents")
def consent_submit(
    request: Request, session: DbSession, customer: PortalCustomerDep, data: FormData
) -> Response:
    granted = str(data.get("granted", "")) == "1"
    changed = service.set_consent(
        session,
        customer_id=customer.customer_id,
        purpose=str(data.get("purpose", "")),
        granted=granted,
    )
    if not changed:
        return redirect(request, "/portal/consents")
    message = N_("Your consent was recorded.") if granted else N_("Your consent was withdrawn.")
    return redirect(request, "/portal/consents", flash=message)


# ---------------------------------------------------------------- orders and contracts


@router.get("/portal/orders", response_class=HTMLResponse)
def orders(request: Request, session: DbSession, customer: PortalCustomerDep) -> HTMLResponse:
    return render_portal(
        request,
        "portal/orders.html",
        {
            "orders": service.orders(session, customer_id=customer.customer_id),
            "contracts": service.contracts(session, customer_id=customer.customer_id),
            "order_status_labels": ORDER_STATUS_LABELS,
            "contract_status_labels": CONTRACT_STATUS_LABELS,
        },
        customer=customer,
    )


# the requests and surveys pages, under the same prefix, errors and public declaration
router.include_router(ticket_pages.router)
