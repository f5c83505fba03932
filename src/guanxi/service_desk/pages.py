"""The service desk's staff pages: the queue (the service area's home), opening a ticket, and a
ticket's record with its actions, messages, attachments and history. Every read and write goes
through the ticket service (visibility, the status flow, the SLA clock); the caller lookup has
its own module, ``lookup_pages``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy import select

from guanxi.analytics.lifecycle import STAGES
from guanxi.analytics.tiers import TIERS
from guanxi.auth.models import User
from guanxi.customers import service as customer_service
from guanxi.customers.models import Customer
from guanxi.db import utcnow
from guanxi.deps import DbSession, SettingsDep, require
from guanxi.errors import N_, NotFound
from guanxi.sales import owned_items
from guanxi.sales.models import OwnedItem
from guanxi.service_desk import attachments, lookup_pages, service, worklists
from guanxi.service_desk.labels import (
    CHANNEL_LABELS,
    FIELD_LABELS,
    KIND_LABELS,
    PRIORITY_LABELS,
    STATUS_LABELS,
)
from guanxi.service_desk.lookup import user_labels
from guanxi.service_desk.models import ServiceQueue, ServiceStation, Ticket
from guanxi.service_desk.schemas import (
    ChangeRead,
    MergeIn,
    NoteIn,
    ReplyIn,
    TicketCreate,
    TicketUpdate,
)
from guanxi.web import i18n
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
LABELS = {
    "kind_labels": KIND_LABELS,
    "status_labels": STATUS_LABELS,
    "priority_labels": PRIORITY_LABELS,
    "channel_labels": CHANNEL_LABELS,
    "field_labels": FIELD_LABELS,
    "tier_labels": TIERS,
    "stage_labels": STAGES,
}
# the ticket fields the "change" form edits; a blank choice empties queue, assignee, station
EDITABLE = ("priority", "category", "root_cause", "queue_id", "assignee_id", "station_id")
CLEARABLE = ("queue_id", "assignee_id", "station_id", "category", "root_cause")


def _queues(session: DbSession) -> list[ServiceQueue]:
    stmt = select(ServiceQueue).where(ServiceQueue.is_active.is_(True))
    return list(session.scalars(stmt.order_by(ServiceQueue.name)))


def _agents(session: DbSession) -> list[User]:
    """Active people who may work on tickets: whom a ticket can be assigned to."""
    users = session.scalars(select(User).where(User.is_active.is_(True)))
    return sorted((u for u in users if u.can("tickets", "update")), key=lambda u: u.label.lower())


def _stations(session: DbSession) -> list[ServiceStation]:
    stmt = select(ServiceStation).where(ServiceStation.is_active.is_(True))
    return list(session.scalars(stmt.order_by(ServiceStation.name)))


# ---------------------------------------------------------------- the queue


@router.get("/service", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("tickets", "read")],
) -> HTMLResponse:
    """Filters live in the URL: ``/service?view=queues&priority=urgent&due=breached``."""
    params = request.query_params
    spec = worklists.filter_from_query(params)
    message = None
    tickets: list[Ticket] = []
    next_url = None
    try:
        with refusals(session):
            page = worklists.list_queue(
                session=session,
                actor=actor,
                spec=spec,
                limit=PAGE_SIZE,
                cursor=params.get("cursor") or None,
            )
    except FormInvalid as invalid:
        message = invalid.message
    else:
        tickets = list(page.items)
        if page.next_cursor:
            next_url = "/service?" + urlencode([*_kept(params), ("cursor", page.next_cursor)])
    # the columns the list shows: a whole customer would load their phones, e-mails and tags
    customers = {
        c.id: c
        for c in session.execute(
            select(Customer.id, Customer.name, Customer.value_tier).where(
                Customer.id.in_({t.customer_id for t in tickets})
            )
        )
    }
    queues = _queues(session)
    kept = _kept(params)
    return render(
        request,
        "service_desk/queue.html",
        {
            **LABELS,
            "tickets": tickets,
            "customers": customers,
            "people": user_labels(session, {t.assignee_id for t in tickets if t.assignee_id}),
            "queue_names": {q.id: q.name for q in queues},
            "queues": queues,
            "spec": spec,
            "views": {
                "mine": N_("My tickets"),
                "queues": N_("My queues"),
                "unassigned": N_("Unassigned"),
                "all": N_("All I can see"),
            },
            "view_urls": {
                v: "/service?" + urlencode([*[(k, x) for k, x in kept if k != "view"], ("view", v)])
                for v in worklists.VIEWS
            },
            "sort_urls": {
                s: "/service?" + urlencode([*[(k, x) for k, x in kept if k != "sort"], ("sort", s)])
                for s in worklists.SORTS
            },
            "now": utcnow(),
            "overdue": worklists.is_overdue,
            "next_url": next_url,
            "first_url": "/service?" + urlencode(kept) if params.get("cursor") else None,
            "filtered": any(k not in ("view", "sort") for k, _ in kept),
            "message": message,
        },
        status_code=400 if message else 200,
    )


def _kept(params: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in params.multi_items() if k != "cursor" and v]


# ---------------------------------------------------------------- opening a ticket


def _new_form(
    request: Request,
    session: DbSession,
    actor: User,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    customer_id = str(values.get("customer_id", ""))
    customer = None
    items: list[OwnedItem] = []
    if customer_id.isdigit():
        try:
            customer = customer_service.get(
                session=session, actor=actor, customer_id=int(customer_id)
            )
        except NotFound:
            customer = None  # the form then asks for a customer, as for a blank one
    if customer is not None:
        items = owned_items.list_for_customer(session=session, actor=actor, customer_id=customer.id)
    return render(
        request,
        "service_desk/new_ticket.html",
        {
            **LABELS,
            "values": values,
            "customer": customer,
            "item_choices": [
                (i.id, f"{i.model} · {i.serial_number}" if i.serial_number else i.model)
                for i in items
            ],
            "queue_choices": [(q.id, q.name) for q in _queues(session)],
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


@router.get("/service/tickets/new", response_class=HTMLResponse)
def new_ticket(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("tickets", "create")],
    customer_id: str = "",
    owned_item_id: str = "",
) -> HTMLResponse:
    """Pre-filled from the caller lookup: ``?customer_id=12&owned_item_id=34``."""
    values = {
        "customer_id": customer_id,
        "owned_item_id": owned_item_id,
        "kind": "service_request" if owned_item_id else "inquiry",
        "priority": "normal",
        "channel": "phone",
    }
    return _new_form(request, session, actor, values)


@router.post("/service/tickets/new")
def create_ticket(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("tickets", "create")],
) -> Response:
    values = dict(data)
    fields = {k: v for k, v in data.items() if k not in ("latitude", "longitude")}
    if data.get("latitude") or data.get("longitude"):
        fields["location"] = {"latitude": data.get("latitude"), "longitude": data.get("longitude")}
    try:
        ticket_in = parse(TicketCreate, fields)
        with refusals(session):
            ticket = service.create_ticket(
                session, actor=actor, ticket_in=ticket_in, settings=settings
            )
    except FormInvalid as invalid:
        if "location" in invalid.errors:
            invalid.errors.setdefault("latitude", invalid.errors.pop("location"))
        return _new_form(request, session, actor, values, invalid)
    return redirect(
        request, f"/service/tickets/{ticket.id}", flash=N_("Ticket {id} opened."), id=ticket.id
    )


# ---------------------------------------------------------------- a ticket


def _ticket_page(
    request: Request,
    session: DbSession,
    actor: User,
    ticket: Ticket,
    *,
    form: str = "",
    values: dict[str, Any] | None = None,
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    customer = session.get(Customer, ticket.customer_id)
    messages = service.messages(session, ticket)
    files = attachments.list_attachments(session, ticket)
    people = {ticket.assignee_id, ticket.created_by_id}
    people |= {m.author_id for m in messages} | {a.uploaded_by_id for a in files}
    queue = session.get(ServiceQueue, ticket.queue_id) if ticket.queue_id else None
    station = session.get(ServiceStation, ticket.station_id) if ticket.station_id else None
    item = session.get(OwnedItem, ticket.owned_item_id) if ticket.owned_item_id else None
    current = {name: getattr(ticket, name) for name in EDITABLE}
    history = service.history(session, ticket)
    return render(
        request,
        "service_desk/ticket.html",
        {
            **LABELS,
            "ticket": ticket,
            "customer": customer,
            "queue": queue,
            "station": station,
            "item": item,
            "messages": messages,
            "attachments": files,
            "history": history,
            "history_names": _history_names(session, history),
            "people": user_labels(session, {p for p in people if p is not None}),
            "moves": sorted(
                service.TRANSITIONS.get(ticket.status, ()), key=list(STATUS_LABELS).index
            ),
            "queues": _queues(session),
            "agents": _agents(session),
            "stations": _stations(session),
            "now": utcnow(),
            "overdue": worklists.is_overdue,
            "form": form,
            "values": values if values is not None else current,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


def _history_names(session: DbSession, history: list[ChangeRead]) -> dict[tuple[str, str], str]:
    """Names for the ids a ticket's history holds (queue, assignee, station), so it reads
    "Assignee: 王芳 → 李娜" rather than numbers."""
    wanted: dict[str, set[int]] = {"queue_id": set(), "assignee_id": set(), "station_id": set()}
    for change in history:
        if change.field in wanted:
            for raw in (change.old_value, change.new_value):
                if raw.isdigit():
                    wanted[change.field].add(int(raw))
    names: dict[tuple[str, str], str] = {}
    for field, model, column in (
        ("queue_id", ServiceQueue, ServiceQueue.name),
        ("station_id", ServiceStation, ServiceStation.name),
    ):
        if wanted[field]:
            rows = session.execute(select(model.id, column).where(model.id.in_(wanted[field])))
            names.update({(field, str(i)): name for i, name in rows})
    for user_id, label in user_labels(session, wanted["assignee_id"]).items():
        names[("assignee_id", str(user_id))] = label
    return names


@router.get("/service/tickets/{ticket_id:int}", response_class=HTMLResponse)
def ticket_page(
    ticket_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("tickets", "read")],
) -> HTMLResponse:
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    return _ticket_page(request, session, actor, ticket)


def _version(data: dict[str, Any]) -> int | None:
    version = str(data.pop("version", ""))
    return int(version) if version.isdigit() else None


def _done(request: Request, ticket: Ticket, flash: str) -> Response:
    return redirect(request, f"/service/tickets/{ticket.id}", flash=flash, id=ticket.id)


@router.post("/service/tickets/{ticket_id:int}/status")
def ticket_status(
    ticket_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("tickets", "update")],
) -> Response:
    """A move along the flow (including reopening); the buttons offer only allowed moves."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    values = dict(data)
    expected = _version(data)
    try:
        with refusals(session):
            service.change_status(
                session,
                actor=actor,
                ticket=ticket,
                status=str(data.get("status", "")),
                expected_version=expected,
            )
    except FormInvalid as invalid:
        return _ticket_page(
            request, session, actor, ticket, form="status", values=values, invalid=invalid
        )
    return _done(request, ticket, N_("Ticket {id} moved."))


