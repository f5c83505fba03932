"""Opportunity pages: the filtered list, the record page with its stage history, win and lost
actions, and the create and edit forms. Every write goes through the pipeline service."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from guanxi.auth import service as auth_service
from guanxi.auth.models import User
from guanxi.auth.visibility import reachable_users, restrict
from guanxi.customers.models import Customer
from guanxi.deps import DbSession, require
from guanxi.errors import N_, GuanxiError
from guanxi.sales.models import Opportunity, Product
from guanxi.sales.pipeline import listing, stages
from guanxi.sales.pipeline import service as pipeline_service
from guanxi.sales.pipeline.page_support import filter_choices, stage_label
from guanxi.sales.pipeline.schemas import OpportunityCreate, OpportunityUpdate
from guanxi.web.forms import FormData, FormInvalid, parse, refusals
from guanxi.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

SORT_COLUMNS = ("title", "amount", "probability", "expected_close_date", "updated_at")
FIRST_ORDER = {"title": "asc", "expected_close_date": "asc"}
LIST_FILTERS = (*listing.FILTER_KEYS,)
PAGE_SIZE = 50
COUNT_CAP = 1_000
FORM_FIELDS = (
    "customer_id",
    "title",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "stage_id",
    "source",
    "product_id",
    "owner_id",
    "notes",
    "external_id",
    "lost_reason",
)
# blank on an edit form means "none" for these, not "leave as it was"
CLEARABLE = ("expected_close_date", "product_id", "external_id")


@router.get("/sales/opportunities", response_class=HTMLResponse)
def opportunity_list(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
) -> HTMLResponse:
    """Filters in the URL (``?stage_id=2&status=open&close_to=2026-12-31&sort=amount``)."""
    params = request.query_params
    filters = [(k, params.get(k, "")) for k in LIST_FILTERS if params.get(k)]
    sort = params.get("sort") or "updated_at"
    if sort not in listing.SORTABLE:
        sort = "updated_at"
    order = params.get("order") or FIRST_ORDER.get(sort, "desc")
    items: list[Opportunity] = []
    total, next_url, message = 0, None, None
    try:
        with refusals(session):
            spec = listing.filter_from_query(params)
            page = listing.list_opportunities(
                session=session,
                actor=actor,
                spec=spec,
                sort=sort,
                descending=order != "asc",
                limit=PAGE_SIZE,
                cursor=params.get("cursor") or None,
            )
            total = listing.count_opportunities(
                session=session, actor=actor, spec=spec, cap=COUNT_CAP
            )
    except FormInvalid as invalid:
        message = invalid.message
    else:
        items = list(page.items)
        if page.next_cursor:
            query = [*filters, ("sort", sort), ("order", order), ("cursor", page.next_cursor)]
            next_url = "/sales/opportunities?" + urlencode(query)
    sort_links = {
        column: "/sales/opportunities?"
        + urlencode(
            [
                *filters,
                ("sort", column),
                (
                    "order",
                    ("desc" if order == "asc" else "asc")
                    if column == sort
                    else FIRST_ORDER.get(column, "desc"),
                ),
            ]
        )
        for column in SORT_COLUMNS
    }
    return render(
        request,
        "sales/opportunity_list.html",
        {
            **filter_choices(session, actor),
            "opportunities": items,
            "customer_names": _customer_names(session, items),
            "owner_labels": {u.id: u.label for u in reachable_users(session, actor)},
            "stages": stages.list_stages(session=session),
            "values": {k: params.get(k, "") for k in LIST_FILTERS},
            "total": total,
            "count_cap": COUNT_CAP,
            "next_url": next_url,
            "sort": sort,
            "order": order,
            "sort_links": sort_links,
            "filtered": bool(filters),
            "message": message,
        },
        status_code=400 if message else 200,
    )


def _customer_names(session: Session, items: list[Opportunity]) -> dict[int, str]:
    ids = {o.customer_id for o in items}
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {customer_id: name for customer_id, name in rows}


# ---------------------------------------------------------------- record


@router.get("/sales/opportunities/{opportunity_id:int}", response_class=HTMLResponse)
def opportunity_page(
    opportunity_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "read")],
) -> HTMLResponse:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    return _record(request, session, actor, opportunity)


def _record(
    request: Request,
    session: Session,
    actor: User,
    opportunity: Opportunity,
    lose_error: str | None = None,
) -> HTMLResponse:
    owner = session.get(User, opportunity.owner_id) if opportunity.owner_id else None
    product = session.get(Product, opportunity.product_id) if opportunity.product_id else None
    return render(
        request,
        "sales/opportunity_detail.html",
        {
            "opportunity": opportunity,
            "customer_name": session.scalar(
                select(Customer.name).where(Customer.id == opportunity.customer_id)
            ),
            "owner_label": owner.label if owner else None,
            "product": product,
            "history": pipeline_service.history(session=session, opportunity=opportunity),
            "stages": stages.list_stages(session=session, active_only=True),
            "lost_stages": [
                s
                for s in stages.list_stages(session=session, active_only=True)
                if s.outcome == "lost"
            ],
            "lose_error": lose_error,
        },
        status_code=422 if lose_error else 200,
    )


@router.post("/sales/opportunities/{opportunity_id:int}/win")
def win_from_form(
    opportunity_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("opportunities", "update")],
) -> Response:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    version = str(data.get("version", ""))
    back = f"/sales/opportunities/{opportunity.id}"
    try:
        _, order = pipeline_service.win(
            session=session,
            actor=actor,
            opportunity=opportunity,
            create_order=data.get("create_order") in ("1", "on", "true"),
            expected_version=int(version) if version.isdigit() else None,
        )
    except GuanxiError as refused:
        session.rollback()
        return redirect(request, back, flash=refused.template, **refused.params)
    if order is not None:
        return redirect(
            request,
            f"/sales/orders/{order.id}",
            flash=N_("Opportunity won; order {number} created as a draft."),
            number=order.number,
        )
    return redirect(request, back, flash=N_("Opportunity won."))


@router.post("/sales/opportunities/{opportunity_id:int}/lose", response_model=None)
def lose_from_form(
    opportunity_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("opportunities", "update")],
) -> Response:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    version = str(data.get("version", ""))
    stage_id = str(data.get("stage_id", ""))
    lost = [s for s in stages.list_stages(session=session, active_only=True) if s.outcome == "lost"]
    target = next((s for s in lost if str(s.id) == stage_id), lost[0] if lost else None)
    try:
        with refusals(session):
            pipeline_service.move(
                session=session,
                actor=actor,
                opportunity=opportunity,
                stage_id=target.id if target else 0,
                expected_version=int(version) if version.isdigit() else None,
                lost_reason=str(data.get("lost_reason", "")),
            )
    except FormInvalid as invalid:
        fresh = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
        return _record(request, session, actor, fresh, lose_error=invalid.message)
    return redirect(
        request,
        f"/sales/opportunities/{opportunity.id}",
        flash=N_("Opportunity marked as lost."),
    )


@router.post("/sales/opportunities/{opportunity_id:int}/delete")
def delete_from_form(
    opportunity_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("opportunities", "delete")],
) -> Response:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    version = str(data.get("version", ""))
    try:
        pipeline_service.delete(
            session=session,
            actor=actor,
            opportunity=opportunity,
            expected_version=int(version) if version.isdigit() else None,
        )
    except GuanxiError as refused:
        session.rollback()
        return redirect(
            request,
            f"/sales/opportunities/{opportunity_id}",
            flash=refused.template,
            **refused.params,
        )
    return redirect(request, "/sales/opportunities", flash=N_("Opportunity moved to the bin."))


# ---------------------------------------------------------------- forms


def _form(
    request: Request,
    session: Session,
    actor: User,
    opportunity: Opportunity | None,
    values: dict[str, Any],
    invalid: FormInvalid | None = None,
) -> HTMLResponse:
    owners = reachable_users(session, actor)
    if opportunity is not None and opportunity.owner_id not in {u.id for u in owners}:
        current = auth_service.get_user(session=session, user_id=opportunity.owner_id or actor.id)
        owners.append(current)
    customers = list(
        session.scalars(
            restrict(select(Customer).where(Customer.deleted_at.is_(None)), Customer, actor)
            .order_by(Customer.updated_at.desc())
            .limit(200)
        )
    )
    chosen = str(values.get("customer_id", ""))
    if chosen.isdigit() and all(c.id != int(chosen) for c in customers):
        extra = session.get(Customer, int(chosen))
        if extra is not None:
            customers.insert(0, extra)
    choices = filter_choices(session, actor)
    active = stages.list_stages(session=session, active_only=True)
    return render(
        request,
        "sales/opportunity_form.html",
        {
            **choices,
            "customer_options": [(c.id, c.name) for c in customers],
            "stage_options": [(s.id, stage_label(s.label)) for s in active],
            "product_options": [(p.id, f"{p.name} ({p.sku})") for p in choices["products"]],
            "owner_options": [(u.id, u.label) for u in owners],
            "opportunity": opportunity,
            "values": values,
            "errors": invalid.errors if invalid else {},
            "message": invalid.message if invalid else None,
        },
        status_code=422 if invalid else 200,
    )


def _posted(data: dict[str, Any], *, editing: bool) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = str(data.get(name, "")).strip()
        if value:
            cleaned[name] = value
        elif editing and name in CLEARABLE:
            cleaned[name] = None
        elif editing and name in ("source", "notes"):
            cleaned[name] = ""
    return cleaned


@router.get("/sales/opportunities/new", response_class=HTMLResponse)
def opportunity_new(
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "create")],
) -> HTMLResponse:
    values = {
        "customer_id": request.query_params.get("customer_id", ""),
        "currency": "CNY",
        "owner_id": actor.id,
    }
    return _form(request, session, actor, None, values)


@router.post("/sales/opportunities/new")
def opportunity_create(
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("opportunities", "create")],
) -> Response:
    try:
        opportunity_in = parse(OpportunityCreate, _posted(data, editing=False))
        with refusals(session):
            opportunity = pipeline_service.create(
                session=session, actor=actor, opportunity_in=opportunity_in
            )
    except FormInvalid as invalid:
        return _form(request, session, actor, None, data, invalid)
    return redirect(
        request,
        f"/sales/opportunities/{opportunity.id}",
        flash=N_("Opportunity {title} created."),
        title=opportunity.title,
    )


@router.get("/sales/opportunities/{opportunity_id:int}/edit", response_class=HTMLResponse)
def opportunity_edit(
    opportunity_id: int,
    request: Request,
    session: DbSession,
    actor: Annotated[User, require("opportunities", "update")],
) -> HTMLResponse:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    values = {name: getattr(opportunity, name) for name in FORM_FIELDS}
    values["version"] = opportunity.version
    return _form(request, session, actor, opportunity, values)


@router.post("/sales/opportunities/{opportunity_id:int}/edit")
def opportunity_update(
    opportunity_id: int,
    request: Request,
    session: DbSession,
    data: FormData,
    actor: Annotated[User, require("opportunities", "update")],
) -> Response:
    opportunity = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
    version = str(data.get("version", ""))
    posted = _posted(data, editing=True)
    if str(posted.get("stage_id")) != str(opportunity.stage_id) and str(
        posted.get("probability")
    ) == str(opportunity.probability):
        # the probability was only carried along: a new stage brings its own default
        posted.pop("probability", None)
    try:
        opportunity_in = parse(OpportunityUpdate, posted)
        with refusals(session):
            pipeline_service.update(
                session=session,
                actor=actor,
                opportunity=opportunity,
                opportunity_in=opportunity_in,
                expected_version=int(version) if version.isdigit() else None,
            )
    except FormInvalid as invalid:
        fresh = pipeline_service.get(session=session, actor=actor, opportunity_id=opportunity_id)
        return _form(request, session, actor, fresh, data, invalid)
    return redirect(
        request,
        f"/sales/opportunities/{opportunity_id}",
        flash=N_("Opportunity {title} saved."),
        title=opportunity.title,
    )
