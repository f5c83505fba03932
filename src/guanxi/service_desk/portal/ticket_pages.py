"""The portal's requests (tickets) and surveys: the customer's own tickets, opening one, the
conversation with the desk and replying to it, and the surveys still waiting for an answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from guanxi.deps import DbSession, SettingsDep
from guanxi.errors import N_, GuanxiError
from guanxi.service_desk.labels import KIND_LABELS, STATUS_LABELS
from guanxi.service_desk.portal import service
from guanxi.service_desk.portal.web import PortalCustomerDep, PortalRoute, render_portal
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, service_error
from guanxi.web.templating import redirect

router = APIRouter(include_in_schema=False, route_class=PortalRoute)
LABELS = {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS}


@router.get("/portal/tickets", response_class=HTMLResponse)
def tickets(request: Request, session: DbSession, customer: PortalCustomerDep) -> HTMLResponse:
    rows = service.tickets(session, customer_id=customer.customer_id)
    return render_portal(
        request, "portal/tickets.html", {"tickets": rows, **LABELS}, customer=customer
    )


def _new_page(
    request: Request,
    customer: PortalCustomerDep,
    values: dict[str, str] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    return render_portal(
        request,
        "portal/ticket_new.html",
        {
            "values": values or {"kind": "inquiry"},
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            **LABELS,
        },
        customer=customer,
        status_code=422 if invalid else 200,
    )


@router.get("/portal/tickets/new", response_class=HTMLResponse)
def new_ticket(request: Request, customer: PortalCustomerDep) -> HTMLResponse:
    return _new_page(request, customer)


@router.post("/portal/tickets/new")
def open_ticket(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    customer: PortalCustomerDep,
    data: FormData,
) -> Response:
    values = {k: str(data.get(k, "")) for k in ("kind", "subject", "description")}
    try:
        ticket_in = parse(service.PortalTicketIn, values)
        ticket = service.open_ticket(
            session,
            customer_id=customer.customer_id,
            ticket_in=ticket_in,
            language="zh" if i18n.current_locale() == "zh_CN" else "en",
            settings=settings,
        )
    except FormInvalid as invalid:
        return _new_page(request, customer, values, invalid)
    return redirect(
        request,
        f"/portal/tickets/{ticket.id}",
        flash=N_("Your request #{number} was received."),
        number=ticket.id,
    )


def _ticket_page(
    request: Request,
    session: DbSession,
    customer: PortalCustomerDep,
    ticket_id: int,
    *,
    body: str = "",
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    ticket = service.ticket(session, customer_id=customer.customer_id, ticket_id=ticket_id)
    return render_portal(
        request,
        "portal/ticket.html",
        {
            "ticket": ticket,
            "messages": service.conversation(session, ticket=ticket),
            "body": body,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
            **LABELS,
        },
        customer=customer,
        status_code=invalid_status(invalid),
    )


def invalid_status(invalid: FormInvalid | None) -> int:
    if invalid is None:
        return 200
    return 409 if invalid.errors == {} else 422


@router.get("/portal/tickets/{ticket_id:int}", response_class=HTMLResponse)
def ticket(
    request: Request, session: DbSession, customer: PortalCustomerDep, ticket_id: int
) -> HTMLResponse:
    return _ticket_page(request, session, customer, ticket_id)


@router.post("/portal/tickets/{ticket_id:int}/reply")
def reply(
    request: Request,
    session: DbSession,
    customer: PortalCustomerDep,
    ticket_id: int,
    data: FormData,
) -> Response:
    body = str(data.get("body", ""))
    try:
        service.reply(session, customer_id=customer.customer_id, ticket_id=ticket_id, body=body)
    except GuanxiError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _ticket_page(
            request, session, customer, ticket_id, body=body, invalid=service_error(exc)
        )
    return redirect(request, f"/portal/tickets/{ticket_id}", flash=N_("Your message was sent."))


@router.get("/portal/surveys", response_class=HTMLResponse)
def surveys(
    request: Request, session: DbSession, settings: SettingsDep, customer: PortalCustomerDep
) -> HTMLResponse:
    pending = service.pending_surveys(session, customer_id=customer.customer_id, settings=settings)
    return render_portal(
        request, "portal/surveys.html", {"pending": pending, **LABELS}, customer=customer
    )