@router.post("/service/tickets/{ticket_id:int}/change")
def ticket_change(
    ticket_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("tickets", "update")],
) -> Response:
    """Assign, or change queue, priority, category, root cause or station."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    values = dict(data)
    expected = _version(data)
    fields = {k: v for k, v in data.items() if k in EDITABLE}
    try:
        ticket_in = parse(TicketUpdate, fields)
        for name in CLEARABLE:  # a blank choice means "none", not "unchanged"
            if name in fields and not str(fields[name]).strip():
                setattr(ticket_in, name, "" if name in ("category", "root_cause") else None)
        with refusals(session):
            service.update_ticket(
                session, actor=actor, ticket=ticket, ticket_in=ticket_in, expected_version=expected
            )
    except FormInvalid as invalid:
        return _ticket_page(
            request, session, actor, ticket, form="change", values=values, invalid=invalid
        )
    return _done(request, ticket, N_("Ticket {id} saved."))


@router.post("/service/tickets/{ticket_id:int}/notes")
def ticket_note(
    ticket_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("tickets", "update")],
) -> Response:
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    try:
        note = parse(NoteIn, {"body": str(data.get("body", "")).strip()})
        with refusals(session):
            service.add_note(session, actor=actor, ticket=ticket, body=note.body)
    except FormInvalid as invalid:
        return _ticket_page(
            request, session, actor, ticket, form="note", values=dict(data), invalid=invalid
        )
    return _done(request, ticket, N_("Note added to ticket {id}."))


@router.post("/service/tickets/{ticket_id:int}/replies")
def ticket_reply(
    ticket_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    data: FormData,
    actor: Annotated[User, require("tickets", "update")],
) -> Response:
    """E-mail the customer; the reply is logged on the ticket and as an interaction."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    try:
        reply_in = parse(
            ReplyIn, {k: str(v).strip() for k, v in data.items() if k in ("body", "to")}
        )
        with refusals(session):
            service.reply(
                session,
                actor=actor,
                settings=settings,
                ticket=ticket,
                body=reply_in.body,
                to=reply_in.to,
            )
    except FormInvalid as invalid:
        return _ticket_page(
            request, session, actor, ticket, form="reply", values=dict(data), invalid=invalid
        )
    return _done(request, ticket, N_("Reply sent for ticket {id}."))


@router.post("/service/tickets/{ticket_id:int}/merge")
def ticket_merge(
    ticket_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("tickets", "update")],
) -> Response:
    """Merge this ticket, a duplicate, into another ticket of the same customer."""
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    try:
        merge_in = parse(MergeIn, {"into_id": str(data.get("into_id", "")).lstrip("#")})
        with refusals(session):
            into = service.get_visible_ticket(session, actor, merge_in.into_id)
            service.merge(session, actor=actor, duplicate=ticket, into=into)
    except FormInvalid as invalid:
        return _ticket_page(
            request, session, actor, ticket, form="merge", values=dict(data), invalid=invalid
        )
    return redirect(
        request,
        f"/service/tickets/{into.id}",
        flash=N_("Ticket {id} merged into this one."),
        id=ticket.id,
    )


@router.post("/service/tickets/{ticket_id:int}/attachments")
def ticket_attach(
    ticket_id: int,
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("tickets", "update")],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    ticket = service.get_visible_ticket(session, actor, ticket_id)
    try:
        if file is None or not file.filename:
            message = i18n.gettext(N_("Choose a file."))
            raise FormInvalid({"file": message}, message)
        # one byte over the limit is enough to refuse; the rest is never read
        data = file.file.read(settings.ticket_attachment_max_bytes + 1)
        with refusals(session):
            attachments.add_attachment(
                session,
                actor=actor,
                settings=settings,
                ticket=ticket,
                filename=file.filename,
                data=data,
            )
    except FormInvalid as invalid:
        return _ticket_page(
            request, session, actor, ticket, form="attach", values={}, invalid=invalid
        )
    return _done(request, ticket, N_("File attached to ticket {id}."))


@router.get("/service/tickets/{ticket_id:int}/attachments/{attachment_id:int}")
def ticket_attachment(
    ticket_id: int,
    attachment_id: int,
    session: DbSession,
    settings: SettingsDep,
    actor: Annotated[User, require("tickets", "read")],
) -> FileResponse:
    attachment, path = attachments.open_attachment(
        session, actor=actor, settings=settings, ticket_id=ticket_id, attachment_id=attachment_id
    )
    return FileResponse(path, media_type=attachment.content_type, filename=attachment.filename)


# the caller lookup's pages ride on this router, which the app already serves
router.include_router(lookup_pages.router)
